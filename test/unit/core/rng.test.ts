import { describe, expect, it } from 'vitest'
import { SeededRng } from '../../../src/core/rng.js'

describe('SeededRng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new SeededRng(42); const b = new SeededRng(42); const c = new SeededRng(43)
    const sa = Array.from({ length: 20 }, () => a.uint32())
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(sa)
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(sa)
  })

  it('forks independent, reproducible streams without advancing the parent', () => {
    const a = new SeededRng(7)
    const before = new SeededRng(7).uint32()
    const f1 = a.fork('net').uint32()
    const f2 = new SeededRng(7).fork('net').uint32()
    expect(f1).toBe(f2)
    expect(a.fork('net').uint32()).not.toBe(a.fork('disk').uint32())
    expect(a.uint32()).toBe(before)
  })

  it('keeps int() in range and roughly uniform', () => {
    const r = new SeededRng(1)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 40_000; i++) counts[r.int(4)]!++
    for (const c of counts) expect(c).toBeGreaterThan(9_000)
    expect(() => r.int(0)).toThrow(RangeError)
  })

  it('shuffles to a permutation', () => {
    const r = new SeededRng(3)
    const s = r.shuffle([1, 2, 3, 4, 5, 6])
    expect([...s].sort()).toEqual([1, 2, 3, 4, 5, 6])
    expect(r.pick([])).toBeUndefined()
  })
})

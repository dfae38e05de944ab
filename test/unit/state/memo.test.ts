import { describe, expect, it } from 'vitest'
import { VersionMemo } from '../../../src/state/memo.js'

describe('VersionMemo', () => {
  it('computes once per combination of versions, and again as soon as any of them changes', () => {
    const versions = [0, 0]
    let computed = 0
    const memo = new VersionMemo(() => [...versions], () => ++computed)
    expect([memo.get(), memo.get()]).toEqual([1, 1])
    versions[1] = 1
    expect([memo.get(), memo.get()]).toEqual([2, 2])
    versions[0] = 5
    expect(memo.get()).toBe(3)
    expect(computed).toBe(3)
  })

  it('hands the compute the value it replaces, so an unchanged result keeps its identity', () => {
    let version = 0
    let list = ['a', 'b']
    const memo = new VersionMemo(() => [version], (previous: { list: string[], n: number } | undefined) =>
      previous !== undefined && previous.list.join() === list.join() ? previous : { list, n: (previous?.n ?? 0) + 1 })
    const first = memo.get()
    version++
    list = ['a', 'b']
    expect(memo.get()).toBe(first)
    version++
    list = ['a', 'c']
    expect(memo.get()).toEqual({ list: ['a', 'c'], n: 2 })
  })

  it('recomputes on every read while keep() refuses the value (it depends on something unversioned)', () => {
    let computed = 0
    let pending = true
    const memo = new VersionMemo(() => [0], () => ({ n: ++computed, pending }), v => !v.pending)
    memo.get()
    memo.get()
    expect(computed).toBe(2)
    pending = false
    memo.get()
    memo.get()
    expect(computed).toBe(3)
  })
})

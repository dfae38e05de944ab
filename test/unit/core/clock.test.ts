import { describe, expect, it } from 'vitest'
import { CLOCK_OFFSET_ENV, SystemClock, VirtualClock, clockOffsetFromEnv, sleep } from '../../../src/core/clock.js'

describe('VirtualClock', () => {
  it('fires due timers in due order, ties in insertion order', () => {
    const c = new VirtualClock(0)
    const seen: string[] = []
    c.setTimer(() => seen.push('b@20'), 20)
    c.setTimer(() => seen.push('a@10'), 10)
    c.setTimer(() => seen.push('c@20'), 20)
    c.setTimer(() => seen.push('d@30'), 30)
    c.advance(25)
    expect(seen).toEqual(['a@10', 'b@20', 'c@20'])
    expect(c.nowMs()).toBe(25)
    expect(c.pendingTimers).toBe(1)
  })

  it('runs timers scheduled by timers when they fall due within the advance', () => {
    const c = new VirtualClock(100)
    const seen: number[] = []
    c.setTimer(() => {
      seen.push(c.nowMs())
      c.setTimer(() => seen.push(c.nowMs()), 5)
    }, 10)
    c.advance(20)
    expect(seen).toEqual([110, 115])
  })

  it('does not fire a cleared timer', () => {
    const c = new VirtualClock(0)
    let fired = false
    const h = c.setTimer(() => { fired = true }, 10)
    c.clearTimer(h)
    c.clearTimer(h)
    c.advance(100)
    expect(fired).toBe(false)
    expect(c.pendingTimers).toBe(0)
  })

  it('jump moves time without firing timers until the next advance', () => {
    const c = new VirtualClock(0)
    let fired = 0
    c.setTimer(() => fired++, 50)
    c.jump(100)
    expect(fired).toBe(0)
    c.advance(0)
    expect(fired).toBe(1)
  })

  it('rejects a negative advance', () => {
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError)
  })

  it('sleep resolves on virtual time and rejects on abort', async () => {
    const c = new VirtualClock(0)
    const p = sleep(c, 30)
    c.advance(30)
    await expect(p).resolves.toBeUndefined()
    const ac = new AbortController()
    const q = sleep(c, 30, { signal: ac.signal })
    ac.abort(new Error('stop'))
    await expect(q).rejects.toThrow('stop')
    expect(c.pendingTimers).toBe(0)
  })
})

describe('SystemClock', () => {
  it('fires a real timer and tracks pending ones', async () => {
    const c = new SystemClock()
    const start = c.nowMs()
    await sleep(c, 5)
    expect(c.nowMs()).toBeGreaterThanOrEqual(start)
    const h = c.setTimer(() => {}, 10_000)
    expect(c.pendingTimers).toBe(1)
    c.clearTimer(h)
    expect(c.pendingTimers).toBe(0)
  })
})

describe('SystemClock offset (RIFTMESH_CLOCK_OFFSET_MS, tests only)', () => {
  it('shifts nowMs by the offset and leaves monoMs alone', () => {
    const plain = new SystemClock(0)
    const ahead = new SystemClock(3_600_000)
    const diff = ahead.nowMs() - plain.nowMs()
    expect(diff).toBeGreaterThanOrEqual(3_600_000)
    expect(diff).toBeLessThan(3_600_000 + 1_000)
    expect(Math.abs(ahead.monoMs() - plain.monoMs())).toBeLessThan(1_000)
  })

  const envs: Array<[string | undefined, number | RegExp]> = [
    [undefined, 0], ['', 0], ['-3600000', -3_600_000], ['250', 250],
    ['1h', /RIFTMESH_CLOCK_OFFSET_MS.*an integer number of milliseconds/], ['1.5', /an integer/]
  ]
  for (const [raw, want] of envs) {
    it(`reads ${JSON.stringify(raw)} as ${String(want)}`, () => {
      const read = (): number => clockOffsetFromEnv({ [CLOCK_OFFSET_ENV]: raw })
      if (typeof want === 'number') expect(read()).toBe(want)
      else expect(read).toThrow(want)
    })
  }
})

import { describe, expect, it } from 'vitest'
import { mapLimit } from '../../../src/core/map-limit.js'

/** A call that records how many calls are in flight while it waits a turn of the event loop. */
function tracker (): { fn: (x: number, i: number) => Promise<string>, maxInFlight: () => number, started: number[] } {
  let inFlight = 0
  let max = 0
  const started: number[] = []
  return {
    started,
    maxInFlight: () => max,
    fn: async (x, i) => {
      started.push(i)
      inFlight++
      max = Math.max(max, inFlight)
      await new Promise(resolve => setImmediate(resolve))
      inFlight--
      return `${i}:${x * 2}`
    }
  }
}

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight, starts them in order and returns results in order', async () => {
    for (const limit of [1, 2, 5]) {
      const t = tracker()
      const items = Array.from({ length: 12 }, (_, i) => i + 100)
      const out = await mapLimit(items, limit, t.fn)
      expect(out).toEqual(items.map((x, i) => `${i}:${x * 2}`))
      expect(t.maxInFlight()).toBe(limit)
      expect(t.started).toEqual(items.map((_, i) => i))
    }
  })

  it('runs fewer at once when there are fewer items than the limit, and nothing for none', async () => {
    const t = tracker()
    expect(await mapLimit([1, 2], 8, t.fn)).toEqual(['0:2', '1:4'])
    expect(t.maxInFlight()).toBe(2)
    expect(await mapLimit([], 3, t.fn)).toEqual([])
  })

  it('rejects with the first error', async () => {
    await expect(mapLimit([1, 2, 3], 2, async x => {
      if (x === 2) throw new Error('item 2 failed')
      return x
    })).rejects.toThrow('item 2 failed')
  })

  it('starts nothing more once the signal is aborted', async () => {
    const ac = new AbortController()
    const started: number[] = []
    await expect(mapLimit([0, 1, 2, 3, 4], 1, async i => {
      started.push(i)
      if (i === 1) ac.abort(new Error('stopped'))
      return i
    }, ac.signal)).rejects.toThrow('stopped')
    expect(started).toEqual([0, 1])
  })

  it('refuses a limit that is not a whole number of at least 1', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) await expect(mapLimit([1], bad, async x => x)).rejects.toThrow(RangeError)
  })
})

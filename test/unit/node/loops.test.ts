import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { LoopManager } from '../../../src/node/loops.js'
import { capturingLogger } from '../../support/capture-log.js'

const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

async function advance (clock: VirtualClock, ms: number, stepMs = 100): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(stepMs)
    await flush()
  }
}

describe('LoopManager', () => {
  it('runs each loop on its own interval', async () => {
    const clock = new VirtualClock(0)
    const m = new LoopManager({ clock, logger: silentLogger() })
    const runs = { fast: 0, slow: 0 }
    m.add({ name: 'fast', intervalMs: 1_000, run: () => { runs.fast++ } })
    m.add({ name: 'slow', intervalMs: 5_000, run: () => { runs.slow++ } })
    m.start()
    await advance(clock, 10_000)
    expect(runs).toEqual({ fast: 11, slow: 3 })
    m.stop()
    await advance(clock, 10_000)
    expect(runs).toEqual({ fast: 11, slow: 3 })
    expect(m.health().every(h => h.state === 'stopped')).toBe(true)
  })

  it('a failing loop backs off exponentially, does not disturb the others and recovers', async () => {
    const clock = new VirtualClock(0)
    const m = new LoopManager({ clock, logger: silentLogger() }, { backoffMinMs: 1_000, backoffMaxMs: 8_000 })
    const failAt: number[] = []
    let failing = true
    let ok = 0
    m.add({ name: 'bad', intervalMs: 500, run: () => { if (failing) { failAt.push(clock.nowMs()); throw new Error('boom') } } })
    m.add({ name: 'good', intervalMs: 1_000, run: () => { ok++ } })
    m.start()
    await advance(clock, 20_000)
    // back-off 1 s, 2 s, 4 s, 8 s, 8 s …
    expect(failAt.slice(0, 6)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 23_000].filter(t => t <= 20_000))
    expect(ok).toBe(21)
    const bad = m.health().find(h => h.name === 'bad')
    expect(bad).toMatchObject({ state: 'failing', lastError: 'Error: boom', consecutiveFailures: 5 })
    expect(m.healthy()).toBe(false)
    failing = false
    await advance(clock, 10_000)
    expect(m.health().find(h => h.name === 'bad')).toMatchObject({ state: 'ok', consecutiveFailures: 0, failures: 5 })
    expect(m.healthy()).toBe(true)
    m.stop()
  })

  it('never overlaps a loop with itself', async () => {
    const clock = new VirtualClock(0)
    const m = new LoopManager({ clock, logger: silentLogger() })
    let active = 0
    let maxActive = 0
    let release: (() => void) | undefined
    m.add({
      name: 'slow',
      intervalMs: 100,
      run: async () => {
        active++
        maxActive = Math.max(maxActive, active)
        await new Promise<void>(resolve => { release = resolve })
        active--
      }
    })
    m.start()
    await advance(clock, 1_000)
    expect(maxActive).toBe(1)
    expect(m.health()[0]?.state).toBe('running')
    release?.()
    await advance(clock, 200)
    expect(m.health()[0]?.runs).toBe(1)
    m.stop()
    release?.()
  })

  it('refuses a duplicate name and a bad interval', () => {
    const m = new LoopManager({ clock: new VirtualClock(0), logger: silentLogger() })
    m.add({ name: 'a', intervalMs: 1, run: () => {} })
    expect(() => m.add({ name: 'a', intervalMs: 1, run: () => {} })).toThrow(/already/)
    expect(() => m.add({ name: 'b', intervalMs: 0, run: () => {} })).toThrow(/intervalMs/)
  })

  it.each([[1, 1_000], [2, 2_000], [3, 4_000], [7, 60_000], [100, 60_000]])('back-off after %i failures is %i ms', (n, ms) => {
    expect(LoopManager.backoffMs(n, 1_000, 60_000)).toBe(ms)
  })
})

describe('LoopManager logs a failing loop once per cause', () => {
  it('one error line per loop and cause over an hour of retries, another when the cause changes, one line when it recovers', async () => {
    const clock = new VirtualClock(0)
    const { log, lines } = capturingLogger()
    const m = new LoopManager({ clock, logger: log }, { backoffMinMs: 1_000, backoffMaxMs: 60_000 })
    let error: string | null = 'store closed (attempt 1)'
    m.add({ name: 'sync', intervalMs: 2_000, run: () => { if (error !== null) throw new Error(error) } })
    m.start()
    await advance(clock, 3_600_000, 5_000)
    expect(m.health()[0]?.failures).toBeGreaterThan(50)
    expect(lines.map(l => [l.level, l.loop, l.msg])).toEqual([[50, 'sync', 'loop failed; retrying with back-off']])
    error = 'EACCES: permission denied'
    await advance(clock, 600_000, 5_000)
    expect(lines.slice(1).map(l => [l.level, l.msg, l.previous])).toEqual([[50, 'loop failed; retrying with back-off', 'loop failed; retrying with back-off']])
    error = null
    await advance(clock, 120_000, 5_000)
    expect(lines.slice(2).map(l => [l.level, l.loop, l.msg])).toEqual([[30, 'sync', 'loop recovered']])
    m.stop()
  })
})

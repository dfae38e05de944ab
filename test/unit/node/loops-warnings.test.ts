import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { LoopManager } from '../../../src/node/loops.js'
import { capturingLogger } from '../../support/capture-log.js'

const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

async function advance (clock: VirtualClock, ms: number, stepMs = 500): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(stepMs)
    await flush()
  }
}

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

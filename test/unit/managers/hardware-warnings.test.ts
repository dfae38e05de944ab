/**
 * The hardware monitor probes on timers; a probe that keeps failing (no readable data dir file
 * system, a GPU probe that throws) is warned once per cause, not at every refresh, and said once
 * when it works again. The monitor and detectHardwareDetailed are real; only the GPU probe and
 * the data dir are made to fail.
 */
import { describe, expect, it } from 'vitest'
import { tmpdir } from 'node:os'
import { VirtualClock } from '../../../src/core/clock.js'
import { DEFAULT_HARDWARE_REFRESH_MS, HardwareMonitor, detectHardwareDetailed, type DetectHardwareOptions } from '../../../src/managers/hardware.js'
import { capturingLogger } from '../../support/capture-log.js'

describe('HardwareMonitor warnings, once per cause', () => {
  it('warns once for a failing disk and GPU probe over many refreshes, and once each when they recover', async () => {
    const clock = new VirtualClock(0)
    const { log, lines } = capturingLogger()
    let broken = true
    const detect = async (_dir: string, o: DetectHardwareOptions): ReturnType<typeof detectHardwareDetailed> =>
      await detectHardwareDetailed(broken ? '/nonexistent/riftmesh' : tmpdir(), {
        ...o, graphics: async () => { if (broken) throw new Error('lspci exploded'); return { controllers: [] } }
      })
    const m = new HardwareMonitor({ clock, logger: log, detect }, { dataDir: '/data' })
    await m.start()
    for (let i = 0; i < 24; i++) { // two hours of refreshes
      clock.advance(DEFAULT_HARDWARE_REFRESH_MS)
      await m.refresh()
    }
    const said = (): string[] => lines.filter(l => l.level >= 40 || String(l.msg).startsWith('resolved')).map(l => String(l.msg))
    expect(said()).toEqual([
      'cannot read the data dir file system: reporting no disk space',
      'GPU detection failed or timed out: reporting no GPU'
    ])
    broken = false
    for (let i = 0; i < 3; i++) {
      clock.advance(DEFAULT_HARDWARE_REFRESH_MS)
      await m.refresh()
    }
    expect(said().slice(2)).toEqual([
      'resolved: cannot read the data dir file system: reporting no disk space',
      'resolved: GPU detection failed or timed out: reporting no GPU'
    ])
    m.stop()
  })

  it('still warns at each failure when probed once, without a monitor', async () => {
    const { log, lines } = capturingLogger()
    for (let i = 0; i < 3; i++) await detectHardwareDetailed('/nonexistent/riftmesh', { logger: log, clock: new VirtualClock(0), graphics: async () => { throw new Error('x') } })
    expect(lines.filter(l => l.level === 40)).toHaveLength(6)
  })
})

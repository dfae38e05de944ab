/**
 * A metrics history sample that fails at every interval is warned once per cause, and said once
 * when samples are stored again: real NodeMetrics, real LevelDB history, a real logger.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { openLevel } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { StateManager } from '../../../src/managers/state-manager.js'
import { NodeMetrics, type MetricsSnapshot } from '../../../src/node/metrics.js'
import { tempDir } from '../../helpers.js'
import { capturingLogger } from '../../support/capture-log.js'

const done: Array<() => Promise<void>> = []
afterEach(async () => { for (const f of done.splice(0).reverse()) await f() })

describe('NodeMetrics history warnings, once per cause', () => {
  it('warns once while every sample fails, and once when samples are stored again', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-metrics-warn-')
    done.push(cleanup)
    const db = await openLevel(dir)
    done.push(async () => await db.close())
    const clock = new VirtualClock(1_000_000)
    const history = new StateManager({ tables: new LocalTables(db, silentLogger()), clock, logger: silentLogger() }, { metricsHistoryMax: 100 })
    await history.load()
    const { log, lines } = capturingLogger()
    let good: MetricsSnapshot | null = null
    let tries = 0
    const snapshot = (): MetricsSnapshot => {
      tries++
      if (good === null) throw new Error('snapshot source not ready')
      return good
    }
    const metrics = new NodeMetrics({ snapshot, history, clock, logger: log }, { historyIntervalMs: 1_000 })
    done.push(async () => await metrics.stop())
    await metrics.start()
    for (let i = 1; i <= 30; i++) {
      clock.advance(1_000)
      await expect.poll(() => tries, { timeout: 2_000 }).toBe(i)
    }
    await expect.poll(() => lines.length, { timeout: 2_000 }).toBe(1)
    expect(lines[0]).toMatchObject({ level: 40, component: 'metrics', msg: 'metrics history sample failed' })
    good = {
      peersAlive: 1, peersTotal: 1, connections: 0, libp2p: { connectionsByDirection: {}, streamsByProtocol: {} }, isLeader: false, leaderEpoch: null, highestEpoch: 0,
      leaseRemainingMs: null, electionEvents: {}, jobsByState: {}, syncBytesReceived: 0, syncFilesReceived: 0, syncFailedPulls: 0,
      transfer: { servedFiles: 0, servedBytes: 0, batches: {}, refusedByCode: {}, hashMismatches: 0 }, documentBytes: {}, droppedByReason: {}
    } as unknown as MetricsSnapshot
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000)
      await expect.poll(async () => (await history.metrics()).length, { timeout: 2_000 }).toBe(i + 1)
    }
    await expect.poll(() => lines.map(l => [l.level, l.msg]), { timeout: 2_000 }).toEqual([[40, 'metrics history sample failed'], [30, 'resolved: metrics history sample failed']])
  })
})

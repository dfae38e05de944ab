/**
 * A dispatch that meets a full node (its spawn rate or process cap) waits as PENDING and starts
 * when the node has room, instead of ending REFUSED; only after `capacityWaitMs` is it refused.
 * Real processes through the real ProcessRunner and real LevelDB tables; the spawn window and the
 * wait run on a virtual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { ProcessRunner } from '../../../src/jobs/runner.js'
import { JobWorker, SETTING_JOB_COMMANDS } from '../../../src/managers/job-worker.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { TEST_OPERATOR, makeState, nodeId, sampleNodeInfo, setSignedSetting, tempDir } from '../../helpers.js'

const SELF = nodeId(1)
const node = process.execPath
const lit = (code: string): string => code.replace(/\{/g, '{{').replace(/\}/g, '}}')

interface Rig { state: ClusterState, worker: JobWorker, runner: ProcessRunner, db: RootDb, clock: VirtualClock }

describe('JobWorker: a full node makes a dispatch wait, not fail', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const rigs: Rig[] = []

  beforeEach(async () => { ({ dir, cleanup } = await tempDir('riftmesh-capacity-')) })
  afterEach(async () => {
    for (const r of rigs.splice(0)) {
      await r.worker.stop()
      await r.runner.stop({ killJobs: true })
      await r.db.close()
    }
    await cleanup()
  })

  async function rig (limits: { spawnRatePerMinute: number, maxProcesses: number }): Promise<Rig> {
    const clock = new VirtualClock(1_700_000_000_000)
    const state = makeState(1, 1, { operators: [TEST_OPERATOR.id] }, clock)
    state.setNodeInfo(sampleNodeInfo(SELF, { capabilities: ['selfplay', 'export', 'gauntlet'] }))
    setSignedSetting(state, SETTING_JOB_COMMANDS, { export: [node, '-e', '0'], gauntlet: [node, '-e', lit('setTimeout(() => {}, 60000)')] })
    const db = await openLevel(join(dir, `db-${rigs.length}`))
    const runner = new ProcessRunner({ clock, logger: silentLogger() }, {
      dataDir: dir, killGraceMs: 300, adoptPollIntervalMs: 100, supervisorCloseGraceMs: 500, spawnRatePerMinute: limits.spawnRatePerMinute, maxProcessesPerNode: limits.maxProcesses
    })
    const worker = new JobWorker({ state, flush: async () => {}, tables: new LocalTables(db, silentLogger()), runner, voters: () => [], clock, logger: silentLogger() }, {
      dataDir: dir, hasGpu: () => false, capabilities: () => ['selfplay', 'export', 'gauntlet'], maxProcesses: limits.maxProcesses, capacityWaitMs: 120_000
    })
    await worker.start()
    const r = { state, worker, runner, db, clock }
    rigs.push(r)
    return r
  }

  const dispatch = (s: ClusterState, type: 'export' | 'gauntlet'): string =>
    s.dispatchJob({ type, config: null, engineMode: null, spec: {}, assignedNode: SELF, dispatchEpoch: 1, attempt: 1, previousJobId: null }).jobId

  async function until (r: Rig, jobId: string, states: string[]): Promise<void> {
    await expect.poll(async () => { await r.worker.scan(); return r.state.job(jobId)?.state }, { timeout: 15_000, interval: 50 }).toSatisfy((s: unknown) => states.includes(String(s)))
  }

  it('over the spawn rate: the second job stays PENDING and starts once the window frees', async () => {
    const r = await rig({ spawnRatePerMinute: 1, maxProcesses: 4 })
    const a = dispatch(r.state, 'export')
    const b = dispatch(r.state, 'export')
    await until(r, a, ['COMPLETE'])
    await r.worker.scan()
    expect(r.state.job(b)?.state).toBe('PENDING')
    expect(r.worker.counters).toMatchObject({ started: 1, refused: 0, deferred: 1 })
    r.clock.advance(60_000)
    await until(r, b, ['COMPLETE'])
    expect(r.worker.counters).toMatchObject({ started: 2, refused: 0 })
  })

  it('at the process cap: the job waits for a slot, and is refused (with the wait in the reason) only after capacityWaitMs', async () => {
    const r = await rig({ spawnRatePerMinute: 100, maxProcesses: 1 })
    const long = dispatch(r.state, 'gauntlet')
    await until(r, long, ['RUNNING'])
    const waiting = dispatch(r.state, 'export')
    await r.worker.scan()
    r.clock.advance(119_000)
    await r.worker.scan()
    expect(r.state.job(waiting)?.state).toBe('PENDING')
    r.clock.advance(1_000)
    await until(r, waiting, ['REFUSED'])
    expect(r.state.job(waiting)?.status?.error).toBe('no capacity: 1 of 1 job processes running; waited 120 s')
  })
})

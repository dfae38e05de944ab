import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { StoreError } from '../../../src/core/errors.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { ClusterState } from '../../../src/state/cluster-state.js'
import { DocStore } from '../../../src/store/doc-store.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { nodeId, signerOfId, tempDir } from '../../helpers.js'

const logger = silentLogger()
let dir: string
let cleanup: () => Promise<void>

beforeEach(async () => { ({ dir, cleanup } = await tempDir()) })
afterEach(async () => { await cleanup() })

async function open (clock = new VirtualClock(0), compactAfterBytes = 4 * 1024 * 1024, retentionMs = 1000): Promise<{ db: RootDb, state: ClusterState, store: DocStore, report: Awaited<ReturnType<DocStore['start']>> }> {
  const db = await openLevel(dir)
  const state = new ClusterState({ clock, logger, rng: new SeededRng(Math.floor(Math.random() * 1e9)), signer: signerOfId(nodeId(1)) }, { selfId: nodeId(1), bucketMaxJobs: 2, retentionMs })
  const store = new DocStore({ db, state, clock, logger }, { compactAfterBytes })
  const report = await store.start()
  return { db, state, store, report }
}

async function close (o: { db: RootDb, store: DocStore }): Promise<void> {
  await o.store.stop()
  await o.db.close()
}

describe('DocStore', () => {
  it('restores the documents after a clean restart', async () => {
    const a = await open()
    for (let i = 0; i < 50; i++) a.state.setSetting(`k${i}`, i)
    const json = JSON.stringify(a.state.toJSON())
    await close(a)
    const b = await open()
    expect(b.report.logEntries).toBe(50)
    expect(JSON.stringify(b.state.toJSON())).toBe(json)
    await close(b)
  })

  it('tells persisted listeners about each update, in order, only after it is written', async () => {
    const a = await open()
    const seen: number[] = []
    a.store.onPersisted(u => seen.push(u.update.byteLength))
    a.state.setSetting('a', 1)
    a.state.setSetting('b', 2)
    expect(seen).toEqual([])
    await a.store.flush()
    expect(seen).toHaveLength(2)
    await close(a)
  })

  it('folds the log into a snapshot past the size threshold and restores the same state', async () => {
    const a = await open(new VirtualClock(0), 2048)
    for (let i = 0; i < 400; i++) a.state.setSetting(`key-${i % 40}`, 'v'.repeat(20) + i)
    await a.store.flush()
    expect(a.store.logBytes().control ?? 0).toBeLessThan(2048)
    const json = JSON.stringify(a.state.toJSON())
    await close(a)
    const b = await open()
    expect(b.report.snapshots).toBeGreaterThan(0)
    expect(b.report.logEntries).toBeLessThan(400)
    expect(JSON.stringify(b.state.toJSON())).toBe(json)
    await close(b)
  })

  it('retires a bucket: the document leaves LevelDB, the jobs go to history, and later updates for it are refused', async () => {
    const clock = new VirtualClock(0)
    const a = await open(clock)
    const j = [0, 1, 2].map(() => a.state.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 0, previousJobId: null }))
    for (const d of j.slice(0, 2)) a.state.setJobStatus({ v: 1, jobId: d.jobId, node: nodeId(1), state: 'COMPLETE', pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: 2, exitCode: 0, error: null, outputs: [], engineMode: null })
    clock.advance(5000)
    const [bucket] = a.state.retirableBuckets()
    expect(bucket).toBeDefined()
    const moved = await a.store.retireBucket(bucket!, clock.nowMs())
    expect(moved).toHaveLength(2)
    await close(a)

    const b = await open()
    expect(b.report.retired).toBe(1)
    expect(b.state.jobs().map(x => x.jobId)).toEqual([j[2]!.jobId])
    expect(b.state.docs.isRetired(`jobs/${bucket!}`)).toBe(true)
    const tables = new LocalTables(b.db, logger)
    const history = await tables.jobHistory.entries()
    expect(history.map(([, v]) => v.jobId).sort()).toEqual([j[0]!.jobId, j[1]!.jobId].sort())
    await close(b)
  })

  it('says clearly when another process holds the database', async () => {
    const a = await open()
    await expect(openLevel(dir)).rejects.toThrow(StoreError)
    await expect(openLevel(dir)).rejects.toThrow(/in use by another process/)
    await close(a)
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StoreError } from '../../../src/core/errors.js'
import { silentLogger } from '../../../src/core/logger.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables, nextReputation, planPeerCachePrune, type PeerCacheEntry } from '../../../src/store/tables.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
let db: RootDb
beforeEach(async () => { ({ dir, cleanup } = await tempDir()); db = await openLevel(dir) })
afterEach(async () => { await db.close(); await cleanup() })

const entry = (peerId: string, reputation: number, lastSeenMs: number): PeerCacheEntry =>
  ({ peerId, addrs: [], lastSeenMs, reputation, successes: 0, failures: 0 })

describe('peer cache reputation', () => {
  it.each([
    [0.5, true, 0.2, 0.6],
    [0.5, false, 0.2, 0.4],
    [1, false, 0.2, 0.8],
    [0, true, 0.2, 0.2],
    [0.5, true, 1, 1]
  ])('EWMA from %f after success=%s with alpha %f is %f', (cur, ok, alpha, want) => {
    expect(nextReputation(cur, ok, alpha)).toBeCloseTo(want, 10)
  })

  it('prunes entries past the TTL, then the weakest past the cap', () => {
    const day = 86_400_000
    const entries = [entry('old', 1, 0), entry('a', 0.9, 8 * day), entry('b', 0.1, 8 * day), entry('c', 0.5, 8 * day)]
    expect(planPeerCachePrune(entries, 8 * day, 7 * day, 2)).toEqual(['b', 'old'])
    expect(planPeerCachePrune(entries, 8 * day, 7 * day, 10)).toEqual(['old'])
  })

  it('records outcomes and prunes in LevelDB', async () => {
    const t = new LocalTables(db, silentLogger(), { maxEntries: 1 })
    await t.recordPeerOutcome('p1', ['/ip4/127.0.0.1/tcp/1'], true, 10)
    const e = await t.recordPeerOutcome('p1', [], false, 20)
    expect(e.reputation).toBeCloseTo(0.48, 10)
    expect(e.addrs).toEqual(['/ip4/127.0.0.1/tcp/1'])
    expect(e.lastSeenMs).toBe(10)
    await t.recordPeerOutcome('p2', [], true, 20)
    expect(await t.prunePeerCache(30)).toEqual(['p1'])
    expect((await t.peerCache.keys())).toEqual(['p2'])
  })
})

describe('local tables', () => {
  it('never lets a voter promise go back to a lower epoch', async () => {
    const t = new LocalTables(db, silentLogger())
    await t.setPromise({ epoch: 5, candidate: 'x', grantedAtMs: 1 })
    await expect(t.setPromise({ epoch: 4, candidate: 'y', grantedAtMs: 2 })).rejects.toThrow(StoreError)
    await t.setPromise({ epoch: 5, candidate: 'x', grantedAtMs: 3 })
    expect((await t.promise())?.grantedAtMs).toBe(3)
  })

  it('skips and counts a stored record that does not validate, keeping the others', async () => {
    const t = new LocalTables(db, silentLogger())
    await t.appendMetrics({ atMs: 1, values: { a: 1 } })
    await db.put('t/metricsHistory/000000000000002', new TextEncoder().encode('{not json'))
    await t.appendMetrics({ atMs: 3, values: { a: 3 } })
    const rows = await t.metricsHistory.entries()
    expect(rows.map(([, v]) => v.atMs)).toEqual([1, 3])
    expect(t.metricsHistory.invalid).toBe(1)
  })

  it('trims a table to its newest entries', async () => {
    const t = new LocalTables(db, silentLogger())
    for (let i = 0; i < 10; i++) await t.appendJobHistory(i, { jobId: `j${i}`, bucketId: 'b', state: 'COMPLETE' })
    expect(await t.jobHistory.trimTo(4)).toBe(6)
    expect((await t.jobHistory.entries()).map(([, v]) => v.jobId)).toEqual(['j6', 'j7', 'j8', 'j9'])
  })

  it('keeps A/B games per test in order', async () => {
    const t = new LocalTables(db, silentLogger())
    await t.addAbTestGame({ testId: 't1', seq: 2, winner: 'B', aSeat: 1, jobId: null, atMs: 2 })
    await t.addAbTestGame({ testId: 't1', seq: 1, winner: 'A', aSeat: 0, jobId: null, atMs: 1 })
    await t.addAbTestGame({ testId: 't2', seq: 1, winner: 'draw', aSeat: 0, jobId: null, atMs: 1 })
    expect((await t.abTestGamesOf('t1')).map(g => g.seq)).toEqual([1, 2])
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { ConfigError, NotStartedError, StoreError, ValidationError } from '../../../src/core/errors.js'
import { silentLogger } from '../../../src/core/logger.js'
import {
  LOCAL_STATE_KEY, StateManager, jobKeyTime, peersOverCap, staleEntries, type LocalState, type StateManagerInit, type StateView
} from '../../../src/managers/state-manager.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { CLUSTER_EPOCH_KEY, LocalTables, jobHistoryKey, type AbTest } from '../../../src/store/tables.js'
import { tempDir } from '../../helpers.js'

const MIN = 60_000
const HOUR = 60 * MIN
const NOW = 1_000 * HOUR

describe('staleEntries', () => {
  const local = (role: LocalState['role']): LocalState => ({ leader: role === 'leader' ? 'me' : 'other', role, updatedAtMs: 0 })
  it.each<[string, StateView, ReturnType<typeof staleEntries>]>([
    ['nothing stored', { jobs: [], peers: [], local: undefined }, { jobKeys: [], peerIds: [], resetRole: false, clearLeader: false }],
    ['a job exactly 24 h old stays, one older goes',
      { jobs: [{ key: 'a', atMs: NOW - 24 * HOUR }, { key: 'b', atMs: NOW - 24 * HOUR - 1 }, { key: 'c', atMs: NOW }], peers: [], local: undefined },
      { jobKeys: ['b'], peerIds: [], resetRole: false, clearLeader: false }],
    ['a job key without a time goes', { jobs: [{ key: 'junk', atMs: Number.NaN }], peers: [], local: undefined },
      { jobKeys: ['junk'], peerIds: [], resetRole: false, clearLeader: false }],
    ['entries from the future (clock stepped back) stay', { jobs: [{ key: 'f', atMs: NOW + HOUR }], peers: [{ peerId: 'p', lastSeenMs: NOW + MIN }], local: undefined },
      { jobKeys: [], peerIds: [], resetRole: false, clearLeader: false }],
    ['a peer silent exactly 5 min stays, one silent longer goes',
      { jobs: [], peers: [{ peerId: 'p1', lastSeenMs: NOW - 5 * MIN }, { peerId: 'p2', lastSeenMs: NOW - 5 * MIN - 1 }], local: undefined },
      { jobKeys: [], peerIds: ['p2'], resetRole: false, clearLeader: false }],
    ['a follower stays follower', { jobs: [], peers: [], local: local('follower') }, { jobKeys: [], peerIds: [], resetRole: false, clearLeader: false }],
    ['a leader comes back as follower, forgetting itself as leader', { jobs: [], peers: [], local: local('leader') }, { jobKeys: [], peerIds: [], resetRole: true, clearLeader: true }],
    ['a candidate comes back as follower, keeping the leader it knew', { jobs: [], peers: [], local: local('candidate') }, { jobKeys: [], peerIds: [], resetRole: true, clearLeader: false }],
    ['an unreadable local state is rewritten as follower', { jobs: [], peers: [], local: 'invalid' }, { jobKeys: [], peerIds: [], resetRole: true, clearLeader: false }]
  ])('%s', (_name, view, want) => {
    expect(staleEntries(view, NOW)).toEqual(want)
  })

  it('takes its ages from init', () => {
    const view: StateView = { jobs: [{ key: 'j', atMs: NOW - 2 * HOUR }], peers: [{ peerId: 'p', lastSeenMs: NOW - 2 * MIN }], local: undefined }
    expect(staleEntries(view, NOW, { staleJobAgeMs: HOUR, stalePeerAgeMs: MIN })).toMatchObject({ jobKeys: ['j'], peerIds: ['p'] })
    expect(staleEntries(view, NOW, { staleJobAgeMs: 3 * HOUR, stalePeerAgeMs: 3 * MIN })).toMatchObject({ jobKeys: [], peerIds: [] })
  })

  it.each<[number, string[]]>([[3, []], [2, ['a']], [1, ['a', 'b']], [0, ['a', 'b', 'c']]])('peersOverCap at cap %i drops the longest silent first (ties by id): %o', (max, want) => {
    expect(peersOverCap([{ peerId: 'c', lastSeenMs: 30 }, { peerId: 'b', lastSeenMs: 10 }, { peerId: 'a', lastSeenMs: 10 }], max)).toEqual(want)
  })

  it.each<[string, number]>([[jobHistoryKey(123, 'j1'), 123], ['123/j', Number.NaN], ['', Number.NaN]])('jobKeyTime(%s) is %d', (key, want) => {
    expect(jobKeyTime(key)).toBe(want)
  })
})

let dir: string
let cleanup: () => Promise<void>
let db: RootDb
let clock: VirtualClock
let tables: LocalTables
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir())
  db = await openLevel(dir)
  clock = new VirtualClock(NOW)
  tables = new LocalTables(db, silentLogger())
})
afterEach(async () => { await db.close(); await cleanup() })

const manager = (init: StateManagerInit = {}): StateManager => new StateManager({ tables, clock, logger: silentLogger() }, init)
const loaded = async (init: StateManagerInit = {}): Promise<StateManager> => {
  const m = manager(init)
  await m.load()
  return m
}

describe('StateManager.load', () => {
  it('drops jobs older than 24 h and peers silent over 5 min, reports them, and keeps the rest', async () => {
    await tables.appendJobHistory(NOW - 25 * HOUR, { jobId: 'old', bucketId: 'b', state: 'COMPLETE' })
    await tables.appendJobHistory(NOW - 23 * HOUR, { jobId: 'recent', bucketId: 'b', state: 'FAILED' })
    await tables.peers.put('gone', { peerId: 'gone', addrs: [], lastSeenMs: NOW - 6 * MIN, host: null })
    await tables.peers.put('here', { peerId: 'here', addrs: ['/ip4/10.0.0.2/tcp/4100'], lastSeenMs: NOW - MIN, host: 'h2' })
    const m = manager()
    const report = await m.load()
    expect(report).toMatchObject({ droppedJobs: 1, droppedPeers: 1, jobs: 1, peers: 1, roleReset: false, previousRole: null, invalidRecords: 0 })
    expect((await m.jobs()).map(j => j.record.jobId)).toEqual(['recent'])
    expect((await m.peers()).map(p => p.peerId)).toEqual(['here'])
    expect(await manager().load()).toMatchObject({ droppedJobs: 0, droppedPeers: 0, jobs: 1, peers: 1 })
  })

  it('brings a node that was leader back as follower with no known leader', async () => {
    await tables.state.put(LOCAL_STATE_KEY, { leader: 'me', role: 'leader', updatedAtMs: 5 })
    const m = manager()
    expect(await m.load()).toMatchObject({ previousRole: 'leader', roleReset: true })
    expect(await m.localState()).toEqual({ leader: null, role: 'follower', updatedAtMs: NOW })
    expect(await manager().load()).toMatchObject({ previousRole: 'follower', roleReset: false })
  })

  it('rewrites an unreadable local state as follower', async () => {
    await tables.state.put(LOCAL_STATE_KEY, { role: 'emperor' })
    const m = manager()
    expect(await m.load()).toMatchObject({ previousRole: null, roleReset: true })
    expect(await m.localState()).toMatchObject({ leader: null, role: 'follower' })
  })

  it('trims tables over their limits and prunes the peer cache', async () => {
    for (let i = 0; i < 5; i++) await tables.appendJobHistory(NOW - i, { jobId: `j${i}`, bucketId: 'b', state: 'COMPLETE' })
    for (let i = 0; i < 4; i++) await tables.appendMetrics({ atMs: NOW - i, values: { i } })
    for (let i = 0; i < 3; i++) await tables.peers.put(`p${i}`, { peerId: `p${i}`, addrs: [], lastSeenMs: NOW - i, host: null })
    await tables.recordPeerOutcome('ancient', [], true, NOW - 8 * 24 * HOUR)
    const m = manager({ jobHistoryMax: 2, metricsHistoryMax: 3, peersMax: 2 })
    expect(await m.load()).toMatchObject({ trimmedJobs: 3, trimmedMetrics: 1, trimmedPeers: 1, droppedCachedPeers: 1, jobs: 2, metrics: 3, peers: 2 })
    expect((await m.jobs()).map(j => j.record.jobId)).toEqual(['j1', 'j0'])
    expect((await m.peers()).map(p => p.peerId)).toEqual(['p0', 'p1'])
  })

  it('counts stored records that fail validation', async () => {
    await db.put('t/jobHistory/000000000000001/x', new TextEncoder().encode('{broken'))
    await db.put('t/peers/bad', new TextEncoder().encode('{"peerId":""}'))
    expect(await manager().load()).toMatchObject({ invalidRecords: 1, droppedJobs: 1 })
  })

  it('refuses every operation before load', async () => {
    const m = manager()
    await expect(m.jobs()).rejects.toThrow(NotStartedError)
    await expect(m.localState()).rejects.toThrow(NotStartedError)
    await expect(m.appendMetrics({ a: 1 })).rejects.toThrow(NotStartedError)
  })

  it.each([
    [{ staleJobAgeMs: 0 }, 'store.staleJobAgeMs'],
    [{ stalePeerAgeMs: -5 }, 'store.stalePeerAgeMs'],
    [{ jobHistoryMax: 1.5 }, 'store.jobHistoryMax'],
    [{ maxQueryRows: 0 }, 'store.maxQueryRows']
  ])('rejects bad init %o naming %s', (init, key) => {
    expect(() => manager(init)).toThrow(ConfigError)
    expect(() => manager(init)).toThrow(key)
  })
})

describe('StateManager operations', () => {
  it('keeps the local state {leader, role}', async () => {
    const m = await loaded()
    expect(await m.localState()).toEqual({ leader: null, role: 'follower', updatedAtMs: 0 })
    clock.advance(10)
    await m.setLocalState({ leader: 'node-b' })
    expect(await m.setLocalState({ role: 'candidate' })).toEqual({ leader: 'node-b', role: 'candidate', updatedAtMs: NOW + 10 })
    expect(await m.setLocalState({ leader: null })).toMatchObject({ leader: null, role: 'candidate' })
  })

  it('records peers with the time they were seen, dropping the longest silent at the cap', async () => {
    const m = await loaded({ peersMax: 2 })
    await m.recordPeer({ peerId: 'a', addrs: ['/ip4/10.0.0.1/tcp/4100'], host: 'ha' })
    clock.advance(1)
    await m.recordPeer({ peerId: 'b', addrs: [], host: null })
    clock.advance(1)
    await m.recordPeer({ peerId: 'a', addrs: ['/ip4/10.0.0.1/tcp/4100'], host: 'ha' }) // refresh a: b is now the longest silent
    clock.advance(1)
    await m.recordPeer({ peerId: 'c', addrs: [], host: null })
    expect((await m.peers()).map(p => [p.peerId, p.lastSeenMs])).toEqual([['a', NOW + 2], ['c', NOW + 3]])
    await m.forgetPeer('a')
    await m.forgetPeer('a')
    await m.recordPeer({ peerId: 'd', addrs: [], host: null })
    expect((await m.peers()).map(p => p.peerId)).toEqual(['c', 'd'])
    expect(await m.peer('zzz')).toBeUndefined()
  })

  it('keeps the peer cache with reputation, best first', async () => {
    const m = await loaded()
    await m.recordPeerOutcome('good', ['/ip4/10.0.0.1/tcp/1'], true)
    await m.recordPeerOutcome('bad', ['/ip4/10.0.0.2/tcp/1'], false)
    const e = await m.recordPeerOutcome('good', [], true)
    expect(e.reputation).toBeCloseTo(0.68, 10)
    expect((await m.cachedPeers()).map(p => p.peerId)).toEqual(['good', 'bad'])
    expect((await m.cachedPeers(1)).map(p => p.peerId)).toEqual(['good'])
    clock.advance(8 * 24 * HOUR)
    expect(await m.prunePeerCache()).toEqual(['bad', 'good'])
  })

  it('appends and queries job history by time, bounded by jobHistoryMax and maxQueryRows', async () => {
    const m = await loaded({ jobHistoryMax: 3, maxQueryRows: 2 })
    for (let i = 0; i < 5; i++) {
      await m.appendJob({ jobId: `j${i}`, bucketId: 'b0', state: 'COMPLETE', type: 'selfplay' })
      clock.advance(1_000)
    }
    expect((await m.jobs({ limit: 10 })).map(j => j.record.jobId)).toEqual(['j2', 'j3'])
    expect((await m.jobs({ newestFirst: true })).map(j => [j.atMs, j.record.jobId])).toEqual([[NOW + 4_000, 'j4'], [NOW + 3_000, 'j3']])
    expect((await m.jobs({ sinceMs: NOW + 3_000, untilMs: NOW + 4_000 })).map(j => j.record)).toEqual([{ jobId: 'j3', bucketId: 'b0', state: 'COMPLETE', type: 'selfplay' }])
    expect(await tables.jobHistory.count()).toBe(3)
    await expect(m.jobs({ limit: -1 })).rejects.toThrow(ValidationError)
  })

  it('appends metrics (merging a sample of the same ms), drops the oldest over metricsHistoryMax', async () => {
    const m = await loaded({ metricsHistoryMax: 2 })
    await m.appendMetrics({ cpu: 10 })
    expect(await m.appendMetrics({ mem: 20 })).toEqual({ atMs: NOW, values: { cpu: 10, mem: 20 } })
    clock.advance(5)
    await m.appendMetrics({ cpu: 11 })
    clock.advance(5)
    await m.appendMetrics({ cpu: 12 })
    expect((await m.metrics()).map(s => s.atMs)).toEqual([NOW + 5, NOW + 10])
    expect((await m.metrics({ sinceMs: NOW + 6 })).map(s => s.values)).toEqual([{ cpu: 12 }])
    const tooMany = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]))
    await expect(m.appendMetrics(tooMany)).rejects.toThrow(ValidationError)
  })

  const abTest = (id: string, createdAt: number, status: AbTest['status'] = 'running'): AbTest =>
    ({ id, config: 'hex8_2p', modelA: 'm1', modelB: 'm2', createdAt, gameBudget: 100, status, verdict: null })

  it('keeps A/B tests and their games; a game of an unknown test is refused', async () => {
    const m = await loaded()
    await m.putAbTest(abTest('t1', 1))
    await m.addAbTestGame({ testId: 't1', seq: 2, winner: 'B', aSeat: 1, jobId: null, atMs: 2 })
    await m.addAbTestGame({ testId: 't1', seq: 1, winner: 'A', aSeat: 0, jobId: 'job-1', atMs: 1 })
    await expect(m.addAbTestGame({ testId: 'nope', seq: 1, winner: 'A', aSeat: 0, jobId: null, atMs: 1 })).rejects.toThrow(ValidationError)
    expect((await m.abTestGames('t1')).map(g => g.winner)).toEqual(['A', 'B'])
    await m.putAbTest({ ...abTest('t1', 1), status: 'decided', verdict: 'B better' })
    expect(await m.abTests('decided')).toHaveLength(1)
    expect(await m.abTests('running')).toHaveLength(0)
    await m.deleteAbTest('t1')
    expect(await m.abTest('t1')).toBeUndefined()
    expect(await m.abTestGames('t1')).toEqual([])
  })

  it('at abTestsMax drops the oldest finished test with its games, and refuses when all run', async () => {
    const m = await loaded({ abTestsMax: 2 })
    await m.putAbTest(abTest('old', 1, 'decided'))
    await m.addAbTestGame({ testId: 'old', seq: 1, winner: 'A', aSeat: 0, jobId: null, atMs: 1 })
    await m.putAbTest(abTest('run1', 2))
    await m.putAbTest(abTest('run2', 3))
    expect((await m.abTests()).map(t => t.id)).toEqual(['run1', 'run2'])
    expect(await tables.abTestGames.count()).toBe(0)
    await expect(m.putAbTest(abTest('run3', 4))).rejects.toThrow(StoreError)
    await m.putAbTest({ ...abTest('run1', 2), status: 'exhausted' }) // updating a kept test is always fine
  })

  it('keeps the cluster epoch, shared with the election, never going back', async () => {
    const m = await loaded()
    expect(await m.clusterEpoch()).toBe(0)
    await m.setClusterEpoch(7)
    expect(await tables.config.get(CLUSTER_EPOCH_KEY)).toBe(7)
    await m.setClusterEpoch(7)
    await expect(m.setClusterEpoch(6)).rejects.toThrow(StoreError)
    await expect(m.setClusterEpoch(1.5)).rejects.toThrow(ValidationError)
    expect(await m.clusterEpoch()).toBe(7)
  })
})

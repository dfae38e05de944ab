/**
 * StateManager (REFERENCE.md): the local tables of one node behind typed operations — peers,
 * the peer cache with reputation, job history, the local state {leader, role}, metrics history,
 * A/B tests and their games, and the cluster epoch. `load()` runs once before any other call: it
 * drops stale state (jobs older than `staleJobAgeMs`, peers silent longer than `stalePeerAgeMs`),
 * trims tables to their limits, and brings a node that was leader (or candidate) back as a
 * follower — leadership is always re-earned — and reports what it did.
 */
import { z } from 'zod'
import { timestampMs, type Clock } from '../core/clock.js'
import { ConfigError, NotStartedError, StoreError, ValidationError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import {
  DEFAULT_JOB_HISTORY_MAX, DEFAULT_METRICS_HISTORY_MAX, DEFAULT_STALE_JOB_AGE_MS, DEFAULT_STALE_PEER_AGE_MS
} from '../config/defaults.js'
import type { Role } from '../election/election.js'
import { padSeq } from '../store/level.js'
import {
  CLUSTER_EPOCH_KEY, jobHistoryKey, type AbTest, type AbTestGame, type LocalTables, type MetricsSample, type PeerCacheEntry, type PeerRecord
} from '../store/tables.js'

/** Most rows one query returns. @default 1_000 */
export const DEFAULT_MAX_QUERY_ROWS = 1_000
/** Most peers in the peers table (the longest silent dropped first). @default 4_096 */
export const DEFAULT_PEERS_MAX = 4_096
/** Most A/B tests kept (the oldest finished one dropped first, with its games; all running → refused). @default 1_000 */
export const DEFAULT_AB_TESTS_MAX = 1_000
/** Most named values in one metrics sample. */
export const MAX_METRIC_VALUES = 256
/** state-table key of the local state. */
export const LOCAL_STATE_KEY = 'local'

const TIME_WIDTH = 15
const ROLES = ['follower', 'candidate', 'leader'] as const satisfies readonly Role[]

export const localStateSchema = z.strictObject({
  leader: z.string().min(1).max(128).nullable(),
  role: z.enum(ROLES),
  updatedAtMs: z.number().int().nonnegative()
})
/** What this node last believed: the leader it knew and its own role. */
export type LocalState = z.infer<typeof localStateSchema>
const INITIAL_LOCAL_STATE: LocalState = { leader: null, role: 'follower', updatedAtMs: 0 }

/** A job history record as the job manager writes it (any further fields are kept). */
export type JobHistoryRecord = { jobId: string, bucketId: string, state: string } & Record<string, unknown>
export interface JobHistoryEntry { atMs: number, record: JobHistoryRecord }

/** A time-range query: [sinceMs, untilMs), oldest first unless `newestFirst`, at most `limit` (≤ maxQueryRows). */
export interface TimeQuery { sinceMs?: number, untilMs?: number, limit?: number, newestFirst?: boolean }

export interface StalenessInit {
  /** Jobs older than this are dropped at load. @default DEFAULT_STALE_JOB_AGE_MS (86_400_000, 24 h) */
  staleJobAgeMs?: number
  /** Peers silent longer than this are dropped at load. @default DEFAULT_STALE_PEER_AGE_MS (300_000, 5 min) */
  stalePeerAgeMs?: number
}

export interface StateManagerInit extends StalenessInit {
  /** Most job history rows; the oldest are dropped. @default DEFAULT_JOB_HISTORY_MAX (100_000) */
  jobHistoryMax?: number
  /** Most metrics history rows; the oldest are dropped. @default DEFAULT_METRICS_HISTORY_MAX (100_000) */
  metricsHistoryMax?: number
  /** @default DEFAULT_PEERS_MAX (4_096) */
  peersMax?: number
  /** @default DEFAULT_AB_TESTS_MAX (1_000) */
  abTestsMax?: number
  /** @default DEFAULT_MAX_QUERY_ROWS (1_000) */
  maxQueryRows?: number
}

export interface StateManagerComponents { tables: LocalTables, clock: Clock, logger: Logger }

/** What `staleEntries` looks at: the job history keys with their times, the peers, the local state. */
export interface StateView {
  /** atMs is NaN for a key that does not start with a time. */
  jobs: ReadonlyArray<{ key: string, atMs: number }>
  peers: ReadonlyArray<{ peerId: string, lastSeenMs: number }>
  /** The stored local state: none, or one that failed validation. */
  local: LocalState | 'invalid' | undefined
}

export interface StalePlan {
  jobKeys: string[]
  peerIds: string[]
  /** The stored role was not follower (or was unreadable): store follower. */
  resetRole: boolean
  /** The node was leader: forget itself as the known leader too. */
  clearLeader: boolean
}

/**
 * What `load` drops: jobs older than `staleJobAgeMs` (and unreadable job keys), peers silent
 * longer than `stalePeerAgeMs`; a role other than follower (or an unreadable local state) is
 * reset. Entries from the future
 * (the clock was stepped back) are kept. Pure.
 */
export function staleEntries (view: StateView, nowMs: number, init: StalenessInit = {}): StalePlan {
  const jobAge = init.staleJobAgeMs ?? DEFAULT_STALE_JOB_AGE_MS
  const peerAge = init.stalePeerAgeMs ?? DEFAULT_STALE_PEER_AGE_MS
  const role = view.local === 'invalid' ? 'invalid' : view.local?.role ?? 'follower'
  return {
    jobKeys: view.jobs.filter(j => !Number.isFinite(j.atMs) || nowMs - j.atMs > jobAge).map(j => j.key),
    peerIds: view.peers.filter(p => nowMs - p.lastSeenMs > peerAge).map(p => p.peerId),
    resetRole: role !== 'follower',
    clearLeader: role === 'leader'
  }
}

/** The peers to drop so at most `max` remain: the longest silent first (ties by id). Pure. */
export function peersOverCap (peers: ReadonlyArray<{ peerId: string, lastSeenMs: number }>, max: number): string[] {
  if (peers.length <= max) return []
  return [...peers].sort((a, b) => a.lastSeenMs - b.lastSeenMs || (a.peerId < b.peerId ? -1 : 1))
    .slice(0, peers.length - max).map(p => p.peerId)
}

/** The time of a job history key (`<15-digit ms>/<jobId>`), NaN when malformed. */
export function jobKeyTime (key: string): number {
  const m = /^(\d{15})\//.exec(key)
  return m?.[1] !== undefined ? Number(m[1]) : Number.NaN
}

export interface LoadReport {
  droppedJobs: number
  droppedPeers: number
  /** Peer cache entries past their TTL or the cap. */
  droppedCachedPeers: number
  /** Rows over jobHistoryMax / metricsHistoryMax / peersMax. */
  trimmedJobs: number
  trimmedMetrics: number
  trimmedPeers: number
  /** The role stored before load (null when none was stored). */
  previousRole: Role | null
  roleReset: boolean
  /** Stored records that failed validation while loading (skipped, left in place). */
  invalidRecords: number
  /** Rows kept. */
  jobs: number
  peers: number
  metrics: number
}

function positiveInt (key: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new ConfigError(`store.${key}`, 'a positive integer', `got ${value}`)
  return value
}

export class StateManager {
  private readonly log: Logger
  private readonly tables: LocalTables
  private readonly staleness: Required<StalenessInit>
  private readonly jobHistoryMax: number
  private readonly metricsHistoryMax: number
  private readonly peersMax: number
  private readonly abTestsMax: number
  private readonly maxQueryRows: number
  private loaded = false
  private jobCount = 0
  private metricsCount = 0
  private peerCount = 0

  constructor (private readonly c: StateManagerComponents, init: StateManagerInit = {}) {
    this.log = c.logger.child({ component: 'state-manager' })
    this.tables = c.tables
    this.staleness = {
      staleJobAgeMs: positiveInt('staleJobAgeMs', init.staleJobAgeMs ?? DEFAULT_STALE_JOB_AGE_MS),
      stalePeerAgeMs: positiveInt('stalePeerAgeMs', init.stalePeerAgeMs ?? DEFAULT_STALE_PEER_AGE_MS)
    }
    this.jobHistoryMax = positiveInt('jobHistoryMax', init.jobHistoryMax ?? DEFAULT_JOB_HISTORY_MAX)
    this.metricsHistoryMax = positiveInt('metricsHistoryMax', init.metricsHistoryMax ?? DEFAULT_METRICS_HISTORY_MAX)
    this.peersMax = positiveInt('peersMax', init.peersMax ?? DEFAULT_PEERS_MAX)
    this.abTestsMax = positiveInt('abTestsMax', init.abTestsMax ?? DEFAULT_AB_TESTS_MAX)
    this.maxQueryRows = positiveInt('maxQueryRows', init.maxQueryRows ?? DEFAULT_MAX_QUERY_ROWS)
  }

  /** Drop stale state, trim tables to their limits, reset the role to follower; report. Call before anything else. */
  async load (): Promise<LoadReport> {
    const t = this.tables
    const nowMs = timestampMs(this.c.clock)
    const invalidBefore = this.invalidCount()
    const jobKeys = await t.jobHistory.keys()
    const peers = (await t.peers.entries()).map(([, v]) => v)
    const stored = await this.readLocalState()
    const storedRole = stored === 'invalid' ? null : stored?.role ?? null
    const plan = staleEntries({ jobs: jobKeys.map(key => ({ key, atMs: jobKeyTime(key) })), peers, local: stored }, nowMs, this.staleness)

    const droppedJobs = new Set(plan.jobKeys)
    const keptJobs = jobKeys.filter(k => !droppedJobs.has(k)) // key order: oldest first
    const trimJobs = keptJobs.slice(0, Math.max(0, keptJobs.length - this.jobHistoryMax))
    await t.jobHistory.delMany([...plan.jobKeys, ...trimJobs])
    this.jobCount = keptJobs.length - trimJobs.length

    const droppedPeers = new Set(plan.peerIds)
    const keptPeers = peers.filter(p => !droppedPeers.has(p.peerId))
    const trimPeers = peersOverCap(keptPeers, this.peersMax)
    await t.peers.delMany([...plan.peerIds, ...trimPeers])
    this.peerCount = keptPeers.length - trimPeers.length

    const droppedCachedPeers = await t.prunePeerCache(nowMs)
    const metricsCount = await t.metricsHistory.count()
    const metricsExcess = Math.max(0, metricsCount - this.metricsHistoryMax)
    const trimMetrics = metricsExcess > 0 ? await t.metricsHistory.keys({ limit: metricsExcess }) : []
    await t.metricsHistory.delMany(trimMetrics)
    this.metricsCount = metricsCount - trimMetrics.length

    if (plan.resetRole) {
      const leader = stored === 'invalid' || stored === undefined || plan.clearLeader ? null : stored.leader
      await t.state.put(LOCAL_STATE_KEY, { leader, role: 'follower', updatedAtMs: nowMs } satisfies LocalState, { sync: true })
    }
    this.loaded = true
    const report: LoadReport = {
      droppedJobs: plan.jobKeys.length,
      droppedPeers: plan.peerIds.length,
      droppedCachedPeers: droppedCachedPeers.length,
      trimmedJobs: trimJobs.length,
      trimmedMetrics: trimMetrics.length,
      trimmedPeers: trimPeers.length,
      previousRole: storedRole,
      roleReset: plan.resetRole,
      invalidRecords: this.invalidCount() - invalidBefore,
      jobs: this.jobCount,
      peers: this.peerCount,
      metrics: this.metricsCount
    }
    if (report.roleReset) this.log.warn({ previousRole: report.previousRole }, 'this node was not a follower when it stopped: back as follower, leadership is re-earned')
    this.log.info({ ...report }, 'local state loaded')
    return report
  }

  // ---- local state -------------------------------------------------------------------------

  async localState (): Promise<LocalState> {
    this.assertLoaded()
    const stored = await this.readLocalState()
    return stored === undefined || stored === 'invalid' ? { ...INITIAL_LOCAL_STATE } : stored
  }

  /** Record the leader this node knows and/or its own role. */
  async setLocalState (change: { leader?: string | null, role?: Role }): Promise<LocalState> {
    const cur = await this.localState()
    const next = localStateSchema.parse({ leader: change.leader !== undefined ? change.leader : cur.leader, role: change.role ?? cur.role, updatedAtMs: timestampMs(this.c.clock) })
    await this.tables.state.put(LOCAL_STATE_KEY, next)
    return next
  }

  // ---- peers -------------------------------------------------------------------------------

  /** Record a peer seen now; over `peersMax` the longest silent peer is dropped. */
  async recordPeer (peer: { peerId: string, addrs: readonly string[], host: string | null }): Promise<PeerRecord> {
    this.assertLoaded()
    const t = this.tables.peers
    const isNew = (await t.get(peer.peerId)) === undefined
    const record: PeerRecord = { peerId: peer.peerId, addrs: peer.addrs.slice(0, 64), lastSeenMs: timestampMs(this.c.clock), host: peer.host }
    await t.put(peer.peerId, record)
    if (isNew && ++this.peerCount > this.peersMax) {
      const all = (await t.entries()).map(([, v]) => v)
      const drop = peersOverCap(all, this.peersMax)
      await t.delMany(drop)
      this.peerCount = all.length - drop.length
    }
    return record
  }

  async peer (peerId: string): Promise<PeerRecord | undefined> {
    this.assertLoaded()
    return await this.tables.peers.get(peerId)
  }

  /** Every recorded peer (at most `peersMax`), by id. */
  async peers (): Promise<PeerRecord[]> {
    this.assertLoaded()
    return (await this.tables.peers.entries()).map(([, v]) => v)
  }

  async forgetPeer (peerId: string): Promise<void> {
    this.assertLoaded()
    if ((await this.tables.peers.get(peerId)) === undefined) return
    await this.tables.peers.del(peerId)
    this.peerCount--
  }

  /** A connection outcome with a peer: updates its reputation (EWMA) in the peer cache. */
  async recordPeerOutcome (peerId: string, addrs: string[], success: boolean): Promise<PeerCacheEntry> {
    this.assertLoaded()
    return await this.tables.recordPeerOutcome(peerId, addrs, success, timestampMs(this.c.clock))
  }

  /** Cached peers, best reputation first (then most recently seen), at most `limit`. */
  async cachedPeers (limit = this.maxQueryRows): Promise<PeerCacheEntry[]> {
    this.assertLoaded()
    return (await this.tables.peerCache.entries()).map(([, v]) => v)
      .sort((a, b) => b.reputation - a.reputation || b.lastSeenMs - a.lastSeenMs || (a.peerId < b.peerId ? -1 : 1))
      .slice(0, this.limitOf(limit))
  }

  /** Drop expired and surplus peer cache entries; returns the dropped ids. */
  async prunePeerCache (): Promise<string[]> {
    this.assertLoaded()
    return await this.tables.prunePeerCache(timestampMs(this.c.clock))
  }

  // ---- job history -------------------------------------------------------------------------

  /**
   * Append a job record at the current time; over `jobHistoryMax` the oldest rows go. Rows are
   * keyed (ms, jobId): a second record of the same job in the same ms replaces the first.
   */
  async appendJob (record: JobHistoryRecord): Promise<void> {
    this.assertLoaded()
    const t = this.tables.jobHistory
    const key = jobHistoryKey(timestampMs(this.c.clock), record.jobId)
    const isNew = (await t.get(key)) === undefined
    await t.put(key, record)
    if (isNew && ++this.jobCount > this.jobHistoryMax) {
      await t.delMany(await t.keys({ limit: this.jobCount - this.jobHistoryMax }))
      this.jobCount = this.jobHistoryMax
    }
  }

  async jobs (query: TimeQuery = {}): Promise<JobHistoryEntry[]> {
    this.assertLoaded()
    const rows = await this.tables.jobHistory.entries(this.range(query))
    return rows.map(([key, record]) => ({ atMs: jobKeyTime(key), record: record as JobHistoryRecord }))
  }

  // ---- metrics history ---------------------------------------------------------------------

  /** Append named values at the current time (merged into a sample of the same ms); over `metricsHistoryMax` the oldest go. */
  async appendMetrics (values: Readonly<Record<string, number>>): Promise<MetricsSample> {
    this.assertLoaded()
    const atMs = timestampMs(this.c.clock)
    const t = this.tables.metricsHistory
    const key = padSeq(atMs, TIME_WIDTH)
    const cur = await t.get(key)
    const merged = { ...cur?.values, ...values }
    if (Object.keys(merged).length > MAX_METRIC_VALUES) {
      throw new ValidationError('metricsHistory', `a sample holds at most ${MAX_METRIC_VALUES} values, got ${Object.keys(merged).length}`)
    }
    const sample: MetricsSample = { atMs, values: merged }
    await t.put(key, sample)
    if (cur === undefined && ++this.metricsCount > this.metricsHistoryMax) {
      await t.delMany(await t.keys({ limit: this.metricsCount - this.metricsHistoryMax }))
      this.metricsCount = this.metricsHistoryMax
    }
    return sample
  }

  async metrics (query: TimeQuery = {}): Promise<MetricsSample[]> {
    this.assertLoaded()
    return (await this.tables.metricsHistory.entries(this.range(query))).map(([, v]) => v)
  }

  // ---- A/B tests ---------------------------------------------------------------------------

  /**
   * Create or update an A/B test. A new test over `abTestsMax` drops the oldest finished test
   * and its games; when every kept test is still running the new one is refused (StoreError).
   */
  async putAbTest (test: AbTest): Promise<void> {
    this.assertLoaded()
    const t = this.tables.abTests
    if ((await t.get(test.id)) === undefined) {
      const all = (await t.entries()).map(([, v]) => v)
      if (all.length >= this.abTestsMax) {
        const victim = all.filter(x => x.status !== 'running').sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))[0]
        if (victim === undefined) throw new StoreError(`cannot add A/B test ${test.id}: all ${all.length} kept tests are running (abTestsMax ${this.abTestsMax})`)
        await this.deleteAbTest(victim.id)
        this.log.info({ dropped: victim.id, added: test.id }, 'A/B test table full: dropped the oldest finished test')
      }
    }
    await t.put(test.id, test)
  }

  async abTest (id: string): Promise<AbTest | undefined> {
    this.assertLoaded()
    return await this.tables.abTests.get(id)
  }

  /** Every kept A/B test (at most `abTestsMax`), optionally of one status, oldest first. */
  async abTests (status?: AbTest['status']): Promise<AbTest[]> {
    this.assertLoaded()
    return (await this.tables.abTests.entries()).map(([, v]) => v)
      .filter(x => status === undefined || x.status === status)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  }

  /** Record one game of a known test (ValidationError for an unknown test). */
  async addAbTestGame (game: AbTestGame): Promise<void> {
    this.assertLoaded()
    if ((await this.tables.abTests.get(game.testId)) === undefined) {
      throw new ValidationError('abTestGames', `game ${game.seq} names unknown A/B test ${game.testId}`)
    }
    await this.tables.addAbTestGame(game)
  }

  async abTestGames (testId: string): Promise<AbTestGame[]> {
    this.assertLoaded()
    return await this.tables.abTestGamesOf(testId)
  }

  /** Delete a test and its games. */
  async deleteAbTest (id: string): Promise<void> {
    this.assertLoaded()
    const games = await this.tables.abTestGames.keys({ gte: `${id}/`, lt: `${id}/~` })
    await this.tables.abTestGames.delMany(games)
    await this.tables.abTests.del(id)
  }

  // ---- cluster epoch -----------------------------------------------------------------------

  /** The highest cluster (election) epoch this node has seen; 0 when none. */
  async clusterEpoch (): Promise<number> {
    this.assertLoaded()
    const v = await this.tables.config.get(CLUSTER_EPOCH_KEY)
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0
  }

  /** Persist (fsync) a higher cluster epoch; the epoch never goes back (StoreError). */
  async setClusterEpoch (epoch: number): Promise<void> {
    if (!(Number.isInteger(epoch) && epoch >= 0)) throw new ValidationError('config', `cluster epoch must be a non-negative integer, got ${epoch}`)
    const cur = await this.clusterEpoch()
    if (epoch < cur) throw new StoreError(`cluster epoch cannot go back from ${cur} to ${epoch}`)
    if (epoch > cur) await this.tables.config.put(CLUSTER_EPOCH_KEY, epoch, { sync: true })
  }

  // ---- helpers -----------------------------------------------------------------------------

  private assertLoaded (): void {
    if (!this.loaded) throw new NotStartedError('state-manager (call load() first)')
  }

  private limitOf (limit: number | undefined): number {
    const n = limit ?? this.maxQueryRows
    if (!(Number.isInteger(n) && n >= 0)) throw new ValidationError('query', `limit must be a non-negative integer, got ${n}`)
    return Math.min(n, this.maxQueryRows)
  }

  private range (q: TimeQuery): { gte?: string, lt?: string, limit: number, reverse: boolean } {
    const time = (ms: number): string => padSeq(Math.max(0, Math.floor(ms)), TIME_WIDTH)
    return {
      ...(q.sinceMs !== undefined ? { gte: time(q.sinceMs) } : {}),
      ...(q.untilMs !== undefined ? { lt: time(q.untilMs) } : {}),
      limit: this.limitOf(q.limit),
      reverse: q.newestFirst ?? false
    }
  }

  private async readLocalState (): Promise<LocalState | 'invalid' | undefined> {
    const raw = await this.tables.state.get(LOCAL_STATE_KEY)
    if (raw === undefined) return undefined
    const parsed = localStateSchema.safeParse(raw)
    if (parsed.success) return parsed.data
    this.log.warn({ issues: parsed.error.issues.length }, 'stored local state is invalid: taken as follower with no known leader')
    return 'invalid'
  }

  private invalidCount (): number {
    const t = this.tables
    return t.jobHistory.invalid + t.peers.invalid + t.peerCache.invalid + t.metricsHistory.invalid + t.state.invalid
  }
}

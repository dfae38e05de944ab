/**
 * The local tables of a node (REFERENCE.md, StateManager): peers, job history, state, metrics
 * history, A/B tests and their games, the peer cache with reputation, config, and voter
 * promises. JSON values under `t/<table>/<key>`, validated on read; an entry that fails
 * validation is skipped and counted, never thrown at a caller.
 */
import { z } from 'zod'
import { StoreError } from '../core/errors.js'
import { DEFAULT_PEER_CACHE_MAX, DEFAULT_PEER_CACHE_TTL_MS, DEFAULT_REPUTATION_ALPHA } from '../config/defaults.js'
import type { Logger } from '../core/logger.js'
import { padSeq, type RootDb } from './level.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** config-table key of the cluster epoch: the highest election epoch this node has seen (written by the election). */
export const CLUSTER_EPOCH_KEY = 'highestEpoch'

export function jobHistoryKey (atMs: number, jobId: string): string {
  return `${padSeq(atMs, 15)}/${jobId}`
}

export interface TableOptions { sync?: boolean }

/** One table: typed, validated JSON records under a key prefix. */
export class Table<T> {
  private readonly prefix: string
  invalid = 0

  constructor (
    private readonly db: RootDb,
    readonly name: string,
    private readonly schema: z.ZodType<T>,
    private readonly log: Logger
  ) {
    this.prefix = `t/${name}/`
  }

  async get (key: string): Promise<T | undefined> {
    const raw = await this.db.get(this.prefix + key)
    return raw === undefined ? undefined : this.decode(key, raw)
  }

  async put (key: string, value: T, options: TableOptions = {}): Promise<void> {
    const checked = this.schema.parse(value)
    await this.db.put(this.prefix + key, enc.encode(JSON.stringify(checked)), { sync: options.sync ?? false } as never)
  }

  async del (key: string, options: TableOptions = {}): Promise<void> {
    await this.db.del(this.prefix + key, { sync: options.sync ?? false } as never)
  }

  /** Valid entries in key order, at most `limit`, optionally in reverse. */
  async entries (options: { limit?: number, reverse?: boolean, gte?: string, lt?: string } = {}): Promise<Array<[string, T]>> {
    const out: Array<[string, T]> = []
    const range = {
      gte: this.prefix + (options.gte ?? ''),
      lt: options.lt !== undefined ? this.prefix + options.lt : this.prefix + '\uffff',
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1
    }
    for await (const [k, raw] of this.db.iterator(range)) {
      const key = k.slice(this.prefix.length)
      const value = this.decode(key, raw)
      if (value !== undefined) out.push([key, value])
    }
    return out
  }

  /** Keys in key order (within [gte, lt) when given), at most `limit`, optionally in reverse. */
  async keys (options: { limit?: number, reverse?: boolean, gte?: string, lt?: string } = {}): Promise<string[]> {
    const out: string[] = []
    const range = {
      gte: this.prefix + (options.gte ?? ''),
      lt: options.lt !== undefined ? this.prefix + options.lt : this.prefix + '\uffff',
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1
    }
    for await (const k of this.db.keys(range)) {
      out.push(k.slice(this.prefix.length))
    }
    return out
  }

  async count (): Promise<number> {
    let n = 0
    for await (const _ of this.db.keys({ gte: this.prefix, lt: this.prefix + '\uffff' })) n++
    return n
  }

  /** Delete these keys in one batch (missing keys are fine). */
  async delMany (keys: readonly string[], options: TableOptions = {}): Promise<void> {
    if (keys.length === 0) return
    await this.db.batch(keys.map(k => ({ type: 'del' as const, key: this.prefix + k })) as never, { sync: options.sync ?? false } as never)
  }

  /** Delete the oldest keys (in key order) until at most `max` remain; returns how many went. */
  async trimTo (max: number): Promise<number> {
    const n = await this.count()
    if (n <= max) return 0
    const drop = await this.keys({ limit: n - max })
    await this.db.batch(drop.map(k => ({ type: 'del' as const, key: this.prefix + k })) as never)
    return drop.length
  }

  private decode (key: string, raw: Uint8Array): T | undefined {
    let json: unknown
    try {
      json = JSON.parse(dec.decode(raw))
    } catch {
      json = undefined
    }
    const parsed = this.schema.safeParse(json)
    if (parsed.success) return parsed.data
    this.invalid++
    this.log.warn({ table: this.name, key }, 'invalid stored record skipped')
    return undefined
  }
}

const peerId = z.string().min(1).max(128)
const ms = z.number().int().nonnegative()

export const peerRecordSchema = z.strictObject({ peerId, addrs: z.array(z.string().max(256)).max(64), lastSeenMs: ms, host: z.string().max(256).nullable() })
export type PeerRecord = z.infer<typeof peerRecordSchema>

export const peerCacheEntrySchema = z.strictObject({
  peerId, addrs: z.array(z.string().max(256)).max(64), lastSeenMs: ms, reputation: z.number().min(0).max(1), successes: ms, failures: ms
})
export type PeerCacheEntry = z.infer<typeof peerCacheEntrySchema>

export const jsonValueSchema: z.ZodType<unknown> = z.json()
export const metricsSampleSchema = z.strictObject({ atMs: ms, values: z.record(z.string().max(128), z.number()) })
export type MetricsSample = z.infer<typeof metricsSampleSchema>

export const abTestSchema = z.strictObject({
  id: z.string().min(1).max(128), config: z.string().max(32), modelA: z.string().max(256), modelB: z.string().max(256),
  createdAt: ms, gameBudget: ms, status: z.enum(['running', 'decided', 'exhausted', 'cancelled']), verdict: z.string().max(256).nullable()
})
export type AbTest = z.infer<typeof abTestSchema>
export const abTestGameSchema = z.strictObject({
  testId: z.string().min(1).max(128), seq: ms, winner: z.enum(['A', 'B', 'draw']), aSeat: z.number().int().min(0).max(3), jobId: z.string().max(256).nullable(), atMs: ms
})
export type AbTestGame = z.infer<typeof abTestGameSchema>

export const voterPromiseSchema = z.strictObject({ epoch: ms, candidate: peerId, grantedAtMs: ms })
export type VoterPromise = z.infer<typeof voterPromiseSchema>

export const jobHistorySchema = z.object({ jobId: z.string(), bucketId: z.string(), state: z.string() }).loose()

export interface PeerCacheInit {
  /** EWMA weight of the newest outcome. @default 0.2 */
  reputationAlpha?: number
  /** Entries not seen for this long are dropped. @default 7 days */
  ttlMs?: number
  /** Most entries kept (lowest reputation, then oldest, dropped first). @default 200 */
  maxEntries?: number
}

/** New reputation after one outcome: EWMA of successes (1) and failures (0). */
export function nextReputation (current: number, success: boolean, alpha: number): number {
  return (1 - alpha) * current + alpha * (success ? 1 : 0)
}

/** Which cache entries to drop: expired ones, then the weakest past `maxEntries`. Pure. */
export function planPeerCachePrune (entries: readonly PeerCacheEntry[], nowMs: number, ttlMs: number, maxEntries: number): string[] {
  const drop = new Set(entries.filter(e => nowMs - e.lastSeenMs > ttlMs).map(e => e.peerId))
  const kept = entries.filter(e => !drop.has(e.peerId))
    .sort((a, b) => b.reputation - a.reputation || b.lastSeenMs - a.lastSeenMs || (a.peerId < b.peerId ? -1 : 1))
  for (const e of kept.slice(maxEntries)) drop.add(e.peerId)
  return [...drop].sort()
}

/** All local tables of one node, over one LevelDB. */
export class LocalTables {
  readonly peers: Table<PeerRecord>
  readonly peerCache: Table<PeerCacheEntry>
  readonly jobHistory: Table<z.infer<typeof jobHistorySchema>>
  readonly state: Table<unknown>
  readonly config: Table<unknown>
  readonly metricsHistory: Table<MetricsSample>
  readonly abTests: Table<AbTest>
  readonly abTestGames: Table<AbTestGame>
  readonly voterPromise: Table<VoterPromise>
  private readonly reputationAlpha: number
  private readonly ttlMs: number
  private readonly maxEntries: number

  constructor (db: RootDb, logger: Logger, init: PeerCacheInit = {}) {
    const log = logger.child({ component: 'local-tables' })
    this.peers = new Table(db, 'peers', peerRecordSchema, log)
    this.peerCache = new Table(db, 'peerCache', peerCacheEntrySchema, log)
    this.jobHistory = new Table(db, 'jobHistory', jobHistorySchema, log)
    this.state = new Table(db, 'state', jsonValueSchema, log)
    this.config = new Table(db, 'config', jsonValueSchema, log)
    this.metricsHistory = new Table(db, 'metricsHistory', metricsSampleSchema, log)
    this.abTests = new Table(db, 'abTests', abTestSchema, log)
    this.abTestGames = new Table(db, 'abTestGames', abTestGameSchema, log)
    this.voterPromise = new Table(db, 'voterPromise', voterPromiseSchema, log)
    this.reputationAlpha = init.reputationAlpha ?? DEFAULT_REPUTATION_ALPHA
    this.ttlMs = init.ttlMs ?? DEFAULT_PEER_CACHE_TTL_MS
    this.maxEntries = init.maxEntries ?? DEFAULT_PEER_CACHE_MAX
    if (!(this.reputationAlpha > 0 && this.reputationAlpha <= 1)) throw new RangeError(`reputationAlpha must be in (0, 1], got ${this.reputationAlpha}`)
  }

  /** Record a connection outcome with a peer in the peer cache (reputation EWMA). */
  async recordPeerOutcome (peerId: string, addrs: string[], success: boolean, nowMs: number): Promise<PeerCacheEntry> {
    const cur = await this.peerCache.get(peerId)
    const entry: PeerCacheEntry = {
      peerId,
      addrs: addrs.length > 0 ? addrs.slice(0, 64) : cur?.addrs ?? [],
      lastSeenMs: success ? nowMs : cur?.lastSeenMs ?? nowMs,
      reputation: nextReputation(cur?.reputation ?? 0.5, success, this.reputationAlpha),
      successes: (cur?.successes ?? 0) + (success ? 1 : 0),
      failures: (cur?.failures ?? 0) + (success ? 0 : 1)
    }
    await this.peerCache.put(peerId, entry)
    return entry
  }

  /** Replace the addresses of a cached peer (from identify), keeping its reputation. */
  async setPeerAddrs (peerId: string, addrs: string[], nowMs: number): Promise<void> {
    if (addrs.length === 0) return
    const cur = await this.peerCache.get(peerId)
    await this.peerCache.put(peerId, {
      peerId, addrs: addrs.slice(0, 64), lastSeenMs: nowMs, reputation: cur?.reputation ?? 0.5, successes: cur?.successes ?? 0, failures: cur?.failures ?? 0
    })
  }

  /** Drop expired and surplus peer cache entries; returns the dropped ids. */
  async prunePeerCache (nowMs: number): Promise<string[]> {
    const all = (await this.peerCache.entries()).map(([, v]) => v)
    const drop = planPeerCachePrune(all, nowMs, this.ttlMs, this.maxEntries)
    for (const id of drop) await this.peerCache.del(id)
    return drop
  }

  /** The voter's promise: the highest epoch it granted. Written with fsync before any grant. */
  async promise (): Promise<VoterPromise | undefined> {
    return await this.voterPromise.get('promise')
  }

  /** Persist a promise; refuses to go back to a lower epoch (a voter never un-promises). */
  async setPromise (p: VoterPromise): Promise<void> {
    const cur = await this.promise()
    if (cur !== undefined && p.epoch < cur.epoch) {
      throw new StoreError(`voter promise cannot go back from epoch ${cur.epoch} to ${p.epoch}`)
    }
    await this.voterPromise.put('promise', p, { sync: true })
  }

  async appendJobHistory (atMs: number, record: { jobId: string, bucketId: string, state: string } & Record<string, unknown>): Promise<void> {
    await this.jobHistory.put(jobHistoryKey(atMs, record.jobId), record)
  }

  async appendMetrics (sample: MetricsSample): Promise<void> {
    await this.metricsHistory.put(padSeq(sample.atMs, 15), sample)
  }

  async addAbTestGame (game: AbTestGame): Promise<void> {
    await this.abTestGames.put(`${game.testId}/${padSeq(game.seq, 8)}`, game)
  }

  async abTestGamesOf (testId: string): Promise<AbTestGame[]> {
    return (await this.abTestGames.entries({ gte: `${testId}/`, lt: `${testId}/~` })).map(([, v]) => v)
  }
}

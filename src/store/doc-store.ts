/**
 * Durable persistence of the cluster documents in LevelDB. Every update (local or remote) is
 * appended to a per-document log and written with `sync` before `onPersisted` listeners hear of
 * it — the Replicator publishes local updates from there, so nothing reaches the network that a
 * crash could lose. When a document's log passes `compactAfterBytes` it is folded into a V2
 * snapshot in one atomic batch. Retired job buckets are deleted whole and their jobs written to
 * the job history in the same batch; the final state of the last `maxRetiredFinals` of them is
 * kept, so a peer that still holds one (it was partitioned away while this node retired it) can
 * be sent that state and retire it too.
 *
 * A write that fails (a full disk) loses nothing: the updates stay queued, in order, and are
 * written again after a back-off (`retryMinMs` doubling up to `retryMaxMs`) until a write
 * succeeds; `persistence()` says meanwhile why the store cannot persist and what waits. `flush()`
 * rejects while the updates it waits for are not durable, so nothing is acknowledged as durable
 * before it is. The queue is bounded by `maxQueuedBytes`: past it, the queued updates are
 * replaced by a snapshot of each of their documents to be written on recovery (the documents in
 * memory hold them all; the updates are not published one by one then — anti-entropy sync
 * carries them to peers).
 */
import * as Y from 'yjs'
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { StoreError, errorMessage } from '../core/errors.js'
import { DEFAULT_COMPACT_AFTER_BYTES, DEFAULT_PERSIST_RETRY_MAX_MS, DEFAULT_MAX_UNPERSISTED_BYTES } from '../config/defaults.js'
import type { ClusterState } from '../state/cluster-state.js'
import { bucketDocName, type DocName, type DocUpdate } from '../state/docs.js'
import type { JobView } from '../state/jobs.js'
import { padSeq, type RootDb } from './level.js'
import { jobHistoryKey } from './tables.js'
import { PersistenceError, persistErrorCode } from './write-guard.js'
import { docLogOf, restoreDocuments, type DocLog, type RestoreReport } from './doc-restore.js'

export type { RestoreReport } from './doc-restore.js'

export interface DocStoreInit {
  /** Log bytes of one document that trigger compaction into a snapshot. @default 4 MiB */
  compactAfterBytes?: number
  /** fsync every flush (turn off only in benchmarks). @default true */
  syncWrites?: boolean
  /** Final states of retired buckets kept for peers that still hold them; the oldest go first. @default 256 */
  maxRetiredFinals?: number
  /** First wait before a failed write is tried again; it doubles per failure. @default 100 */
  retryMinMs?: number
  /** Longest wait between two tries of a failed write. @default 5_000 */
  retryMaxMs?: number
  /** Bytes of updates kept queued while writes fail; past it they are collapsed into document snapshots. @default 64 MiB */
  maxQueuedBytes?: number
  /** While writes keep failing, a warning at most this often (the first failure is an error). @default 60_000 */
  failureLogIntervalMs?: number
}

/** @default 256 */
export const DEFAULT_MAX_RETIRED_FINALS = 256
/** @default 100 */
export const DEFAULT_PERSIST_RETRY_MIN_MS = 100
/** @default 60_000 */
export const DEFAULT_PERSIST_FAILURE_LOG_INTERVAL_MS = 60_000

export interface DocStoreComponents {
  db: RootDb
  state: ClusterState
  clock: Clock
  logger: Logger
}

/** What `persistence()` reports: whether document updates are being persisted, and what waits. */
export interface PersistenceStatus {
  /** False while the last write failed (updates wait in memory). */
  persisting: boolean
  /** Why not (`ENOSPC`, …), else null. */
  code: string | null
  error: string | null
  /** Clock time of the first failure of this outage, else null. */
  failingSinceMs: number | null
  /** Failed tries of this outage. */
  attempts: number
  /** Updates not yet durable (queued, in flight, or collapsed into a pending snapshot). */
  pendingUpdates: number
  /** Bytes of the queued updates. */
  queuedBytes: number
  /** Documents whose queued updates were collapsed into a snapshot to write (the queue passed maxQueuedBytes). */
  collapsedDocs: number
  /** Wait before the next try, else null. */
  retryInMs: number | null
}

/** Wait before try `attempt + 1` of a failed write: min doubling per attempt, at most max. */
export function persistRetryDelayMs (attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, attempt - 1)))
}


const enc = new TextEncoder()


export class DocStore {
  private readonly db: RootDb
  private readonly state: ClusterState
  private readonly log: Logger
  private readonly compactAfterBytes: number
  private readonly syncWrites: boolean
  private readonly logs = new Map<DocName, DocLog>()
  private readonly persistedListeners = new Set<(u: DocUpdate) => void>()
  private readonly clock: Clock
  private readonly retryMinMs: number
  private readonly retryMaxMs: number
  private readonly maxQueuedBytes: number
  private readonly failureLogIntervalMs: number
  /** Updates not written yet, oldest first (an in-flight batch is taken out and put back if it fails). */
  private queue: DocUpdate[] = []
  private queuedBytes = 0
  /** Documents whose queued updates were dropped at the queue's limit: a snapshot of each covers them. */
  private readonly collapsed = new Set<DocName>()
  private collapsedUpdates = 0
  /** Updates enqueued / made durable since start, in order: `flush` waits for the one to reach the other. */
  private enqueued = 0
  private durable = 0
  /** The chain of writes; it never rejects. */
  private flushing: Promise<void> = Promise.resolve()
  private writeScheduled = false
  private failing: { sinceMs: number, attempts: number, err: unknown, code: string, loggedAtMs: number } | undefined
  private retryTimer: TimerHandle | undefined
  private retryAtMs: number | undefined
  private unsubscribe: (() => void) | undefined
  private started = false
  private readonly maxRetiredFinals: number
  /** Retired bucket document → the LevelDB key of its final state, oldest first. */
  private readonly finals = new Map<DocName, string>()

  constructor (components: DocStoreComponents, init: DocStoreInit = {}) {
    this.db = components.db
    this.state = components.state
    this.clock = components.clock
    this.log = components.logger.child({ component: 'doc-store' })
    this.compactAfterBytes = init.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES
    if (!Number.isInteger(this.compactAfterBytes) || this.compactAfterBytes < 1024) {
      throw new RangeError(`compactAfterBytes must be an integer ≥ 1024, got ${this.compactAfterBytes}`)
    }
    this.syncWrites = init.syncWrites ?? true
    this.maxRetiredFinals = init.maxRetiredFinals ?? DEFAULT_MAX_RETIRED_FINALS
    if (!Number.isInteger(this.maxRetiredFinals) || this.maxRetiredFinals < 0) throw new RangeError(`maxRetiredFinals must be an integer ≥ 0, got ${this.maxRetiredFinals}`)
    this.retryMinMs = init.retryMinMs ?? DEFAULT_PERSIST_RETRY_MIN_MS
    this.retryMaxMs = init.retryMaxMs ?? DEFAULT_PERSIST_RETRY_MAX_MS
    if (!(this.retryMinMs >= 1 && this.retryMaxMs >= this.retryMinMs)) throw new RangeError(`retries need 1 ≤ retryMinMs ≤ retryMaxMs, got ${this.retryMinMs} and ${this.retryMaxMs}`)
    this.maxQueuedBytes = init.maxQueuedBytes ?? DEFAULT_MAX_UNPERSISTED_BYTES
    if (!(Number.isInteger(this.maxQueuedBytes) && this.maxQueuedBytes >= 1)) throw new RangeError(`maxQueuedBytes must be an integer ≥ 1, got ${this.maxQueuedBytes}`)
    this.failureLogIntervalMs = init.failureLogIntervalMs ?? DEFAULT_PERSIST_FAILURE_LOG_INTERVAL_MS
  }

  /** Restore every document from LevelDB into the state, then start persisting its updates. */
  async start (): Promise<RestoreReport> {
    if (this.started) throw new StoreError('doc store already started')
    const report = await restoreDocuments(this.db, this.state, this.log, this.logs, this.finals)
    this.unsubscribe = this.state.onUpdate(u => {
      if (u.origin !== 'restore') this.enqueue(u)
    })
    this.started = true
    return report
  }

  /** Stop listening, then write what is queued (one last try when writes are failing). Idempotent. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.clearRetry()
    try {
      await this.flush()
    } catch (err) {
      this.log.error({ err, pending: this.enqueued - this.durable }, 'stopping with document updates that could not be persisted (peers that have them keep them)')
    }
    this.clearRetry()
    this.started = false
  }

  /** Called with each update once it is durable (in order). */
  onPersisted (listener: (u: DocUpdate) => void): () => void {
    this.persistedListeners.add(listener)
    return () => this.persistedListeners.delete(listener)
  }

  /**
   * Resolves when every update queued before the call is durable. While writes fail it tries
   * once more at once, then rejects with a PersistenceError: those updates are kept and written
   * later, but are not durable yet.
   */
  async flush (): Promise<void> {
    const target = this.enqueued
    for (let round = 0; this.durable < target; round++) {
      if (this.failing !== undefined && round > 0) throw this.notDurable()
      if (this.failing !== undefined || round > 0) this.schedule()
      await this.flushing
    }
  }

  /** Whether updates are being persisted; why not and what waits. */
  persistence (): PersistenceStatus {
    const f = this.failing
    return {
      persisting: f === undefined,
      code: f?.code ?? null,
      error: f === undefined ? null : errorMessage(f.err),
      failingSinceMs: f?.sinceMs ?? null,
      attempts: f?.attempts ?? 0,
      pendingUpdates: this.enqueued - this.durable,
      queuedBytes: this.queuedBytes,
      collapsedDocs: this.collapsed.size,
      retryInMs: this.retryAtMs === undefined ? null : Math.max(0, this.retryAtMs - this.clock.monoMs())
    }
  }

  /** Bytes in the update logs (not snapshots), per document. */
  logBytes (): Record<string, number> {
    return Object.fromEntries([...this.logs].map(([n, l]) => [n, l.logBytes]))
  }

  /**
   * Retire a jobs bucket: drop its document from the state and LevelDB and write its jobs to
   * the history, atomically.
   */
  async retireBucket (bucketId: string, historyAtMs: number): Promise<JobView[]> {
    await this.flush()
    const name = bucketDocName(bucketId)
    const doc = this.state.docs.get(name)
    const final = doc === undefined ? undefined : Y.encodeStateAsUpdateV2(doc)
    const jobs = this.state.retireBucket(bucketId)
    const ops: Array<{ type: 'put' | 'del', key: string, value?: Uint8Array }> = []
    const finalKey = `final/${padSeq(historyAtMs)}/${name}`
    if (final !== undefined && this.maxRetiredFinals > 0) {
      ops.push({ type: 'put', key: finalKey, value: final })
      while (this.finals.size >= this.maxRetiredFinals) {
        const [oldest, key] = this.finals.entries().next().value as [DocName, string]
        this.finals.delete(oldest)
        ops.push({ type: 'del', key })
      }
    }
    for await (const key of this.db.keys({ gte: `log/${name}/`, lt: `log/${name}/~` })) ops.push({ type: 'del', key })
    ops.push({ type: 'del', key: `snap/${name}` })
    ops.push({ type: 'put', key: `retired/${name}`, value: enc.encode(String(historyAtMs)) })
    for (const j of jobs) {
      ops.push({ type: 'put', key: `t/jobHistory/${jobHistoryKey(historyAtMs, j.jobId)}`, value: enc.encode(JSON.stringify(j)) })
    }
    await this.db.batch(ops as never, { sync: this.syncWrites } as never)
    this.logs.delete(name)
    if (final !== undefined && this.maxRetiredFinals > 0) this.finals.set(name, finalKey)
    return jobs
  }

  /**
   * What a peer holding a bucket this node retired lacks of its final state (a V2 update against
   * the peer's state vector), or undefined when that state is no longer kept.
   */
  async retiredFinal (name: DocName, theirStateVector?: Uint8Array): Promise<Uint8Array | undefined> {
    const key = this.finals.get(name)
    if (key === undefined) return undefined
    const bytes = await this.db.get(key)
    if (bytes === undefined) return undefined
    return theirStateVector === undefined ? bytes : Y.diffUpdateV2(bytes, theirStateVector)
  }

  /** Fold one document's log into a snapshot now. */
  async compact (name: DocName): Promise<void> {
    const run = this.flushing.then(async () => await this.compactNow(name))
    this.flushing = run.catch((err: unknown) => this.log.warn({ err, doc: name }, 'compaction failed'))
    await run
    await this.flush()
  }

  private enqueue (u: DocUpdate): void {
    this.enqueued++
    if (this.queuedBytes + u.update.byteLength > this.maxQueuedBytes && this.queue.length > 0) this.collapseQueue()
    this.queue.push(u)
    this.queuedBytes += u.update.byteLength
    if (this.failing === undefined) this.schedule()
  }

  /** At the queue's limit: drop the queued updates, remembering to write a snapshot of each of their documents. */
  private collapseQueue (): void {
    for (const q of this.queue) this.collapsed.add(q.doc)
    this.collapsedUpdates += this.queue.length
    this.log.warn({ updates: this.queue.length, bytes: this.queuedBytes, docs: this.collapsed.size, maxQueuedBytes: this.maxQueuedBytes },
      'unpersisted updates passed maxQueuedBytes: they will be written as document snapshots once writes succeed')
    this.queue = []
    this.queuedBytes = 0
  }

  /** Put one write of everything pending on the chain (once: later updates join that write). */
  private schedule (): void {
    if (this.writeScheduled) return
    this.writeScheduled = true
    this.flushing = this.flushing.then(async () => {
      this.writeScheduled = false
      await this.writePending()
    })
  }

  private async writePending (): Promise<void> {
    if (this.queue.length === 0 && this.collapsed.size === 0) return
    try {
      await this.writeCollapsed()
      await this.writeQueued()
    } catch (err) {
      this.writeFailed(err)
      return
    }
    const f = this.failing
    if (f !== undefined) {
      this.failing = undefined
      this.clearRetry()
      this.log.warn({ downMs: this.clock.nowMs() - f.sinceMs, attempts: f.attempts, code: f.code }, 'document updates are persisted again')
    }
  }

  private writeFailed (err: unknown): void {
    const now = this.clock.nowMs()
    const code = persistErrorCode(err)
    const pending = this.enqueued - this.durable
    const f = this.failing ?? { sinceMs: now, attempts: 0, err, code, loggedAtMs: now }
    f.attempts++
    f.err = err
    f.code = code
    if (this.failing === undefined) {
      this.log.error({ err, code, pending }, 'cannot persist document updates: they are kept in memory and written when a retry succeeds')
    } else if (now - f.loggedAtMs >= this.failureLogIntervalMs) {
      f.loggedAtMs = now
      this.log.warn({ code, pending, attempts: f.attempts, failingForMs: now - f.sinceMs }, 'still cannot persist document updates')
    }
    this.failing = f
    this.clearRetry()
    const delayMs = persistRetryDelayMs(f.attempts, this.retryMinMs, this.retryMaxMs)
    this.retryAtMs = this.clock.monoMs() + delayMs
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = undefined
      this.retryAtMs = undefined
      this.schedule()
    }, delayMs)
  }

  private clearRetry (): void {
    this.clock.clearTimer(this.retryTimer)
    this.retryTimer = undefined
    this.retryAtMs = undefined
  }

  private notDurable (): PersistenceError {
    const f = this.failing as NonNullable<DocStore['failing']>
    const pending = this.enqueued - this.durable
    return new PersistenceError(f.code, `the store cannot persist (${f.code}): ${pending} document update(s) are kept in memory and will be written once the disk can take them; not durable yet (${errorMessage(f.err)})`, { cause: f.err })
  }

  /** Snapshots of the documents whose queued updates were collapsed (they cover those updates). */
  private async writeCollapsed (): Promise<void> {
    for (const name of [...this.collapsed]) {
      await this.compactNow(name)
      this.collapsed.delete(name)
    }
    this.durable += this.collapsedUpdates
    this.collapsedUpdates = 0
  }

  /** Append the queued updates in one batch; on failure they go back to the front of the queue. */
  private async writeQueued (): Promise<void> {
    const batch = this.queue
    if (batch.length === 0) return
    const bytes = this.queuedBytes
    this.queue = []
    this.queuedBytes = 0
    const ops: Array<{ type: 'put', key: string, value: Uint8Array }> = []
    const nextSeq = new Map<DocName, number>()
    for (const u of batch) {
      const seq = nextSeq.get(u.doc) ?? this.docLog(u.doc).nextSeq
      ops.push({ type: 'put', key: `log/${u.doc}/${padSeq(seq)}`, value: u.update })
      nextSeq.set(u.doc, seq + 1)
    }
    try {
      await this.db.batch(ops as never, { sync: this.syncWrites } as never)
    } catch (err) {
      this.queue = [...batch, ...this.queue]
      this.queuedBytes += bytes
      throw err
    }
    for (const u of batch) {
      const l = this.docLog(u.doc)
      l.nextSeq++
      l.logBytes += u.update.byteLength
    }
    this.durable += batch.length
    for (const u of batch) for (const l of this.persistedListeners) l(u)
    for (const name of nextSeq.keys()) {
      const l = this.logs.get(name)
      if (l !== undefined && l.logBytes >= this.compactAfterBytes && this.state.docs.get(name) !== undefined) {
        // the updates are durable; a failed compaction only leaves the log longer (the next write tells)
        await this.compactNow(name).catch((err: unknown) => this.log.warn({ err, doc: name }, 'compaction failed'))
      }
    }
  }

  private async compactNow (name: DocName): Promise<void> {
    const doc = this.state.docs.get(name)
    if (doc === undefined) return
    const l = this.docLog(name) // a document never written yet (a collapsed queue) starts its log here
    const snapshot = Y.encodeStateAsUpdateV2(doc)
    const upTo = l.nextSeq
    const ops: Array<{ type: 'put' | 'del', key: string, value?: Uint8Array }> = [
      { type: 'put', key: `snap/${name}`, value: snapshot },
      { type: 'put', key: `snapseq/${name}`, value: enc.encode(String(upTo)) }
    ]
    for (let s = l.firstSeq; s < upTo; s++) ops.push({ type: 'del', key: `log/${name}/${padSeq(s)}` })
    await this.db.batch(ops as never, { sync: this.syncWrites } as never)
    l.firstSeq = upTo
    l.logBytes = 0
    this.log.debug({ doc: name, bytes: snapshot.byteLength }, 'compacted document log')
  }

  private docLog (name: DocName): DocLog {
    return docLogOf(this.logs, name)
  }
}

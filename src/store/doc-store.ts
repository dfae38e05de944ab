/**
 * Durable persistence of the cluster documents in LevelDB. Every update (local or remote) is
 * appended to a per-document log and written with `sync` before `onPersisted` listeners hear of
 * it — the Replicator publishes local updates from there, so nothing reaches the network that a
 * crash could lose. When a document's log passes `compactAfterBytes` it is folded into a V2
 * snapshot in one atomic batch. Retired job buckets are deleted whole and their jobs written to
 * the job history in the same batch; the final state of the last `maxRetiredFinals` of them is
 * kept, so a peer that still holds one (it was partitioned away while this node retired it) can
 * be sent that state and retire it too.
 */
import * as Y from 'yjs'
import type { Logger } from '../core/logger.js'
import { StoreError, errorMessage } from '../core/errors.js'
import { DEFAULT_COMPACT_AFTER_BYTES } from '../config/defaults.js'
import type { ClusterState } from '../state/cluster-state.js'
import { RESTORE_ORIGIN, bucketDocName, isDocName, type DocName, type DocUpdate } from '../state/docs.js'
import type { JobView } from '../state/jobs.js'
import { padSeq, type RootDb } from './level.js'
import { jobHistoryKey } from './tables.js'

export interface DocStoreInit {
  /** Log bytes of one document that trigger compaction into a snapshot. @default 4 MiB */
  compactAfterBytes?: number
  /** fsync every flush (turn off only in benchmarks). @default true */
  syncWrites?: boolean
  /** Final states of retired buckets kept for peers that still hold them; the oldest go first. @default 256 */
  maxRetiredFinals?: number
}

/** @default 256 */
export const DEFAULT_MAX_RETIRED_FINALS = 256

export interface DocStoreComponents {
  db: RootDb
  state: ClusterState
  logger: Logger
}

export interface RestoreReport {
  docs: number
  snapshots: number
  logEntries: number
  bytes: number
  retired: number
  /** Stored entries that failed to decode and were skipped (left on disk untouched). */
  corrupt: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

interface DocLog {
  nextSeq: number
  /** Sequence numbers below this are covered by the snapshot. */
  firstSeq: number
  logBytes: number
}

export class DocStore {
  private readonly db: RootDb
  private readonly state: ClusterState
  private readonly log: Logger
  private readonly compactAfterBytes: number
  private readonly syncWrites: boolean
  private readonly logs = new Map<DocName, DocLog>()
  private readonly persistedListeners = new Set<(u: DocUpdate) => void>()
  private queue: DocUpdate[] = []
  private flushing: Promise<void> = Promise.resolve()
  private unsubscribe: (() => void) | undefined
  private failure: Error | undefined
  private started = false
  private readonly maxRetiredFinals: number
  /** Retired bucket document → the LevelDB key of its final state, oldest first. */
  private readonly finals = new Map<DocName, string>()

  constructor (components: DocStoreComponents, init: DocStoreInit = {}) {
    this.db = components.db
    this.state = components.state
    this.log = components.logger.child({ component: 'doc-store' })
    this.compactAfterBytes = init.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES
    if (!Number.isInteger(this.compactAfterBytes) || this.compactAfterBytes < 1024) {
      throw new RangeError(`compactAfterBytes must be an integer ≥ 1024, got ${this.compactAfterBytes}`)
    }
    this.syncWrites = init.syncWrites ?? true
    this.maxRetiredFinals = init.maxRetiredFinals ?? DEFAULT_MAX_RETIRED_FINALS
    if (!Number.isInteger(this.maxRetiredFinals) || this.maxRetiredFinals < 0) throw new RangeError(`maxRetiredFinals must be an integer ≥ 0, got ${this.maxRetiredFinals}`)
  }

  /** Restore every document from LevelDB into the state, then start persisting its updates. */
  async start (): Promise<RestoreReport> {
    if (this.started) throw new StoreError('doc store already started')
    const report = await this.restore()
    this.unsubscribe = this.state.onUpdate(u => {
      if (u.origin !== 'restore') this.enqueue(u)
    })
    this.started = true
    return report
  }

  /** Write what is queued, then stop listening. Idempotent. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await this.flush()
    this.started = false
  }

  /** Called with each update once it is durable (in order). */
  onPersisted (listener: (u: DocUpdate) => void): () => void {
    this.persistedListeners.add(listener)
    return () => this.persistedListeners.delete(listener)
  }

  /** Resolves when everything queued so far is durable; rejects if a write failed. */
  async flush (): Promise<void> {
    await this.flushing
    if (this.failure !== undefined) throw this.failure
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
    this.flushing = this.flushing.then(async () => await this.compactNow(name))
    await this.flush()
  }

  private enqueue (u: DocUpdate): void {
    const wasEmpty = this.queue.length === 0
    this.queue.push(u)
    if (wasEmpty) {
      this.flushing = this.flushing.then(async () => await this.writeQueued()).catch((err: unknown) => {
        this.failure = new StoreError(`persisting document updates failed: ${errorMessage(err)}`, { cause: err })
        this.log.error({ err }, 'persisting document updates failed')
      })
    }
  }

  private async writeQueued (): Promise<void> {
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    const ops: Array<{ type: 'put', key: string, value: Uint8Array }> = []
    const touched = new Set<DocName>()
    for (const u of batch) {
      const l = this.docLog(u.doc)
      ops.push({ type: 'put', key: `log/${u.doc}/${padSeq(l.nextSeq)}`, value: u.update })
      l.nextSeq++
      l.logBytes += u.update.byteLength
      touched.add(u.doc)
    }
    await this.db.batch(ops as never, { sync: this.syncWrites } as never)
    for (const u of batch) for (const l of this.persistedListeners) l(u)
    for (const name of touched) {
      const l = this.logs.get(name)
      if (l !== undefined && l.logBytes >= this.compactAfterBytes && this.state.docs.get(name) !== undefined) {
        await this.compactNow(name)
      }
    }
  }

  private async compactNow (name: DocName): Promise<void> {
    const doc = this.state.docs.get(name)
    const l = this.logs.get(name)
    if (doc === undefined || l === undefined) return
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
    let l = this.logs.get(name)
    if (l === undefined) {
      l = { nextSeq: 0, firstSeq: 0, logBytes: 0 }
      this.logs.set(name, l)
    }
    return l
  }

  private async restore (): Promise<RestoreReport> {
    const report: RestoreReport = { docs: 0, snapshots: 0, logEntries: 0, bytes: 0, retired: 0, corrupt: 0 }
    const retired: string[] = []
    for await (const key of this.db.keys({ gte: 'retired/', lt: 'retired/~' })) retired.push(key.slice('retired/'.length))
    this.state.docs.markRetired(retired)
    report.retired = retired.length
    for await (const key of this.db.keys({ gte: 'final/', lt: 'final/~' })) {
      const name = key.slice('final/'.length + 17) // final/<16-digit time>/<name>
      if (isDocName(name)) this.finals.set(name, key)
    }

    const perDoc = new Map<DocName, Uint8Array[]>()
    const add = (name: string, bytes: Uint8Array): void => {
      if (!isDocName(name) || this.state.docs.isRetired(name)) return
      const list = perDoc.get(name) ?? []
      list.push(bytes)
      perDoc.set(name, list)
      report.bytes += bytes.byteLength
    }
    for await (const [key, value] of this.db.iterator({ gte: 'snapseq/', lt: 'snapseq/~' })) {
      const name = key.slice('snapseq/'.length) as DocName
      const seq = Number(dec.decode(value))
      this.logs.set(name, { nextSeq: seq, firstSeq: seq, logBytes: 0 })
    }
    for await (const [key, value] of this.db.iterator({ gte: 'snap/', lt: 'snap/~' })) {
      add(key.slice('snap/'.length), value)
      report.snapshots++
    }
    for await (const [key, value] of this.db.iterator({ gte: 'log/', lt: 'log/~' })) {
      const rest = key.slice('log/'.length)
      const cut = rest.lastIndexOf('/')
      const name = rest.slice(0, cut) as DocName
      const seq = Number(rest.slice(cut + 1))
      const l = this.docLog(name)
      if (seq < l.firstSeq) continue // covered by the snapshot (compaction interrupted before deletes)
      l.nextSeq = Math.max(l.nextSeq, seq + 1)
      l.logBytes += value.byteLength
      add(name, value)
      report.logEntries++
    }
    for (const [name, updates] of perDoc) {
      try {
        this.state.docs.apply(name, Y.mergeUpdatesV2(updates), RESTORE_ORIGIN)
      } catch (err) {
        // One bad entry must not lose the rest: apply one by one and skip what does not decode.
        this.log.warn({ doc: name, err }, 'merged restore failed, applying entries one by one')
        for (const u of updates) {
          try {
            this.state.docs.apply(name, u, RESTORE_ORIGIN)
          } catch {
            report.corrupt++
          }
        }
      }
      report.docs++
    }
    if (report.corrupt > 0) this.log.error({ corrupt: report.corrupt }, 'skipped stored document updates that do not decode')
    return report
  }
}

/**
 * Batched pulls of small files: pulls of files no larger than `maxFileBytes` (with a known size
 * and hash) queue per holder, and each transfer slot takes a batch of them — up to `maxFiles`
 * files whose sizes add up to at most the flow-control window — as one BATCH request on a
 * pooled session. The holder answers each item, in order, with a HEADER carrying the whole
 * file or a SKIP; the bytes go to the disk pool in groups, which verifies each file's sha256
 * before writing it and then writes, fsyncs and renames it with synchronous calls off the main
 * thread. Every pull still settles on its own: a skipped, corrupted or unwritable file fails
 * alone (and `pullFromAny` tries its next holder).
 *
 * Compared with one GET per file this saves a round trip and about ten event-loop hops per file
 * on each side; with 10,000 files of 100 KiB it is the difference between ~100 and several
 * hundred MiB/s (see the transfer benchmark).
 *
 * - A short queue is spread over the free slots (a job of 50 files goes as four batches of 13),
 *   so that its transfers and disk work overlap; a long queue fills batches to `maxFiles`.
 * - The slot covers the bytes on the wire; the writes finish after it is given back, while the
 *   next batch is already arriving. A new batch waits while more than `maxPendingWriteBytes`
 *   are still to be written (memory stays bounded when the disk is slower than the network).
 * - A holder that answers a BATCH with BAD_REQUEST (an older holder) gets single GETs instead,
 *   for `noBatchMs`. BUSY is waited out (bounded), as for a GET.
 */
import { sleep, type Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import { onAbort } from '../core/signals.js'
import { HashMismatchError, TransferFailedError, TransferRefusedError, type RefusalCode } from './errors.js'
import { QueueFullError, type Semaphore, type TokenBucket } from './limits.js'
import type { ClientSession, SessionPool, StreamCtx } from './client-session.js'
import { REFUSAL } from './client-session.js'
import type { DiskPool } from './disk-pool.js'
import type { WriteItem, WriteOutcome } from './disk-ops.js'
import { countsGames } from './file-info.js'
import type { NativeReceiver } from './native-recv.js'
import type { LocalHashes } from './scanner.js'
import type { PullResult } from './client.js'
import { MAX_BATCH_ITEMS, TRANSFER_VERSION, TransferFrame, TransferProtocolError, TransferRequest, encodeRequest, safeNumber } from './protocol.js'

/** Files per BATCH (sync.batchFiles; 0 = no batching). @default 64 */
export const DEFAULT_BATCH_FILES = 64
/** Largest file pulled in a batch (sync.batchMaxFileBytes); larger ones get a GET of their own. @default 1 MiB */
export const DEFAULT_BATCH_MAX_FILE_BYTES = 1024 * 1024
/** Received bytes waiting for the disk before a new batch waits. @default 64 MiB */
export const DEFAULT_MAX_PENDING_WRITE_BYTES = 64 * 1024 * 1024
/** How long a holder that refused a BATCH gets single GETs. @default 600_000 */
export const DEFAULT_NO_BATCH_MS = 600_000
/**
 * Files per disk write job, and bytes (whichever comes first). With fsync a job costs about two
 * journal commits (its files, then its renames) however many files it has, so jobs are larger.
 */
const WRITE_GROUP_FILES = 16
const WRITE_GROUP_BYTES = 1024 * 1024
const FSYNC_GROUP_FILES = 64
const FSYNC_GROUP_BYTES = 4 * 1024 * 1024
/**
 * A BATCH request's estimated size stays under this: holders before 1 MiB request frames
 * (`MAX_REQUEST_FRAME_BYTES`) read requests of at most 256 KiB.
 */
const MAX_BATCH_REQUEST_BYTES = 192 * 1024
/**
 * A short queue is spread over the transfer slots, down to this many files per batch: a sync
 * job of 50 files goes as four batches at once instead of one, so the holder's reads, the wire
 * and the target's disk work of the four overlap (the SyncPlanner runs one job at a time).
 */
const MIN_SPREAD_FILES = 8
/** Estimated bytes per item besides its path. */
const ITEM_OVERHEAD_BYTES = 96
const MIN_BUSY_WAIT_MS = 50

/** TransferFrame.Code's names by their number on the wire (declared in order, from 0). */
const CODE_NAMES = Object.values(TransferFrame.Code).filter((v): v is TransferFrame.Code => typeof v === 'string')

/** A refusal code's number on the wire as the error's code. */
function refusalOf (code: number): RefusalCode {
  const name = CODE_NAMES[code]
  return name !== undefined ? REFUSAL[name] : 'INTERNAL'
}

/** One queued pull; `settle` is its only way out. */
export interface BatchEntry {
  peer: string
  path: string
  dest: string
  sha256: string
  size: number
  signal: AbortSignal
  onProgress?: (p: { peer: string, path: string, bytesDone: number, totalBytes: number }) => void
  t0: number
  resolve: (r: BatchedResult) => void
  reject: (err: Error) => void
  /** Settled (resolved or rejected); later outcomes are ignored. */
  settled?: boolean
  /** Handed to the disk pool: it settles the entry. */
  handed?: boolean
  /** Unsubscribes from `signal`. */
  unsubscribe?: () => void
}

export interface BatchedResult {
  size: number
  sha256: string
  gameCount: number
  viaFastPath: boolean
  durationMs: number
  /** The pull went as a single GET after all (the holder does not take BATCH): its full result, already counted. */
  single?: PullResult
}

export interface BatcherStats {
  pulls: number
  bytesReceived: number
  viaFastPath: number
  hashMismatches: number
  failures: number
  busyRetries: number
}

export interface PullBatcherComponents {
  clock: Clock
  log: Logger
  slots: Semaphore
  sessions: SessionPool
  disk: DiskPool
  /** `nativeBatches`: batches the native receiver took. */
  stats: BatcherStats & { batches: number, nativeBatches: number }
  hashes?: LocalHashes
  /** The client's current stop signal. */
  stopSignal: () => AbortSignal
  /** The single-GET pull, for a holder that does not take BATCH. */
  single: (e: BatchEntry) => Promise<BatchedResult>
  /** Receives a batch in C where a session can hand its socket over (native-recv.ts); without it, or when it cannot, in JS. */
  native?: NativeReceiver
  /** The client's bandwidth cap: a batch takes its bytes before it is asked for. */
  bucket?: TokenBucket
}

export interface PullBatcherInit {
  maxFiles: number
  maxFileBytes: number
  windowBytes: number
  fsync: boolean
  maxQueued: number
  maxBusyRetries: number
  maxBusyWaitMs: number
  /** @default DEFAULT_MAX_PENDING_WRITE_BYTES */
  maxPendingWriteBytes?: number
  /** @default DEFAULT_NO_BATCH_MS */
  noBatchMs?: number
}

/** A batch could not be sent as one: its entries go single. */
class NoBatch extends Error {}

export class PullBatcher {
  private readonly queues = new Map<string, BatchEntry[]>()
  /** Peers with a driver waiting for a slot. */
  private readonly starting = new Set<string>()
  /** Peer → monotonic ms until which it gets single GETs. */
  private readonly noBatchUntil = new Map<string, number>()
  private queued = 0

  constructor (private readonly c: PullBatcherComponents, private readonly init: PullBatcherInit) {
    if (init.maxFiles > MAX_BATCH_ITEMS) throw new RangeError(`sync.batchFiles: at most ${MAX_BATCH_ITEMS}, got ${init.maxFiles}`)
  }

  /** Whether a pull of this file from `peer` goes into a batch. */
  accepts (peer: string, size: number | undefined, sha256: string | undefined): boolean {
    if (this.init.maxFiles < 2 || size === undefined || sha256 === undefined) return false
    if (size > this.init.maxFileBytes || size > this.init.windowBytes) return false
    const until = this.noBatchUntil.get(peer)
    if (until === undefined) return true
    if (this.c.clock.monoMs() < until) return false
    this.noBatchUntil.delete(peer)
    return true
  }

  /** Queue a pull; it settles through the entry's resolve/reject. Throws QueueFullError. */
  add (e: BatchEntry): void {
    e.signal.throwIfAborted()
    if (this.queued >= this.init.maxQueued) throw new QueueFullError('transfer pulls', this.init.maxQueued)
    const q = this.queues.get(e.peer) ?? []
    q.push(e)
    this.queues.set(e.peer, q)
    this.queued++
    e.unsubscribe = onAbort(e.signal, () => {
      const list = this.queues.get(e.peer)
      const i = list?.indexOf(e) ?? -1
      if (list !== undefined && i >= 0) {
        list.splice(i, 1)
        this.queued--
      }
      if (e.handed !== true) this.settle(e, e.signal.reason instanceof Error ? e.signal.reason : new TransferFailedError(e.peer, e.path, 'aborted'))
    })
    this.pump(e.peer)
  }

  /** Pulls waiting in a queue (not yet in a batch). */
  get waiting (): number {
    return this.queued
  }

  private settle (e: BatchEntry, outcome: BatchedResult | Error): void {
    if (e.settled === true) return
    e.settled = true
    e.unsubscribe?.()
    if (outcome instanceof Error) e.reject(outcome)
    else e.resolve(outcome)
  }

  /** Start a driver for `peer` unless one is already waiting for a slot. */
  private pump (peer: string): void {
    if (this.starting.has(peer) || (this.queues.get(peer)?.length ?? 0) === 0) return
    this.starting.add(peer)
    this.drive(peer).catch((err: unknown) => this.c.log.warn({ err: errorMessage(err), peer }, 'batch driver failed'))
  }

  /** Wait for the disk and a slot, take a batch, run it, give the slot back. */
  private async drive (peer: string): Promise<void> {
    const stop = this.c.stopSignal()
    try {
      await this.c.disk.below(this.init.maxPendingWriteBytes ?? DEFAULT_MAX_PENDING_WRITE_BYTES)
      await this.c.slots.acquire({ signal: stop })
    } catch {
      // stopped: the queued pulls are aborted through their own signals
      this.starting.delete(peer)
      this.pump(peer)
      return
    }
    this.starting.delete(peer)
    const batch = this.take(peer)
    this.pump(peer) // the rest waits for the next slot
    let single: BatchEntry[] = []
    try {
      if (batch.length > 0) single = await this.run(peer, batch, stop)
    } finally {
      this.c.slots.release()
    }
    for (const e of single) this.c.single(e).then(r => this.settle(e, r), (err: unknown) => this.settle(e, err instanceof Error ? err : new Error(String(err))))
    this.pump(peer)
  }

  /**
   * The next batch from `peer`'s queue: at most `maxFiles` files within the window, and no more
   * than its share of the queue when that is short (MIN_SPREAD_FILES).
   */
  private take (peer: string): BatchEntry[] {
    const q = this.queues.get(peer) ?? []
    const out: BatchEntry[] = []
    let bytes = 0
    let requestBytes = 0
    // this driver holds a slot; the others free now may each take a like share
    const share = Math.ceil(q.length / (this.c.slots.max - this.c.slots.inUse + 1))
    const maxFiles = Math.min(this.init.maxFiles, Math.max(MIN_SPREAD_FILES, share))
    while (q.length > 0 && out.length < maxFiles) {
      const e = q[0] as BatchEntry
      const reqBytes = Buffer.byteLength(e.path) + ITEM_OVERHEAD_BYTES
      if (out.length > 0 && (bytes + e.size > this.init.windowBytes || requestBytes + reqBytes > MAX_BATCH_REQUEST_BYTES)) break
      q.shift()
      this.queued--
      if (e.settled === true) continue
      out.push(e)
      bytes += e.size
      requestBytes += reqBytes
    }
    if (q.length === 0) this.queues.delete(peer)
    return out
  }

  /**
   * Send one batch on a pooled session and hand what arrives to the disk. Returns the entries
   * to pull singly instead (the holder does not take BATCH); every other entry is settled or
   * handed to the disk when this returns.
   */
  private async run (peer: string, batch: BatchEntry[], stop: AbortSignal): Promise<BatchEntry[]> {
    const ctx: StreamCtx = { peer, path: batch[0]?.path ?? '', signal: stop }
    this.c.stats.batches++
    try {
      await this.c.bucket?.take(batch.reduce((n, e) => n + e.size, 0), { signal: stop })
    } catch (err) {
      this.failRest(batch, err, peer)
      return []
    }
    for (let attempt = 0, busy = 0; ; attempt++) {
      let session: ClientSession
      let reused: boolean
      try {
        ({ session, reused } = await this.c.sessions.acquire(peer, stop))
      } catch (err) {
        this.failRest(batch, err, peer)
        return []
      }
      const state = { answered: false }
      try {
        await this.exchange(session, batch, ctx, state)
        this.c.sessions.release(session)
        return []
      } catch (err) {
        session.abort(err instanceof Error ? err : new Error(String(err)))
        if (!state.answered && err instanceof TransferRefusedError) {
          if (err.refusal === 'BUSY' && busy < this.init.maxBusyRetries && err.retryAfterMs <= this.init.maxBusyWaitMs) {
            busy++
            this.c.stats.busyRetries++
            try {
              await sleep(this.c.clock, Math.max(MIN_BUSY_WAIT_MS, err.retryAfterMs), { signal: stop })
            } catch (abortErr) {
              this.failRest(batch, abortErr, peer)
              return []
            }
            continue
          }
          if (err.refusal === 'BAD_REQUEST') {
            this.c.log.info({ peer, err: err.message }, 'holder refused a BATCH; pulling its files one GET at a time')
            this.noBatchUntil.set(peer, this.c.clock.monoMs() + (this.init.noBatchMs ?? DEFAULT_NO_BATCH_MS))
            return batch.filter(e => e.settled !== true)
          }
        }
        const stale = reused && !state.answered && !stop.aborted && !(err instanceof TransferRefusedError)
        if (stale && attempt === 0) {
          this.c.log.debug({ peer, err: errorMessage(err) }, 'idle transfer stream was dead, opening a new one')
          continue
        }
        this.failRest(batch, err, peer)
        return []
      }
    }
  }

  /** The BATCH request and its answers, one per entry, in order. */
  private async exchange (session: ClientSession, batch: BatchEntry[], ctx: StreamCtx, state: { answered: boolean }): Promise<void> {
    const peer = ctx.peer
    const credit = batch.reduce((n, e) => n + e.size, 0)
    this.c.stats.pulls += batch.length
    // taken before the request goes out, so that no answer can reach the JS reader first
    const fd = this.c.native !== undefined ? session.detachReader() : undefined
    await session.write(encodeRequest({
      op: TransferRequest.Op.BATCH,
      credit,
      items: batch.map(e => ({ path: e.path, expectedSha256: e.sha256, size: BigInt(e.size) }))
    }), ctx)
    if (fd !== undefined && this.c.native !== undefined) {
      await this.receiveNatively(this.c.native, fd, session, batch, ctx, state)
      return
    }
    let group: Array<{ e: BatchEntry, data: Uint8Array }> = []
    let groupBytes = 0
    const flush = (): void => {
      if (group.length > 0) this.commit(peer, group, session.onSide)
      group = []
      groupBytes = 0
    }
    try {
      for (const e of batch) {
        const f = await session.read({ ...ctx, path: e.path })
        state.answered = true
        if (f.kind === TransferFrame.Kind.SKIP) {
          this.settle(e, new TransferRefusedError(peer, e.path, REFUSAL[f.code], f.message))
          continue
        }
        if (f.kind !== TransferFrame.Kind.HEADER) throw new TransferProtocolError(peer, `expected HEADER or SKIP in a batch, got ${f.kind}`)
        if (safeNumber(f.size, peer, 'size') !== e.size || safeNumber(f.offset, peer, 'offset') !== 0 || f.data.byteLength !== e.size) {
          throw new TransferProtocolError(peer, `batch item ${e.path}: ${f.data.byteLength} bytes of ${f.size} at ${f.offset}, expected ${e.size} at 0`)
        }
        if (f.sha256 !== e.sha256) {
          this.settle(e, new TransferRefusedError(peer, e.path, 'CHANGED', 'holder has another version'))
          continue
        }
        if (e.settled === true) continue // aborted meanwhile: the bytes are dropped
        e.handed = true
        group.push({ e, data: f.data })
        groupBytes += e.size
        if (group.length >= (this.init.fsync ? FSYNC_GROUP_FILES : WRITE_GROUP_FILES) || groupBytes >= (this.init.fsync ? FSYNC_GROUP_BYTES : WRITE_GROUP_BYTES)) flush()
      }
    } finally {
      flush() // what arrived intact is written even when the rest broke off
    }
  }

  /**
   * The native receiver reads this batch's answers and places the files (native-recv.ts); each
   * answered entry settles from its outcome, as from the disk pool's. An exchange that broke off
   * throws as the JS reader would (the entries not answered are then failed by the caller); a
   * clean one gives the socket back to the session.
   */
  private async receiveNatively (native: NativeReceiver, fd: number, session: ClientSession, batch: BatchEntry[], ctx: StreamCtx, state: { answered: boolean }): Promise<void> {
    const peer = ctx.peer
    this.c.stats.nativeBatches++
    const r = await native.receive(fd, batch.map(e => ({ dest: e.dest, size: e.size, sha256: e.sha256, countLines: countsGames(e.path) })), {
      fsync: this.init.fsync, maxFrameBytes: session.maxFrameBytes, idleTimeoutMs: session.idleTimeoutMs, version: TRANSFER_VERSION
    }, ctx.signal)
    state.answered = r.answered > 0
    batch.forEach((e, i) => {
      const o = r.outcomes[i]
      switch (o?.kind) {
        case 'ok': this.placed(peer, e, { ok: true, sha256: o.sha256, gameCount: o.gameCount, size: o.size, mtimeMs: o.mtimeMs }, true); break
        case 'mismatch': this.placed(peer, e, { ok: false, code: 'HASH_MISMATCH', sha256: o.sha256 }, true); break
        case 'io': this.placed(peer, e, { ok: false, code: 'IO', message: o.message }, true); break
        case 'skip': this.settle(e, new TransferRefusedError(peer, e.path, refusalOf(o.code), o.message)); break
        case 'changed': this.settle(e, new TransferRefusedError(peer, e.path, 'CHANGED', 'holder has another version')); break
        default: break // not answered: the caller fails it
      }
    })
    if (r.status === 'ok') {
      session.resumeReader()
      return
    }
    const path = batch[r.answered]?.path ?? ctx.path
    switch (r.status) {
      case 'error-frame': throw new TransferRefusedError(peer, path, refusalOf(r.code), r.message, r.retryAfterMs)
      case 'protocol': throw new TransferProtocolError(peer, `batch item ${path}: ${r.message}`)
      case 'eof': throw new TransferFailedError(peer, path, 'the holder closed the stream')
      case 'timeout': throw new TransferFailedError(peer, path, `nothing received for ${session.idleTimeoutMs} ms`)
      case 'cancelled': throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new TransferFailedError(peer, path, 'aborted')
      default: throw new TransferFailedError(peer, path, r.message)
    }
  }

  /** Settle an entry whose file the disk work verified and placed, or did not. */
  private placed (peer: string, e: BatchEntry, o: WriteOutcome | undefined, viaFastPath: boolean): void {
    if (o?.ok === true) {
      this.c.hashes?.remember({ path: e.path, size: o.size, mtimeMs: o.mtimeMs, sha256: o.sha256, gameCount: o.gameCount })
      if (viaFastPath) this.c.stats.viaFastPath++
      e.onProgress?.({ peer, path: e.path, bytesDone: e.size, totalBytes: e.size })
      this.settle(e, { size: o.size, sha256: o.sha256, gameCount: o.gameCount, viaFastPath, durationMs: this.c.clock.monoMs() - e.t0 })
    } else {
      this.c.stats.failures++
      if (o?.code === 'HASH_MISMATCH') {
        this.c.stats.hashMismatches++
        this.settle(e, new HashMismatchError(peer, e.path, e.sha256, o.sha256))
      } else {
        this.settle(e, new TransferFailedError(peer, e.path, `write: ${o?.message ?? 'no outcome'}`))
      }
    }
  }

  /** Verify and place a group of received files on the disk pool; settles each entry. */
  private commit (peer: string, group: Array<{ e: BatchEntry, data: Uint8Array }>, viaFastPath: boolean): void {
    const items: WriteItem[] = group.map(({ e, data }) => ({ dest: e.dest, relPath: e.path, data, expectedSha256: e.sha256 }))
    this.c.disk.write(items, this.init.fsync).then(outcomes => {
      group.forEach(({ e }, i) => this.placed(peer, e, outcomes[i], viaFastPath))
    }, (err: unknown) => {
      for (const { e } of group) {
        this.c.stats.failures++
        this.settle(e, new TransferFailedError(peer, e.path, `write: ${errorMessage(err)}`, { cause: err }))
      }
    })
  }

  /** Fail every entry not yet settled or handed to the disk. */
  private failRest (batch: BatchEntry[], err: unknown, peer: string): void {
    for (const e of batch) {
      if (e.settled === true || e.handed === true) continue
      this.c.stats.failures++
      let error: Error
      if (e.signal.aborted) error = e.signal.reason instanceof Error ? e.signal.reason : new TransferFailedError(peer, e.path, 'aborted')
      else if (err instanceof TransferRefusedError) error = new TransferRefusedError(peer, e.path, err.refusal, `the batch was refused: ${err.message}`, err.retryAfterMs)
      else if (err instanceof TransferFailedError && err.path === e.path) error = err
      else error = new TransferFailedError(peer, e.path, errorMessage(err), { cause: err })
      this.settle(e, error)
    }
  }
}

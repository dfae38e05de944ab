/**
 * The holder's side of `/riftmesh/transfer/1.0.0`: serves files of its current scan (the
 * `FileCatalog`) and pages of that listing. It refuses — with an ERROR frame, counted against
 * the peer in `DropCounters` (reason `protocol`) and in `stats.refused` — a path that is not
 * canonical or leaves the data dir (also through a symlink), a file not in its listing, a
 * malformed request, and a peer over its budget (requests per minute, concurrent streams) or
 * over the global stream cap (BUSY, with a retry hint). A file that changed on disk since the
 * scan, or whose hash differs from the one the target asks for, is refused as CHANGED (not
 * counted: an honest race).
 */
import type { Stats } from 'node:fs'
import { realpath, type FileHandle } from 'node:fs/promises'
import { timeoutSignal, type Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import type { DropCounters } from '../mesh/drops.js'
import type { FrameStream, Mesh } from '../mesh/mesh.js'
import { PathRefusedError, type RefusalCode } from './errors.js'
import { checkTransferable, openInside } from './paths.js'
import { PeerBudget, intInRange } from './limits.js'
import type { FileCatalog, ScannedFile } from './scanner.js'
import { FastPathError, FastPathListener, SealedFrameStream, type FastPathListenerInit } from './fast-path.js'
import { loadNativeSender, type NativeSender, type NativeSendResult } from './native-send.js'
import { nativeOrLogged } from './native-batch.js'
import { ChunkReader } from './chunk-reader.js'
import { listPage } from './listing.js'
import { DiskPool } from './disk-pool.js'
import { recycle } from './owned-buffers.js'
import type { ReadItem, ReadOutcome } from './disk-ops.js'
import {
  MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_PAGE_ENTRIES, MAX_PAGE_FRAME_BYTES, MAX_REQUEST_FRAME_BYTES, TRANSFER_PROTOCOL, TRANSFER_VERSION, TransferFrame, TransferProtocolError,
  TransferRequest, decodeRequest, encodeFrame, errorFrame, frameWithDataParts, safeNumber, skipFrame
} from './protocol.js'

/** Bytes per CHUNK frame (sync.chunkBytes). @default 1 MiB */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024
/** Requests one peer may start per minute. @default 600 */
export const DEFAULT_REQUESTS_PER_MINUTE = 600
/** Streams one peer may have open at once (twice a target's default concurrency). @default 8 */
export const DEFAULT_MAX_CONCURRENT_PER_PEER = 8
/** Streams open at once, all peers. @default 32 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 32
/** A stream on which the peer neither reads nor writes for this long is dropped. @default 30_000 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000
/** Entries per PAGE. @default 1_000 */
export const DEFAULT_LIST_PAGE_ENTRIES = 1_000
/** Estimated bytes per PAGE (path + 128 per entry). @default 256 KiB */
export const DEFAULT_LIST_PAGE_BYTES = 256 * 1024
/** A stream with no new request for this long is closed (its slot freed). @default 10_000 */
export const DEFAULT_SESSION_IDLE_MS = 10_000
/** LIST requests on one stream. @default 1_000 */
export const DEFAULT_MAX_LIST_REQUESTS_PER_STREAM = 1_000
/** Peers whose budget is tracked. @default 1_024 */
export const DEFAULT_MAX_BUDGET_PEERS = 1_024
/** Largest credit a holder accounts (a bigger grant is clamped). */
const MAX_CREDIT_BYTES = 1024 * 1024 * 1024
/** BATCH: files per disk-worker read job, and bytes (whichever comes first). */
const READ_JOB_FILES = 16
const READ_JOB_BYTES = 1024 * 1024
/** BATCH: read jobs in flight per batch, ahead of what is being sent. */
const READ_JOBS_AHEAD = 3

export interface TransferServerInit {
  dataDir: string
  /** @default DEFAULT_CHUNK_BYTES */
  chunkBytes?: number
  /** @default DEFAULT_REQUESTS_PER_MINUTE */
  requestsPerMinute?: number
  /** @default DEFAULT_MAX_CONCURRENT_PER_PEER */
  maxConcurrentPerPeer?: number
  /** @default DEFAULT_MAX_CONCURRENT_STREAMS */
  maxConcurrentStreams?: number
  /** @default DEFAULT_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** @default DEFAULT_SESSION_IDLE_MS */
  sessionIdleMs?: number
  /** @default DEFAULT_LIST_PAGE_ENTRIES */
  listPageEntries?: number
  /** @default DEFAULT_LIST_PAGE_BYTES */
  listPageBytes?: number
  /** @default DEFAULT_MAX_LIST_REQUESTS_PER_STREAM */
  maxListRequestsPerStream?: number
  /** @default DEFAULT_MAX_BUDGET_PEERS */
  maxBudgetPeers?: number
  /** The TCP side channel; omitted: off (every byte goes through libp2p). @default undefined */
  fastPath?: FastPathListenerInit
  /** Worker threads reading BATCH files (0: on the main thread). @default DEFAULT_DISK_THREADS */
  diskThreads?: number
  /** Serve BATCH requests; false answers them BAD_REQUEST, as a holder from before BATCH did (tests of mixed versions). @default true */
  acceptBatch?: boolean
  /** Send batches on a plain side channel in C (native-send.ts) where the addon loads. @default true */
  nativeSend?: boolean
}

export interface TransferServerComponents {
  mesh: Mesh
  catalog: FileCatalog
  clock: Clock
  logger: Logger
  drops: DropCounters
}

export interface TransferServerStats {
  /** Streams opened to this holder. */
  streams: number
  /** GET, BATCH and LIST requests. */
  requests: number
  /** BATCH requests (also in `requests`). */
  batches: number
  /** BATCH requests answered by the native sender (also in `batches`). */
  nativeBatches: number
  /** Files served (by GET or in a BATCH). */
  served: number
  bytesServed: number
  /** Files served on a side channel. */
  servedFastPath: number
  /** Sessions moved to a side channel. */
  sideSessions: number
  listPages: number
  refused: Record<RefusalCode, number>
}

/** A request that ends with an ERROR frame (and the stream). */
class Refusal extends Error {
  constructor (readonly code: RefusalCode, message: string, readonly counted: boolean, readonly retryAfterMs = 0) {
    super(message)
    this.name = 'Refusal'
  }
}

const FILE_CHANGED = 'the file changed since the last scan'

/** A BATCH item: refused, or the listed entry and its read (in read job `job`). */
type BatchPlan = Refusal | { entry: ScannedFile, job: number, read: ReadItem }

export class TransferServer {
  private readonly log: Logger
  private readonly budget: PeerBudget
  private readonly fast: FastPathListener | undefined
  private controller: AbortController | undefined
  private registered = false
  private rootReal = ''
  private disk: DiskPool | undefined
  private native: NativeSender | undefined
  private open = 0
  readonly chunkBytes: number
  private readonly maxConcurrentStreams: number
  private readonly maxConcurrentPerPeer: number
  private readonly idleTimeoutMs: number
  private readonly sessionIdleMs: number
  private readonly listPageEntries: number
  private readonly listPageBytes: number
  private readonly maxListRequests: number
  readonly stats: TransferServerStats = {
    streams: 0, requests: 0, batches: 0, nativeBatches: 0, served: 0, bytesServed: 0, servedFastPath: 0, sideSessions: 0, listPages: 0,
    refused: { NOT_FOUND: 0, BAD_PATH: 0, BUSY: 0, CHANGED: 0, BAD_REQUEST: 0, INTERNAL: 0 }
  }

  constructor (private readonly components: TransferServerComponents, private readonly init: TransferServerInit) {
    this.log = components.logger.child({ component: 'transfer-server' })
    this.chunkBytes = intInRange('sync.chunkBytes', init.chunkBytes ?? DEFAULT_CHUNK_BYTES, 1024, 16 * 1024 * 1024)
    this.maxConcurrentStreams = intInRange('transfer.maxConcurrentStreams', init.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS, 1, 4096)
    this.maxConcurrentPerPeer = intInRange('transfer.maxConcurrentPerPeer', init.maxConcurrentPerPeer ?? DEFAULT_MAX_CONCURRENT_PER_PEER, 1, 256)
    const requestsPerMinute = intInRange('transfer.requestsPerMinute', init.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE, 1, 1_000_000)
    this.idleTimeoutMs = intInRange('transfer.idleTimeoutMs', init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 1, 3_600_000)
    this.sessionIdleMs = intInRange('transfer.sessionIdleMs', init.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS, 1, 3_600_000)
    this.listPageEntries = intInRange('transfer.listPageEntries', init.listPageEntries ?? DEFAULT_LIST_PAGE_ENTRIES, 1, MAX_PAGE_ENTRIES)
    this.listPageBytes = intInRange('transfer.listPageBytes', init.listPageBytes ?? DEFAULT_LIST_PAGE_BYTES, 4096, MAX_PAGE_FRAME_BYTES / 2)
    this.maxListRequests = intInRange('transfer.maxListRequestsPerStream', init.maxListRequestsPerStream ?? DEFAULT_MAX_LIST_REQUESTS_PER_STREAM, 1, 1_000_000)
    const maxPeers = intInRange('transfer.maxBudgetPeers', init.maxBudgetPeers ?? DEFAULT_MAX_BUDGET_PEERS, 1, 1_000_000)
    this.budget = new PeerBudget(components.clock, { requestsPerMinute, maxConcurrentPerPeer: this.maxConcurrentPerPeer, maxPeers })
    this.fast = init.fastPath !== undefined ? new FastPathListener({ clock: components.clock, logger: components.logger }, init.fastPath) : undefined
  }

  /** The native batch sender when it is wanted, there is a side channel, and it loads (logged either way). */
  private nativeSender (): NativeSender | undefined {
    if (this.init.nativeSend === false || this.fast === undefined) return undefined
    return nativeOrLogged(loadNativeSender(), this.log, 'sent')
  }

  /** Port of the fast-path listener (0 when off or not started). */
  get fastPathPort (): number {
    return this.fast?.port ?? 0
  }

  /** Streams being served now. */
  get openStreams (): number {
    return this.open
  }

  async start (): Promise<void> {
    if (this.controller !== undefined) return
    const controller = new AbortController()
    this.rootReal = await realpath(this.init.dataDir)
    this.disk = new DiskPool({ rootReal: this.rootReal, ...(this.init.diskThreads !== undefined ? { threads: this.init.diskThreads } : {}) })
    this.native = this.nativeSender()
    await this.fast?.start()
    try {
      if (!this.registered) {
        // well above the per-peer cap, so a target that opens more sessions than the cap gets a
        // BUSY answer it waits out, not a stream reset it takes for a broken transfer
        await this.components.mesh.handle(TRANSFER_PROTOCOL, async (stream, peer) => await this.onStream(stream, peer), {
          maxFrameBytes: MAX_REQUEST_FRAME_BYTES,
          maxInboundStreams: 4 * this.maxConcurrentPerPeer + 2
        })
        this.registered = true
      }
    } catch (err) {
      await this.fast?.stop()
      throw err
    }
    this.controller = controller
  }

  async stop (): Promise<void> {
    const controller = this.controller
    if (controller === undefined) return
    this.controller = undefined
    controller.abort(new Error('transfer server stopped'))
    await this.fast?.stop()
    await this.disk?.close()
    this.disk = undefined
  }

  private async onStream (stream: FrameStream, peer: string): Promise<void> {
    const signal = this.controller?.signal
    if (signal === undefined) {
      stream.abort(new Error('transfer server stopped'))
      return
    }
    this.stats.streams++
    if (this.open >= this.maxConcurrentStreams) {
      await this.refuse(stream, peer, new Refusal('BUSY', 'too many transfers on this holder', false, 1_000), signal)
      return
    }
    const verdict = this.budget.admit(peer)
    if (!verdict.ok) {
      await this.refuse(stream, peer, new Refusal('BUSY', `over the per-peer ${verdict.why} budget`, true, verdict.retryAfterMs), signal)
      return
    }
    this.open++
    // the session's frames travel on `frames`: this stream, or the side channel it set up
    let frames = stream
    try {
      let first = await this.readRequest(stream, peer, signal)
      if (first?.op === TransferRequest.Op.SIDE) {
        const side = await this.setUpSide(stream, peer, signal)
        frames = side.frames
        first = side.next
      }
      if (first === undefined) return
      const onSide = frames !== stream
      if (first.op === TransferRequest.Op.LIST) await this.serveList(frames, peer, first, signal)
      else if (first.op === TransferRequest.Op.GET || first.op === TransferRequest.Op.BATCH) await this.serveGets(frames, peer, first, onSide, signal)
      else throw new Refusal('BAD_REQUEST', `a session cannot start with ${first.op}`, true)
      await this.close(frames, signal)
    } catch (err) {
      if (err instanceof Refusal) await this.refuse(frames, peer, err, signal)
      else if (err instanceof TransferProtocolError) frames.abort(err) // counted when decoded
      else if (frames !== stream) frames.abort(err instanceof Error ? err : new Error(String(err)))
      else throw err // the mesh resets the stream and logs it at debug
    } finally {
      if (frames !== stream) {
        frames.abort(new Error('transfer session over')) // a no-op when it was closed above
        await this.close(stream, signal).catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))))
      }
      this.open--
      verdict.release()
    }
  }

  /**
   * SIDE: offer the side channel. Returns the frames to run the session on — the sealed side
   * channel when the target connected, else this stream — and the session's first request.
   */
  private async setUpSide (stream: FrameStream, peer: string, signal: AbortSignal): Promise<{ frames: FrameStream, next: TransferRequest | undefined }> {
    const offer = this.fast?.offer()
    await this.write(stream, encodeFrame({
      kind: TransferFrame.Kind.SIDE,
      ...(offer !== undefined ? { fastPort: this.fast?.port ?? 0, fastToken: offer.token as Uint8Array<ArrayBuffer>, fastKey: offer.key as Uint8Array<ArrayBuffer> } : {})
    }), signal)
    if (offer === undefined) return { frames: stream, next: await this.readRequest(stream, peer, signal) }
    let answer: TransferRequest | undefined
    try {
      answer = await this.readRequest(stream, peer, signal)
    } finally {
      if (answer?.op !== TransferRequest.Op.SIDE || !answer.fastPath) offer.cancel()
    }
    if (answer?.op !== TransferRequest.Op.SIDE || !answer.fastPath) return { frames: stream, next: answer } // it stays on this stream
    const socket = await offer.accepted // at the latest when the token expires
    if (socket === undefined) throw new Refusal('BAD_REQUEST', 'side channel announced but never connected', true)
    this.stats.sideSessions++
    const frames = new SealedFrameStream(socket, offer.key, 'holder', MAX_REQUEST_FRAME_BYTES)
    try {
      return { frames, next: await this.readRequest(frames, peer, signal) }
    } catch (err) {
      frames.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  /** GET or BATCH, one after another on one session, until the target closes it or is idle for `sessionIdleMs`. */
  private async serveGets (stream: FrameStream, peer: string, first: TransferRequest, onSide: boolean, signal: AbortSignal): Promise<void> {
    for (let req: TransferRequest | undefined = first, n = 0; req !== undefined; req = await this.readRequest(stream, peer, signal, this.sessionIdleMs)) {
      if (req.op === TransferRequest.Op.CREDIT) continue // credit left over from the previous file
      if (req.op !== TransferRequest.Op.GET && req.op !== TransferRequest.Op.BATCH) throw new Refusal('BAD_REQUEST', `expected GET or BATCH, got ${req.op}`, true)
      if (req.op === TransferRequest.Op.BATCH && this.init.acceptBatch === false) throw new Refusal('BAD_REQUEST', 'BATCH is not served here', true)
      if (n++ > 0) {
        const waitMs = this.budget.charge(peer)
        if (waitMs > 0) throw new Refusal('BUSY', 'over the per-peer rate budget', true, waitMs)
      }
      this.stats.requests++
      if (req.op === TransferRequest.Op.BATCH) {
        const served = await this.serveBatch(stream, peer, req, signal)
        if (onSide) this.stats.servedFastPath += served
        continue
      }
      if (!await this.serveGet(stream, peer, req, signal)) return
      if (onSide) this.stats.servedFastPath++
    }
  }

  /**
   * One BATCH: for each item, in order, a HEADER carrying the whole file or a SKIP saying why
   * not (the session goes on). The files are read on the disk workers a few jobs ahead of what
   * is being sent. The items' sizes must add up to at most the request's credit. Returns the
   * files served.
   */
  private async serveBatch (stream: FrameStream, peer: string, req: TransferRequest, signal: AbortSignal): Promise<number> {
    const disk = this.disk
    if (disk === undefined) throw new Refusal('INTERNAL', 'transfer server stopped', false)
    if (req.items.length === 0 || req.items.length > MAX_BATCH_ITEMS) throw new Refusal('BAD_REQUEST', `a batch has 1..${MAX_BATCH_ITEMS} items, got ${req.items.length}`, true)
    let total = 0
    for (const item of req.items) total += Number(item.size)
    if (total > Math.min(req.credit, MAX_BATCH_BYTES)) throw new Refusal('BAD_REQUEST', `batch of ${total} bytes is over its credit ${req.credit} (at most ${MAX_BATCH_BYTES})`, true)
    this.stats.batches++
    // each item: a refusal now, or the read it waits for
    const plan = req.items.map(item => this.checkBatchItem(peer, item))
    const fd = this.native !== undefined && stream instanceof SealedFrameStream ? stream.detachWriter() : undefined
    if (fd !== undefined && this.native !== undefined && stream instanceof SealedFrameStream) return await this.sendNatively(this.native, fd, stream, peer, plan, signal)
    const jobs: Array<{ first: number, items: ReadItem[] }> = []
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i]
      if (p === undefined || p instanceof Refusal) continue
      const last = jobs.at(-1)
      const lastBytes = last?.items.reduce((n, x) => n + x.size, 0) ?? 0
      if (last === undefined || last.items.length >= READ_JOB_FILES || lastBytes + p.read.size > READ_JOB_BYTES) jobs.push({ first: i, items: [p.read] })
      else last.items.push(p.read)
      p.job = jobs.length - 1
    }
    const reads: Array<Promise<ReadOutcome[]> | undefined> = jobs.map(() => undefined)
    const startRead = (j: number): void => {
      const job = jobs[j]
      if (job === undefined || reads[j] !== undefined) return
      const r = disk.read(job.items)
      r.catch(() => undefined) // awaited below; not unhandled when the batch ends first
      reads[j] = r
    }
    for (let j = 0; j < READ_JOBS_AHEAD; j++) startRead(j)
    let served = 0
    const seen = new Map<number, number>() // job → items of it taken so far
    for (let i = 0; i < plan.length; i++) {
      signal.throwIfAborted()
      const p = plan[i] as BatchPlan
      if (p instanceof Refusal) {
        await this.skip(stream, peer, p, signal)
        continue
      }
      startRead(p.job + READ_JOBS_AHEAD - 1)
      let outcome: ReadOutcome
      try {
        const k = seen.get(p.job) ?? 0
        seen.set(p.job, k + 1)
        outcome = ((await reads[p.job]) as ReadOutcome[])[k] as ReadOutcome
      } catch (err) {
        outcome = { ok: false, code: 'INTERNAL', message: errorMessage(err) }
      }
      if (!outcome.ok) {
        await this.skip(stream, peer, new Refusal(outcome.code, outcome.message, outcome.code === 'BAD_PATH'), signal)
        continue
      }
      const e = p.entry
      const data = outcome.data
      // the read went into a recycled buffer (DiskPool.read): back to the pool once sent
      await this.writeWithData(stream, {
        kind: TransferFrame.Kind.HEADER, size: BigInt(e.size), mtimeMs: BigInt(e.mtimeMs), sha256: e.sha256, offset: 0n
      }, data, signal, () => recycle(data.buffer as ArrayBuffer))
      this.stats.bytesServed += e.size
      this.stats.served++
      served++
    }
    return served
  }

  /**
   * The native sender answers this batch on the side channel's socket (native-send.ts): the
   * refused items as their SKIP frames, each listed file as a HEADER and its bytes, checked as
   * the disk workers check them. Counts what it served and refused; an exchange that broke off
   * ends the session (a frame may be half sent). Returns the files served.
   */
  private async sendNatively (native: NativeSender, fd: number, stream: SealedFrameStream, peer: string, plan: BatchPlan[], signal: AbortSignal): Promise<number> {
    this.stats.nativeBatches++
    const items = plan.map(p => p instanceof Refusal
      ? { skip: skipFrame(p.code, p.message) }
      : { path: p.read.full, size: p.read.size, mtimeMs: p.read.mtimeMs, sha256: p.entry.sha256 })
    for (const p of plan) if (p instanceof Refusal) this.count(peer, p, 'batch item refused')
    let r: NativeSendResult
    try {
      r = await native.send(fd, items, { rootReal: this.rootReal, idleTimeoutMs: this.idleTimeoutMs, version: TRANSFER_VERSION }, signal)
    } finally {
      stream.resumeWriter() // the addon's thread is done with the socket once the promise settles
    }
    for (const o of r.outcomes) if (o.kind === 'refused') this.count(peer, new Refusal(o.code, o.message, o.code === 'BAD_PATH'), 'batch item refused')
    this.stats.served += r.served
    this.stats.bytesServed += r.bytes
    if (r.status !== 'ok') throw new FastPathError(`the native batch sender stopped (${r.status}${r.message !== '' ? `: ${r.message}` : ''})`)
    return r.served
  }

  /** A BATCH item checked against the path rules and the listing: a refusal, or what to read. */
  private checkBatchItem (peer: string, item: TransferRequest['items'][number]): BatchPlan {
    let full: string
    try {
      full = checkTransferable(this.init.dataDir, item.path)
    } catch (err) {
      if (err instanceof PathRefusedError) return new Refusal('BAD_PATH', err.reason, true)
      throw err
    }
    const entry = this.components.catalog.lookup(item.path)
    if (entry === undefined) return new Refusal('NOT_FOUND', 'not in the manifest', true)
    if ((item.expectedSha256 !== '' && item.expectedSha256 !== entry.sha256) || BigInt(entry.size) !== item.size) {
      return new Refusal('CHANGED', 'the holder has another version', false)
    }
    return { entry, job: -1, read: { full, size: entry.size, mtimeMs: entry.mtimeMs } }
  }

  /** SKIP one BATCH item (counted like a refusal, but the session goes on). */
  private async skip (stream: FrameStream, peer: string, r: Refusal, signal: AbortSignal): Promise<void> {
    this.count(peer, r, 'batch item refused')
    await this.write(stream, skipFrame(r.code, r.message), signal)
  }

  /** A refusal in the stats, against the peer when it is the peer's fault, and in the log. */
  private count (peer: string, r: Refusal, what: string): void {
    this.stats.refused[r.code]++
    if (r.counted) this.components.drops.record(peer, 'protocol', `transfer ${r.code}: ${r.message.slice(0, 120)}`)
    this.log.debug({ peer, code: r.code, reason: r.message }, what)
  }

  private async close (stream: FrameStream, signal: AbortSignal): Promise<void> {
    const deadline = timeoutSignal(this.components.clock, this.idleTimeoutMs, signal)
    try {
      await stream.close({ signal: deadline.signal })
    } finally {
      deadline.clear()
    }
  }

  private async refuse (stream: FrameStream, peer: string, r: Refusal, signal: AbortSignal): Promise<void> {
    this.count(peer, r, 'transfer refused')
    const deadline = timeoutSignal(this.components.clock, this.idleTimeoutMs, signal)
    try {
      await stream.write(errorFrame(r.code, r.message, r.retryAfterMs), { signal: deadline.signal })
      await stream.close({ signal: deadline.signal })
    } catch (err) {
      this.log.debug({ err: errorMessage(err), peer }, 'could not send the refusal')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      deadline.clear()
    }
  }

  /**
   * The next request frame, within `idleMs`. Undefined when the peer closed — or, when
   * `idleMs` is the session's idle time, when nothing came in time (the session just ends).
   */
  private async readRequest (stream: FrameStream, peer: string, signal: AbortSignal, idleMs?: number): Promise<TransferRequest | undefined> {
    const deadline = timeoutSignal(this.components.clock, idleMs ?? this.idleTimeoutMs, signal)
    try {
      const bytes = await stream.read({ signal: deadline.signal })
      return bytes === undefined ? undefined : decodeRequest(bytes, peer, this.components.drops)
    } catch (err) {
      if (idleMs !== undefined && deadline.signal.aborted && !signal.aborted) return undefined
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') this.components.drops.record(peer, 'oversized', 'transfer request')
      throw err
    } finally {
      deadline.clear()
    }
  }

  private async write (stream: FrameStream, frame: Uint8Array, signal: AbortSignal): Promise<void> {
    const deadline = timeoutSignal(this.components.clock, this.idleTimeoutMs, signal)
    try {
      await stream.write(frame, { signal: deadline.signal })
    } finally {
      deadline.clear()
    }
  }

  /** A frame with `data` (HEADER or CHUNK); on the side channel without copying `data` into the frame. */
  /** `done`: called once `data`'s memory is no longer used here (it may then be reused). */
  private async writeWithData (stream: FrameStream, fields: Partial<TransferFrame>, data: Uint8Array | undefined, signal: AbortSignal, done?: () => void): Promise<void> {
    if (data === undefined || data.byteLength === 0) {
      done?.()
      await this.write(stream, encodeFrame(fields), signal)
      return
    }
    if (!(stream instanceof SealedFrameStream)) {
      const frame = encodeFrame({ ...fields, data: data as Uint8Array<ArrayBuffer> }) // a copy
      done?.()
      await this.write(stream, frame, signal)
      return
    }
    const deadline = timeoutSignal(this.components.clock, this.idleTimeoutMs, signal)
    try {
      await stream.writeParts(frameWithDataParts(fields, data), { signal: deadline.signal, onWritten: done })
    } finally {
      deadline.clear()
    }
  }

  /** The listed file `path` opened for reading, checked against its listing. */
  private async openListed (path: string, expectedSha256: string): Promise<{ fh: FileHandle, entry: ScannedFile }> {
    try {
      checkTransferable(this.init.dataDir, path)
    } catch (err) {
      if (err instanceof PathRefusedError) throw new Refusal('BAD_PATH', err.reason, true)
      throw err
    }
    const entry = this.components.catalog.lookup(path)
    if (entry === undefined) throw new Refusal('NOT_FOUND', 'not in the manifest', true)
    if (expectedSha256 !== '' && expectedSha256 !== entry.sha256) throw new Refusal('CHANGED', 'the holder has another version', false)
    let fh: FileHandle
    try {
      fh = await openInside(this.init.dataDir, path, this.rootReal)
    } catch (err) {
      if (err instanceof PathRefusedError) throw new Refusal('BAD_PATH', err.reason, true)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Refusal('CHANGED', 'deleted since the last scan', false)
      throw new Refusal('INTERNAL', `open: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, false)
    }
    let st: Stats
    try {
      st = await fh.stat()
    } catch (err) {
      await fh.close()
      throw new Refusal('INTERNAL', `stat: ${errorMessage(err)}`, false)
    }
    if (!st.isFile() || st.size !== entry.size || Math.floor(st.mtimeMs) !== entry.mtimeMs) {
      await fh.close()
      throw new Refusal('CHANGED', FILE_CHANGED, false)
    }
    return { fh, entry }
  }

  /** One GET: HEADER, CHUNK frames within the credit, END. False when the target left midway. */
  private async serveGet (stream: FrameStream, peer: string, req: TransferRequest, signal: AbortSignal): Promise<boolean> {
    let offset: number
    try {
      offset = safeNumber(req.offset, peer, 'offset')
    } catch {
      throw new Refusal('BAD_REQUEST', 'offset out of range', true)
    }
    const { fh, entry } = await this.openListed(req.path, req.expectedSha256)
    try {
      if (offset > entry.size) throw new Refusal('BAD_REQUEST', `offset ${offset} past the end (${entry.size})`, true)
      const reader = new ChunkReader(fh, offset, entry.size, this.chunkBytes, () => new Refusal('CHANGED', FILE_CHANGED, false))
      // the HEADER carries the first chunk: a file that fits in it is one frame, with no END
      let credit = Math.min(req.credit, MAX_CREDIT_BYTES)
      const first = !reader.done && credit > 0 ? await reader.next(credit) : undefined
      const header: Partial<TransferFrame> = {
        kind: TransferFrame.Kind.HEADER, size: BigInt(entry.size), mtimeMs: BigInt(entry.mtimeMs), sha256: entry.sha256, offset: BigInt(offset)
      }
      await this.writeWithData(stream, header, first?.data, signal, first?.release)
      credit -= first?.data.byteLength ?? 0
      this.stats.bytesServed += first?.data.byteLength ?? 0
      if (offset + (first?.data.byteLength ?? 0) < entry.size) {
        if (!await this.sendChunks(stream, peer, reader, credit, signal)) return false
        await this.write(stream, encodeFrame({ kind: TransferFrame.Kind.END }), signal)
      }
      this.stats.served++
      return true
    } finally {
      await fh.close()
    }
  }

  /**
   * CHUNK frames for `[offset, size)` within the target's credit, reading one chunk ahead (the
   * first read starts before the HEADER goes out). False when the target left first.
   */
  private async sendChunks (stream: FrameStream, peer: string, reader: ChunkReader, initialCredit: number, signal: AbortSignal): Promise<boolean> {
    let credit = Math.min(initialCredit, MAX_CREDIT_BYTES)
    while (!reader.done) {
      while (credit <= 0) {
        const r = await this.readRequest(stream, peer, signal)
        if (r === undefined) return false // the target gave up
        if (r.op !== TransferRequest.Op.CREDIT) throw new Refusal('BAD_REQUEST', `expected CREDIT, got ${r.op}`, true)
        credit = Math.min(credit + r.credit, MAX_CREDIT_BYTES)
      }
      const { at, data, release } = await reader.next(credit)
      await this.writeWithData(stream, { kind: TransferFrame.Kind.CHUNK, offset: BigInt(at) }, data, signal, release)
      credit -= data.byteLength
      this.stats.bytesServed += data.byteLength
    }
    return true
  }

  private async serveList (stream: FrameStream, peer: string, first: TransferRequest, signal: AbortSignal): Promise<void> {
    let req: TransferRequest | undefined = first
    for (let n = 0; req !== undefined; n++) {
      if (req.op !== TransferRequest.Op.LIST) throw new Refusal('BAD_REQUEST', `expected LIST, got ${req.op}`, true)
      if (n >= this.maxListRequests) throw new Refusal('BUSY', 'too many LIST requests on one stream', true, 1_000)
      this.stats.requests++
      const page = listPage(this.components.catalog, req.cursor, Math.min(req.limit > 0 ? req.limit : this.listPageEntries, this.listPageEntries), this.listPageBytes)
      await this.write(stream, encodeFrame({ kind: TransferFrame.Kind.PAGE, ...page }), signal)
      this.stats.listPages++
      req = await this.readRequest(stream, peer, signal, this.sessionIdleMs)
    }
  }
}

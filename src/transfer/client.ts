/**
 * The target's side of `/riftmesh/transfer/1.0.0`: pull a file from a holder into the local
 * data dir.
 *
 * - The bytes go to `<file>.partial` (opened without following symlinks); a later pull resumes
 *   from the partial's size after a broken connection, hashing the prefix already there.
 * - At the end the whole file is checked against the expected sha256 (the planner's, else the
 *   holder's HEADER); on a mismatch the partial is deleted and `HashMismatchError` thrown, and
 *   `pullFromAny` moves on to the next holder. A good file is fsynced, renamed into place
 *   (`mkdir -p` first) and its directory fsynced; its hash is handed to `LocalHashes` so the next
 *   scan does not read it again.
 * - A file already present with the expected hash is not transferred (`alreadyPresent`).
 * - Limits: `maxConcurrentTransfers` pulls at once (more wait, up to `maxQueuedPulls`), a
 *   shared bandwidth token bucket on the clock, a flow-control window per stream, an idle
 *   deadline on every read, a largest accepted file, and `AbortSignal`s (the caller's and
 *   `stop()`).
 * - Sessions: pulls from one holder reuse idle streams (`SessionPool`), GET after GET.
 * - Fast path: when the holder offers its TCP side channel and the peer has an address we can
 *   reach (`hostsOf`), a new session moves there (frames sealed with AES-256-GCM, see
 *   fast-path.ts); if the connection cannot be made the session stays on the libp2p stream.
 * - A holder answering BUSY is retried (bounded) after its retry-after.
 * - Small files (known size and hash, at most `batchMaxFileBytes`) are pulled in batches: see
 *   batcher.ts. Their hashing and writing run on the disk pool's worker threads.
 */
import { lstatSync } from 'node:fs'
import { mkdir, realpath, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { sleep, type Clock } from '../core/clock.js'
import { anySignal } from '../core/signals.js'
import type { Logger } from '../core/logger.js'
import { ValidationError, errorMessage } from '../core/errors.js'
import type { DropCounters } from '../mesh/drops.js'
import type { Mesh } from '../mesh/mesh.js'
import { HashMismatchError, PathRefusedError, TransferFailedError, TransferRefusedError } from './errors.js'
import { FileDigester, countsGames, isSha256Hex } from './file-info.js'
import { toListedFile } from './listing.js'
import { checkTransferable, isInside } from './paths.js'
import { Semaphore, TokenBucket, intInRange } from './limits.js'
import type { LocalHashes, ScannedFile } from './scanner.js'
import { ClientSession, SessionPool, type SessionSettings, type StreamCtx } from './client-session.js'
import { DirSyncer, PartialFile, hashPrefix, type DirectIo } from './partial-file.js'
import { loadNativeReceiver, type NativeReceiver } from './native-recv.js'
import { nativeOrLogged } from './native-batch.js'
import { DiskPool } from './disk-pool.js'
import { loadFsSync, nativeAddonPath, type FsNative } from './fs-sync.js'
import { DEFAULT_BATCH_FILES, DEFAULT_BATCH_MAX_FILE_BYTES, PullBatcher, type BatchEntry, type BatchedResult } from './batcher.js'
import {
  MAX_PAGE_FRAME_BYTES, TransferFrame, TransferProtocolError, TransferRequest, encodeRequest, safeNumber
} from './protocol.js'

/** Pulls running at once (sync.maxConcurrentTransfers). @default 4 */
export const DEFAULT_MAX_CONCURRENT_TRANSFERS = 4
/** Pulls waiting for a slot; more are refused. @default 10_000 */
export const DEFAULT_MAX_QUEUED_PULLS = 10_000
/** Bytes a holder may send ahead of what we have written (flow-control window). @default 8 MiB */
export const DEFAULT_WINDOW_BYTES = 8 * 1024 * 1024
/**
 * Smallest file written with O_DIRECT (when durable): below it the page cache is cheaper — a
 * direct write waits for the device, and a file of ~100 KiB is one such wait for little saved.
 */
export const DIRECT_IO_MIN_BYTES = 1024 * 1024

/** Direct writes from what the addon offers, or undefined (logged) when it offers no aligned memory. */
function directIoFrom (native: FsNative | { why: string }, log: Logger): DirectIo | undefined {
  if ('alignedBuffer' in native && native.alignedBuffer !== undefined) return { alignedBuffer: native.alignedBuffer }
  log.info({ why: 'why' in native ? native.why : 'the native addon has no alignedBuffer' }, 'large files are written through the page cache')
  return undefined
}
/** A read that gets nothing for this long fails the pull. @default 30_000 */
export const DEFAULT_CLIENT_IDLE_TIMEOUT_MS = 30_000
/** Opening the stream (dial included). @default 10_000 */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000
/** Largest file accepted. @default 256 GiB */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 ** 3
/** Connecting to a holder's side channel. @default 3_000 */
export const DEFAULT_FAST_CONNECT_TIMEOUT_MS = 3_000
/** A pull answered BUSY is retried this many times on the same holder. @default 3 */
export const DEFAULT_MAX_BUSY_RETRIES = 3
/** Longest BUSY retry-after honoured; a longer one fails the pull at once (try another holder). @default 5_000 */
export const DEFAULT_MAX_BUSY_WAIT_MS = 5_000
/** An idle stream to a holder is kept this long for the next pull. @default 5_000 */
export const DEFAULT_CLIENT_SESSION_IDLE_MS = 5_000
/** Idle streams kept, all holders. @default 64 */
export const DEFAULT_MAX_IDLE_SESSIONS = 64
/** Most entries `list` returns. @default 1_000_000 */
export const DEFAULT_MAX_LIST_ENTRIES = 1_000_000

export interface TransferClientInit {
  dataDir: string
  /** @default DEFAULT_MAX_CONCURRENT_TRANSFERS */
  maxConcurrentTransfers?: number
  /** @default DEFAULT_MAX_QUEUED_PULLS */
  maxQueuedPulls?: number
  /** Bandwidth cap over all pulls, bytes per second; 0 = none. @default 0 */
  maxBytesPerSecond?: number
  /** @default DEFAULT_WINDOW_BYTES */
  windowBytes?: number
  /** @default DEFAULT_CLIENT_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** @default DEFAULT_OPEN_TIMEOUT_MS */
  openTimeoutMs?: number
  /** @default DEFAULT_MAX_FILE_BYTES */
  maxFileBytes?: number
  /** Use a holder's fast path when offered (needs `hostsOf`). @default true */
  fastPath?: boolean
  /** @default DEFAULT_FAST_CONNECT_TIMEOUT_MS */
  fastConnectTimeoutMs?: number
  /** fsync each file (and its directory) before reporting it done. @default true */
  fsync?: boolean
  /** With fsync: batched files are made durable with one syncfs per group where the native addon loads (DiskPool). @default true */
  syncfs?: boolean
  /**
   * With fsync: write single files of at least DIRECT_IO_MIN_BYTES with O_DIRECT from aligned
   * buffers, around the page cache (partial-file.ts), where the native addon loads. @default true
   */
  directIo?: boolean
  /** Native addon to take aligned memory from (tests). @default nativeAddonPath() */
  addonPath?: string
  /** @default DEFAULT_MAX_LIST_ENTRIES */
  maxListEntries?: number
  /** @default DEFAULT_MAX_BUSY_RETRIES */
  maxBusyRetries?: number
  /** @default DEFAULT_MAX_BUSY_WAIT_MS */
  maxBusyWaitMs?: number
  /** @default DEFAULT_CLIENT_SESSION_IDLE_MS */
  sessionIdleMs?: number
  /** @default DEFAULT_MAX_IDLE_SESSIONS */
  maxIdleSessions?: number
  /** Files per BATCH request; 0 or 1: one GET per file. @default DEFAULT_BATCH_FILES */
  batchFiles?: number
  /** Largest file pulled in a batch. @default DEFAULT_BATCH_MAX_FILE_BYTES */
  batchMaxFileBytes?: number
  /** Worker threads that verify and write batched files (0: on the main thread). @default DEFAULT_DISK_THREADS */
  diskThreads?: number
  /**
   * Receive batches on a plain side channel in C (native-recv.ts) where the addon loads; with
   * fsync it makes files durable with syncfs, so it is used only while `syncfs` is on. @default true
   */
  nativeReceive?: boolean
}

export interface TransferClientComponents {
  mesh: Mesh
  clock: Clock
  logger: Logger
  /** The local scanner: known hashes of files already here, and where to record new ones. */
  hashes?: LocalHashes
  /** IP addresses a peer can be reached on (for the fast path), e.g. from its multiaddrs. */
  hostsOf?: (peer: string) => Promise<string[]>
  /** Counts malformed LIST entries against the holder. */
  drops?: DropCounters
}

/** What to pull: a path of the holder's manifest, with the hash (and size) the plan expects. */
export interface WantedFile {
  path: string
  sha256?: string
  size?: number
}

export interface TransferProgress {
  peer: string
  path: string
  /** Bytes of the file in place so far (a resumed prefix included). */
  bytesDone: number
  totalBytes: number
}

export interface PullOptions {
  signal?: AbortSignal
  /** Called after each chunk is written. */
  onProgress?: (p: TransferProgress) => void
}

export interface PullResult {
  peer: string
  path: string
  size: number
  sha256: string
  gameCount: number
  /** Bytes that crossed the network in this pull. */
  bytesReceived: number
  /** Offset the pull resumed from (size of the partial found). */
  resumedFrom: number
  /** The file was already here with the expected hash; nothing was transferred. */
  alreadyPresent: boolean
  viaFastPath: boolean
  durationMs: number
  /** `pullFromAny`: the holders tried first, and why they failed. */
  failedHolders: Array<{ peer: string, error: Error }>
}

/** A listing entry as `list` returns it (same shape as a scanned file). */
export type ListedFile = ScannedFile

/** Shortest wait before retrying a BUSY holder. */
const MIN_BUSY_WAIT_MS = 50
/** Directories already checked to be inside the data dir (cleared past this many). */
const MAX_CHECKED_DIRS = 4_096

/** What the transfer slot hands on: a finished result, or fetched bytes to commit. */
type Fetched = { result: PullResult } | { partial: PartialFile, viaFastPath: boolean, t0: number }

/** Per-pull state shared by its steps. */
interface Pull extends StreamCtx {
  file: WantedFile
  dest: string
  onProgress?: (p: TransferProgress) => void
  /** File size from the HEADER. */
  size: number
  /** The holder's hash from the HEADER (expected when the plan gave none). */
  headerSha: string
  /** Bytes received in this pull. */
  received: number
}

export class TransferClient {
  private readonly log: Logger
  private readonly slots: Semaphore
  private readonly bucket: TokenBucket | undefined
  private readonly sessions: SessionPool
  /** fsync of directories after renames; undefined when `fsync` is off. */
  private readonly dirs: DirSyncer | undefined
  /** Direct writes of large files (with fsync, where the addon loads); `refused` once the file system says no. */
  readonly directIo: DirectIo | undefined
  private readonly inflight = new Map<string, Promise<unknown>>()
  /** Directories made and checked to be inside the data dir (or being checked). */
  private readonly checkedDirs = new Map<string, Promise<void>>()
  private root: Promise<string> | undefined
  private controller = new AbortController()
  private rootReal: string | undefined
  private readonly windowBytes: number
  private readonly idleTimeoutMs: number
  private readonly openTimeoutMs: number
  private readonly maxFileBytes: number
  private readonly fastConnectTimeoutMs: number
  private readonly maxListEntries: number
  private readonly maxBusyRetries: number
  private readonly maxBusyWaitMs: number
  private readonly batchFiles: number
  private readonly batchMaxFileBytes: number
  private readonly diskThreads: number | undefined
  /** Created with the data dir's real path, on the first batched pull. */
  private batcher: PullBatcher | undefined
  private disk: DiskPool | undefined
  readonly stats = { pulls: 0, alreadyPresent: 0, bytesReceived: 0, viaFastPath: 0, hashMismatches: 0, failures: 0, busyRetries: 0, streamsOpened: 0, batches: 0, nativeBatches: 0, directFiles: 0 }

  constructor (private readonly components: TransferClientComponents, private readonly init: TransferClientInit) {
    this.log = components.logger.child({ component: 'transfer-client' })
    const maxConcurrent = intInRange('sync.maxConcurrentTransfers', init.maxConcurrentTransfers ?? DEFAULT_MAX_CONCURRENT_TRANSFERS, 1, 256)
    const maxQueued = intInRange('transfer.maxQueuedPulls', init.maxQueuedPulls ?? DEFAULT_MAX_QUEUED_PULLS, 0, 10_000_000)
    this.slots = new Semaphore(maxConcurrent, maxQueued, 'transfer pulls')
    const rate = intInRange('transfer.maxBytesPerSecond', init.maxBytesPerSecond ?? 0, 0)
    this.windowBytes = intInRange('transfer.windowBytes', init.windowBytes ?? DEFAULT_WINDOW_BYTES, 1024, 256 * 1024 * 1024)
    this.bucket = rate > 0 ? new TokenBucket(components.clock, rate, Math.max(64 * 1024, Math.floor(rate / 10))) : undefined
    this.idleTimeoutMs = intInRange('transfer.idleTimeoutMs', init.idleTimeoutMs ?? DEFAULT_CLIENT_IDLE_TIMEOUT_MS, 1, 3_600_000)
    this.openTimeoutMs = intInRange('transfer.openTimeoutMs', init.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, 1, 3_600_000)
    this.maxFileBytes = intInRange('transfer.maxFileBytes', init.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, 0)
    this.fastConnectTimeoutMs = intInRange('transfer.fastConnectTimeoutMs', init.fastConnectTimeoutMs ?? DEFAULT_FAST_CONNECT_TIMEOUT_MS, 1, 600_000)
    this.maxListEntries = intInRange('transfer.maxListEntries', init.maxListEntries ?? DEFAULT_MAX_LIST_ENTRIES, 1, 100_000_000)
    this.maxBusyRetries = intInRange('transfer.maxBusyRetries', init.maxBusyRetries ?? DEFAULT_MAX_BUSY_RETRIES, 0, 100)
    this.maxBusyWaitMs = intInRange('transfer.maxBusyWaitMs', init.maxBusyWaitMs ?? DEFAULT_MAX_BUSY_WAIT_MS, 0, 600_000)
    const sessionIdleMs = intInRange('transfer.sessionIdleMs', init.sessionIdleMs ?? DEFAULT_CLIENT_SESSION_IDLE_MS, 1, 3_600_000)
    const maxIdle = intInRange('transfer.maxIdleSessions', init.maxIdleSessions ?? DEFAULT_MAX_IDLE_SESSIONS, 0, 100_000)
    this.batchFiles = intInRange('sync.batchFiles', init.batchFiles ?? DEFAULT_BATCH_FILES, 0, 256)
    this.batchMaxFileBytes = intInRange('sync.batchMaxFileBytes', init.batchMaxFileBytes ?? DEFAULT_BATCH_MAX_FILE_BYTES, 0, 64 * 1024 * 1024)
    this.diskThreads = init.diskThreads !== undefined ? intInRange('sync.diskThreads', init.diskThreads, 0, 64) : undefined
    this.dirs = init.fsync !== false ? new DirSyncer(this.log) : undefined
    this.directIo = init.fsync !== false && init.directIo !== false ? directIoFrom(loadFsSync(init.addonPath ?? nativeAddonPath()), this.log) : undefined
    this.sessions = new SessionPool(async (peer, signal) => await this.openSession(peer, signal), components.clock, {
      idleMs: sessionIdleMs, maxIdlePerPeer: maxConcurrent, maxIdleTotal: maxIdle
    })
  }

  /** Pulls running now. */
  get active (): number {
    return this.slots.inUse
  }

  /** Abort every pull in flight (their partials stay for a resume) and close idle streams. The client can be used again. */
  stop (): void {
    this.controller.abort(new TransferFailedError('-', '-', 'transfer client stopped'))
    this.controller = new AbortController()
    this.sessions.closeAll()
  }

  /** `stop()`, and end the disk worker threads (a later batched pull starts them again). */
  async close (): Promise<void> {
    this.stop()
    const disk = this.disk
    this.disk = undefined
    this.batcher = undefined
    await disk?.close()
  }

  /**
   * Pull `file` from `peer`. Throws PathRefusedError (the path is not ours to write),
   * TransferRefusedError (an ERROR frame), HashMismatchError, TransferFailedError (broken off:
   * resume later), QueueFullError, or the signal's reason when aborted.
   */
  async pull (peer: string, file: WantedFile, options: PullOptions = {}): Promise<PullResult> {
    const dest = checkTransferable(this.init.dataDir, file.path)
    if (file.sha256 !== undefined && !isSha256Hex(file.sha256)) throw new ValidationError(`pull ${file.path}`, 'sha256 must be 64 lowercase hex digits')
    if (file.size !== undefined && !(Number.isSafeInteger(file.size) && file.size >= 0)) throw new ValidationError(`pull ${file.path}`, 'size must be a non-negative integer')
    const linked = anySignal([options.signal, this.controller.signal])
    const signal = linked.signal
    try {
      // one pull per destination at a time: a second waits for the first, then finds the file there
      for (let other = this.inflight.get(file.path); other !== undefined; other = this.inflight.get(file.path)) {
        await other.catch(() => undefined) // its own caller sees its error
        signal.throwIfAborted()
      }
      const p: Pull = { peer, path: file.path, file, dest, signal, onProgress: options.onProgress, size: 0, headerSha: '', received: 0 }
      const run = this.batchFiles >= 2 && this.batchMaxFileBytes > 0 && this.batcherAccepts(p) ? this.pullBatched(p) : this.pullSingle(p)
      this.inflight.set(file.path, run)
      try {
        return await run
      } finally {
        this.inflight.delete(file.path)
      }
    } finally {
      linked.dispose()
    }
  }

  /**
   * Pull `file` from the first of `holders` that delivers it intact: a holder that refuses,
   * breaks off or sends bytes that do not hash right is skipped (and listed in `failedHolders`).
   * Throws the last holder's error when none succeeds; a local path refusal or an abort ends it
   * at once.
   */
  async pullFromAny (holders: readonly string[], file: WantedFile, options: PullOptions = {}): Promise<PullResult> {
    const failed: Array<{ peer: string, error: Error }> = []
    for (const peer of holders) {
      try {
        const r = await this.pull(peer, file, options)
        return { ...r, failedHolders: failed }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        if (options.signal?.aborted === true || error instanceof PathRefusedError || error.name === 'QueueFullError') throw error
        this.log.info({ peer, path: file.path, err: errorMessage(error), errName: error.name }, 'pull failed, trying the next holder')
        failed.push({ peer, error })
      }
    }
    throw failed.at(-1)?.error ?? new TransferFailedError('-', file.path, 'no holder to pull from')
  }

  /**
   * One GET for one file. The transfer slot covers the bytes on the wire; the fsync, hash check
   * and rename run after it is given back, so the next transfer does not wait for this file's
   * disk flush.
   */
  private async pullSingle (p: Pull): Promise<PullResult> {
    const got = await this.slots.run(async () => await this.fetchRetryingBusy(p), { signal: p.signal })
    return 'result' in got ? got.result : await this.finish(p, got)
  }

  private batcherAccepts (p: Pull): boolean {
    return (this.batcher === undefined || this.batcher.accepts(p.peer, p.file.size, p.file.sha256)) &&
      p.file.size !== undefined && p.file.sha256 !== undefined && p.file.size <= Math.min(this.batchMaxFileBytes, this.windowBytes)
  }

  /** The pull of a small file, in a batch with others from the same holder (batcher.ts). */
  private async pullBatched (p: Pull): Promise<PullResult> {
    const t0 = this.components.clock.monoMs()
    const present = await this.presentResult(p, t0)
    if (present !== undefined) return present
    const batcher = await this.theBatcher()
    // the holder may have been marked as not taking BATCH while we checked
    if (!batcher.accepts(p.peer, p.file.size, p.file.sha256)) return await this.pullSingle(p)
    const r = await new Promise<BatchedResult>((resolve, reject) => {
      const e: BatchEntry = {
        peer: p.peer, path: p.file.path, dest: p.dest, sha256: p.file.sha256 as string, size: p.file.size as number, signal: p.signal, t0, resolve, reject,
        ...(p.onProgress !== undefined ? { onProgress: p.onProgress } : {})
      }
      batcher.add(e)
    })
    if (r.single !== undefined) return r.single
    p.received = r.size
    return this.result(p, t0, { size: r.size, sha256: r.sha256, gameCount: r.gameCount, alreadyPresent: false, viaFastPath: r.viaFastPath, resumedFrom: 0 })
  }

  private async theBatcher (): Promise<PullBatcher> {
    if (this.batcher !== undefined) return this.batcher
    const rootReal = await this.rootRealPath()
    if (this.batcher !== undefined) return this.batcher
    this.disk = new DiskPool({ rootReal, syncfs: this.init.syncfs !== false, ...(this.diskThreads !== undefined ? { threads: this.diskThreads } : {}) })
    if (this.init.fsync !== false) {
      const d = this.disk.durability
      if (d.mode === 'syncfs') this.log.info('batched files are made durable with one syncfs per group')
      else this.log.info({ why: d.why }, 'batched files are made durable with an fsync each')
    }
    const native = this.nativeReceiver()
    this.batcher = new PullBatcher({
      ...(native !== undefined ? { native } : {}),
      ...(this.bucket !== undefined ? { bucket: this.bucket } : {}),
      clock: this.components.clock,
      log: this.log,
      slots: this.slots,
      sessions: this.sessions,
      disk: this.disk,
      stats: this.stats,
      ...(this.components.hashes !== undefined ? { hashes: this.components.hashes } : {}),
      stopSignal: () => this.controller.signal,
      single: async e => await this.pullSingleFor(e)
    }, {
      maxFiles: this.batchFiles,
      maxFileBytes: this.batchMaxFileBytes,
      windowBytes: this.windowBytes,
      fsync: this.init.fsync !== false,
      maxQueued: this.slots.maxWaiting,
      maxBusyRetries: this.maxBusyRetries,
      maxBusyWaitMs: this.maxBusyWaitMs
    })
    return this.batcher
  }

  /** The native batch receiver when it is wanted and loads (logged either way). */
  private nativeReceiver (): NativeReceiver | undefined {
    if (this.init.nativeReceive === false) return undefined
    if (this.init.fsync !== false && this.init.syncfs === false) {
      this.log.info('batches are received in JavaScript: the native receiver makes files durable with syncfs, and sync.syncfs is off')
      return undefined
    }
    return nativeOrLogged(loadNativeReceiver(), this.log, 'received')
  }

  /** A batched pull that has to go as a single GET after all. */
  private async pullSingleFor (e: BatchEntry): Promise<BatchedResult> {
    const p: Pull = { peer: e.peer, path: e.path, file: { path: e.path, sha256: e.sha256, size: e.size }, dest: e.dest, signal: e.signal, size: 0, headerSha: '', received: 0, ...(e.onProgress !== undefined ? { onProgress: e.onProgress } : {}) }
    const r = await this.pullSingle(p)
    return { size: r.size, sha256: r.sha256, gameCount: r.gameCount, viaFastPath: r.viaFastPath, durationMs: r.durationMs, single: r }
  }

  /** `pullOnce`, again after the holder's retry-after when it answers BUSY (bounded). */
  private async fetchRetryingBusy (p: Pull): Promise<Fetched> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchOnce(p)
      } catch (err) {
        if (!(err instanceof TransferRefusedError && err.refusal === 'BUSY') || attempt >= this.maxBusyRetries || err.retryAfterMs > this.maxBusyWaitMs) throw err
        this.stats.busyRetries++
        await sleep(this.components.clock, Math.max(MIN_BUSY_WAIT_MS, err.retryAfterMs), { signal: p.signal })
      }
    }
  }

  /** The file already here with the right hash, or its bytes in the partial (not yet committed). */
  private async fetchOnce (p: Pull): Promise<Fetched> {
    const t0 = this.components.clock.monoMs()
    this.stats.pulls++
    const present = await this.presentResult(p, t0)
    if (present !== undefined) return { result: present }
    const direct = p.file.size !== undefined && p.file.size >= DIRECT_IO_MIN_BYTES ? this.directIo : undefined
    const partial = await PartialFile.open(p.dest, p.file.path, p.file.size, this.log, p.signal, direct)
    try {
      return { partial, viaFastPath: await this.fetchInto(partial, p), t0 }
    } catch (err) {
      throw await this.failed(err, partial, p)
    }
  }

  /** The parent directory made and checked; the result when the file is already here with the wanted hash. */
  private async presentResult (p: Pull, t0: number): Promise<PullResult | undefined> {
    await this.ensureParentInside(p)
    if (p.file.sha256 === undefined) return undefined
    const present = await this.localHash(p.file.path, p.dest, p.file.size, p.signal)
    if (present === undefined || present.sha256 !== p.file.sha256) return undefined
    this.stats.alreadyPresent++
    return this.result(p, t0, { size: present.size, sha256: present.sha256, gameCount: present.gameCount, alreadyPresent: true, viaFastPath: false, resumedFrom: 0 })
  }

  /** fsync, verify and rename a fetched file; hand its hash to the scanner. */
  private async finish (p: Pull, f: { partial: PartialFile, viaFastPath: boolean, t0: number }): Promise<PullResult> {
    try {
      const { sha256, gameCount } = await f.partial.commit(p.file.sha256 ?? p.headerSha, p.peer, this.dirs)
      const hashes = this.components.hashes
      if (hashes !== undefined) {
        const st = await stat(p.dest)
        hashes.remember({ path: p.file.path, size: st.size, mtimeMs: st.mtimeMs, sha256, gameCount })
      }
      if (f.viaFastPath) this.stats.viaFastPath++
      if (f.partial.writesDirect) this.stats.directFiles++
      return this.result(p, f.t0, { size: p.size, sha256, gameCount, alreadyPresent: false, viaFastPath: f.viaFastPath, resumedFrom: f.partial.resumedFrom })
    } catch (err) {
      throw await this.failed(err, f.partial, p)
    }
  }

  private async failed (err: unknown, partial: PartialFile, p: Pull): Promise<Error> {
    await partial.abandon()
    this.stats.failures++
    if (err instanceof HashMismatchError) this.stats.hashMismatches++
    return this.classify(err, p)
  }

  /**
   * The GET on a pooled session (a fresh one if a reused session turns out dead before the
   * holder answered). Returns whether the side channel carried the bytes.
   */
  private async fetchInto (partial: PartialFile, p: Pull): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const { session, reused } = await this.sessions.acquire(p.peer, p.signal)
      const state = { gotHeader: false }
      try {
        await session.get({ path: p.file.path, offset: partial.size, expectedSha256: p.file.sha256 ?? '' }, p,
          h => this.checkHeader(h, p, partial.size), async data => await this.sink(data, partial, p), state)
        this.sessions.release(session)
        return session.onSide
      } catch (err) {
        session.abort(err instanceof Error ? err : new Error(String(err)))
        const stale = reused && !state.gotHeader && !p.signal.aborted && !(err instanceof TransferRefusedError)
        if (!stale || attempt > 0) throw err
        this.log.debug({ peer: p.peer, err: errorMessage(err) }, 'idle transfer stream was dead, opening a new one')
      }
    }
  }

  private async openSession (peer: string, signal: AbortSignal): Promise<ClientSession> {
    const hosts = this.init.fastPath !== false && this.components.hostsOf !== undefined
      ? await this.components.hostsOf(peer).catch((err: unknown) => { this.log.debug({ err, peer }, 'no addresses for the fast path'); return [] })
      : []
    const session = await ClientSession.open(this.components.mesh, peer, hosts, this.sessionSettings(this.windowBytes), signal)
    this.stats.streamsOpened++
    return session
  }

  private sessionSettings (windowBytes: number): SessionSettings {
    return {
      clock: this.components.clock, log: this.log, idleTimeoutMs: this.idleTimeoutMs, openTimeoutMs: this.openTimeoutMs, windowBytes, fastConnectTimeoutMs: this.fastConnectTimeoutMs
    }
  }

  private result (p: Pull, t0: number, r: Pick<PullResult, 'size' | 'sha256' | 'gameCount' | 'alreadyPresent' | 'viaFastPath' | 'resumedFrom'>): PullResult {
    this.stats.bytesReceived += p.received
    return { peer: p.peer, path: p.file.path, bytesReceived: p.received, durationMs: this.components.clock.monoMs() - t0, failedHolders: [], ...r }
  }

  private classify (err: unknown, p: Pull): Error {
    if (p.signal.aborted) return p.signal.reason instanceof Error ? p.signal.reason : new TransferFailedError(p.peer, p.file.path, 'aborted', { cause: err })
    if (err instanceof HashMismatchError || err instanceof TransferRefusedError || err instanceof PathRefusedError || err instanceof TransferFailedError) return err
    return new TransferFailedError(p.peer, p.file.path, errorMessage(err), { cause: err })
  }

  /** The data dir's real path (made first); one lookup however many pulls ask at once. */
  private async rootRealPath (): Promise<string> {
    this.root ??= (async () => {
      await mkdir(this.init.dataDir, { recursive: true })
      this.rootReal = await realpath(this.init.dataDir)
      return this.rootReal
    })()
    this.root.catch(() => { this.root = undefined }) // a failure is retried by the next pull
    return await this.root
  }

  /** Make the pull's directory and check it is inside the data dir; once per directory, shared by pulls that ask at once. */
  private async ensureParentInside (p: Pull): Promise<void> {
    const parent = dirname(p.dest)
    let check = this.checkedDirs.get(parent)
    if (check === undefined) {
      if (this.checkedDirs.size >= MAX_CHECKED_DIRS) this.checkedDirs.clear()
      check = (async () => {
        const root = await this.rootRealPath()
        await mkdir(parent, { recursive: true })
        const real = await realpath(parent)
        if (!isInside(root, real) || real === root) throw new PathRefusedError('-', 'its directory leads outside the data dir')
      })()
      this.checkedDirs.set(parent, check)
      check.catch(() => { if (this.checkedDirs.get(parent) === check) this.checkedDirs.delete(parent) })
    }
    try {
      await check
    } catch (err) {
      if (err instanceof PathRefusedError) throw new PathRefusedError(p.file.path, err.reason)
      throw err
    }
  }

  /** The local file's hash (cached, else read), or undefined when it is absent or of another size. */
  private async localHash (rel: string, full: string, size: number | undefined, signal: AbortSignal): Promise<{ size: number, sha256: string, gameCount: number } | undefined> {
    // one lstat of a local path (microseconds): synchronous, because most wanted files are absent
    // and an async lstat builds an ENOENT error with a stack trace for each of them
    const st = lstatSync(full, { throwIfNoEntry: false })
    if (st === undefined) return undefined
    if (!st.isFile() || (size !== undefined && st.size !== size)) return undefined
    const cached = await this.components.hashes?.cachedHash(rel, st.size, st.mtimeMs)
    if (cached !== undefined) return { size: st.size, ...cached }
    const d = new FileDigester(countsGames(rel))
    if (await hashPrefix(full, st.size, d, signal) !== st.size) return undefined
    const digest = d.digest()
    this.components.hashes?.remember({ path: rel, size: st.size, mtimeMs: st.mtimeMs, ...digest })
    return { size: st.size, ...digest }
  }

  /** Check a HEADER against the plan and our limits; returns the file size. */
  private checkHeader (h: TransferFrame, p: Pull, offset: number): number {
    const size = safeNumber(h.size, p.peer, 'size')
    if (safeNumber(h.offset, p.peer, 'offset') !== offset) throw new TransferProtocolError(p.peer, 'HEADER offset is not the one asked for')
    if (!isSha256Hex(h.sha256)) throw new TransferProtocolError(p.peer, 'HEADER sha256 is not 64 hex digits')
    if (size > this.maxFileBytes) throw new TransferRefusedError(p.peer, p.file.path, 'BAD_REQUEST', `file of ${size} bytes is over our limit ${this.maxFileBytes}`)
    if (p.file.size !== undefined && size !== p.file.size) throw new TransferRefusedError(p.peer, p.file.path, 'CHANGED', `holder has ${size} bytes, the plan ${p.file.size}`)
    if (p.file.sha256 !== undefined && h.sha256 !== p.file.sha256) throw new TransferRefusedError(p.peer, p.file.path, 'CHANGED', 'holder has another version')
    if (offset > size) throw new TransferProtocolError(p.peer, 'offset past the end')
    p.size = size
    p.headerSha = h.sha256
    return size
  }

  /** One chunk into the partial: bandwidth, hash + write, progress. */
  private async sink (data: Uint8Array, partial: PartialFile, p: Pull): Promise<void> {
    p.signal.throwIfAborted()
    await this.bucket?.take(data.byteLength, { signal: p.signal })
    await partial.append(data)
    p.received += data.byteLength
    p.onProgress?.({ peer: p.peer, path: p.file.path, bytesDone: partial.size, totalBytes: p.size })
  }

  /**
   * The holder's full listing, page by page (LIST). Entries that do not validate (path, hash,
   * kind, config) are skipped and counted against the holder as `malformed`.
   */
  async list (peer: string, options: { signal?: AbortSignal, pageEntries?: number } = {}): Promise<ListedFile[]> {
    const linked = anySignal([options.signal, this.controller.signal])
    try {
      return await this.listPages(peer, linked.signal, options.pageEntries)
    } finally {
      linked.dispose()
    }
  }

  private async listPages (peer: string, signal: AbortSignal, pageEntries: number | undefined): Promise<ListedFile[]> {
    const ctx: StreamCtx = { peer, path: '(list)', signal }
    // pages are bounded by MAX_PAGE_FRAME_BYTES; the listing never takes the side channel
    const session = await ClientSession.open(this.components.mesh, peer, [], this.sessionSettings(MAX_PAGE_FRAME_BYTES), signal)
    const out: ListedFile[] = []
    try {
      for (let cursor = ''; ;) {
        await session.write(encodeRequest({ op: TransferRequest.Op.LIST, cursor, limit: pageEntries ?? 0 }), ctx)
        const page = await session.read(ctx)
        if (page.kind !== TransferFrame.Kind.PAGE) throw new TransferProtocolError(peer, `expected PAGE, got ${page.kind}`)
        for (const e of page.entries) {
          if (out.length >= this.maxListEntries) break
          try {
            out.push(toListedFile(e, this.init.dataDir, peer))
          } catch (err) {
            this.components.drops?.record(peer, 'malformed', `transfer LIST entry: ${errorMessage(err).slice(0, 80)}`)
          }
        }
        if (page.nextCursor === '' || out.length >= this.maxListEntries) break
        if (page.nextCursor <= cursor) throw new TransferProtocolError(peer, 'LIST cursor does not advance')
        cursor = page.nextCursor
      }
      session.close()
      return out
    } catch (err) {
      session.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }
}

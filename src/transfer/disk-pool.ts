/**
 * DiskPool: a few worker threads that do the file work of batched transfers (disk-ops.ts) with
 * synchronous system calls, off the node's main thread. A batch of small files then costs the
 * main thread one message out and one back, instead of about ten event-loop hops per file.
 *
 * - Workers start on first use and are unref'd while idle, so an idle pool never keeps a process
 *   alive; `close()` ends them. A worker that dies fails its jobs (`DiskPoolError`) and is
 *   replaced by the next job.
 * - Jobs go to the worker with the fewest bytes outstanding.
 * - `threads: 0` runs the same functions inline on the calling thread (tests, or a machine where
 *   threads are not wanted).
 * - The worker script is the compiled `dist/src/transfer/disk-worker.js`, found from this
 *   module's location whether it runs built or from source (tests), like the workloads.
 */
import { Worker } from 'node:worker_threads'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RiftmeshError } from '../core/errors.js'
import { readListed, writeVerified, type ReadItem, type ReadOutcome, type WriteItem, type WriteOutcome } from './disk-ops.js'
import { loadFsSync, nativeAddonPath, type SyncFs } from './fs-sync.js'
import { isOwned, ownedBuffer, recycle } from './owned-buffers.js'

/** Worker threads for transfer file work (sync.diskThreads). @default 2 */
export const DEFAULT_DISK_THREADS = 2

export type DiskJob =
  | { id: number, op: 'read', items: ReadItem[] }
  | { id: number, op: 'write', items: WriteItem[], fsync: boolean }

export type DiskReply =
  | { id: number, op: 'read', outcomes: ReadOutcome[], returned?: ArrayBuffer[] }
  | { id: number, op: 'write', outcomes: WriteOutcome[], returned?: ArrayBuffer[] }
  | { id: number, op: 'failed', message: string }

export class DiskPoolError extends RiftmeshError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_DISK_POOL', options)
    this.name = 'DiskPoolError'
  }
}

/** Where the compiled worker script is, from this module's own location (built or source). */
export function diskWorkerPath (moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl)) // <root>/src/transfer or <root>/dist/src/transfer
  const srcDir = dirname(here)
  const root = dirname(srcDir)
  return basename(root) === 'dist' ? join(here, 'disk-worker.js') : join(root, 'dist', 'src', 'transfer', 'disk-worker.js')
}

/** What a disk worker starts with. */
export interface DiskWorkerData {
  rootReal: string
  /** The native addon whose syncfs makes write jobs durable; absent: fsync per file. */
  syncfsAddon?: string
}

interface Pending { resolve: (r: DiskReply) => void, reject: (err: Error) => void, bytes: number }

interface Slot { worker: Worker, pending: Map<number, Pending>, bytes: number }

export interface DiskPoolInit {
  /** Real path of the data dir (reads must stay inside it). */
  rootReal: string
  /** @default DEFAULT_DISK_THREADS; 0 = inline */
  threads?: number
  /** Worker script (tests). @default diskWorkerPath() */
  workerPath?: string
  /** With fsync: one syncfs per file system and job, where the native addon loads (sync.syncfs). @default true */
  syncfs?: boolean
  /** The native addon (tests). @default nativeAddonPath() */
  addonPath?: string
}

/** How a write job with fsync makes its files durable, and why not with syncfs. */
export type Durability = { mode: 'syncfs' } | { mode: 'fsync', why: string }

export class DiskPool {
  private readonly slots: Array<Slot | undefined>
  private nextId = 1
  private closed = false
  private bytesOutstanding = 0
  private readonly waiters: Array<{ max: number, resolve: () => void }> = []
  readonly threads: number
  readonly durability: Durability
  /** The addon's syncfs (for inline jobs), when durability is 'syncfs'. */
  private readonly syncfs: SyncFs | undefined
  private readonly addonPath: string

  constructor (private readonly init: DiskPoolInit) {
    const threads = init.threads ?? DEFAULT_DISK_THREADS
    if (!(Number.isInteger(threads) && threads >= 0 && threads <= 64)) throw new RangeError(`sync.diskThreads: expected an integer 0..64, got ${threads}`)
    this.threads = threads
    this.slots = new Array<Slot | undefined>(threads).fill(undefined)
    this.addonPath = init.addonPath ?? nativeAddonPath()
    const loaded = init.syncfs === false ? { why: 'sync.syncfs is off' } : loadFsSync(this.addonPath)
    this.syncfs = 'syncfs' in loaded ? loaded.syncfs : undefined
    this.durability = 'syncfs' in loaded ? { mode: 'syncfs' } : { mode: 'fsync', why: loaded.why }
  }

  /** Bytes handed to jobs not yet answered (data to write, files to read). */
  get outstandingBytes (): number {
    return this.bytesOutstanding
  }

  /** Resolves once at most `maxBytes` are outstanding (backpressure for the caller). */
  async below (maxBytes: number): Promise<void> {
    if (this.bytesOutstanding <= maxBytes) return
    await new Promise<void>(resolve => this.waiters.push({ max: maxBytes, resolve }))
  }

  /**
   * Read listed files whole (holder). `bytes` is their total size, for balancing. Each file is
   * read into a recycled owned buffer (owned-buffers.ts) lent to the worker; the data comes back
   * as a view of it, which the caller may `recycle` once nothing uses it any more.
   */
  async read (items: ReadItem[]): Promise<ReadOutcome[]> {
    const bytes = items.reduce((n, i) => n + i.size, 0)
    if (this.threads === 0) return items.map(i => readListed(i, this.init.rootReal))
    const lent = items.map(i => ({ ...i, into: ownedBuffer(i.size).buffer as ArrayBuffer }))
    const r = await this.run({ id: 0, op: 'read', items: lent }, bytes, lent.map(i => i.into))
    if (r.op !== 'read') throw new DiskPoolError(`disk worker answered ${r.op} to a read`)
    for (const ab of r.returned ?? []) recycle(ab)
    return r.outcomes
  }

  /**
   * Verify and place received files (target). Data in a buffer marked owned (owned-buffers.ts)
   * moves to the worker and is unusable here afterwards; any other data is copied (only the
   * view's bytes).
   */
  async write (items: WriteItem[], fsync: boolean): Promise<WriteOutcome[]> {
    const bytes = items.reduce((n, i) => n + i.data.byteLength, 0)
    if (this.threads === 0) return writeVerified(items, fsync, this.syncfs)
    const transfer: ArrayBuffer[] = []
    const sent = items.map(i => {
      if (isOwned(i.data) && !transfer.includes(i.data.buffer as ArrayBuffer)) {
        transfer.push(i.data.buffer as ArrayBuffer)
        return i
      }
      const copy = Buffer.allocUnsafeSlow(i.data.byteLength)
      copy.set(i.data)
      transfer.push(copy.buffer)
      return { ...i, data: copy }
    })
    const r = await this.run({ id: 0, op: 'write', items: sent, fsync }, bytes, transfer)
    if (r.op !== 'write') throw new DiskPoolError(`disk worker answered ${r.op} to a write`)
    for (const ab of r.returned ?? []) recycle(ab)
    return r.outcomes
  }

  /** End every worker; jobs in flight fail. The pool cannot be used again. */
  async close (): Promise<void> {
    this.closed = true
    const workers = this.slots.filter((s): s is Slot => s !== undefined)
    this.slots.fill(undefined)
    for (const s of workers) this.failAll(s, new DiskPoolError('disk pool closed'))
    await Promise.all(workers.map(async s => await s.worker.terminate()))
  }

  private async run (job: DiskJob, bytes: number, transfer: ArrayBuffer[] = []): Promise<DiskReply> {
    if (this.closed) throw new DiskPoolError('disk pool closed')
    const slot = this.pick()
    const id = this.nextId++
    const reply = new Promise<DiskReply>((resolve, reject) => slot.pending.set(id, { resolve, reject, bytes }))
    slot.bytes += bytes
    this.bytesOutstanding += bytes
    if (slot.pending.size === 1) slot.worker.ref()
    slot.worker.postMessage({ ...job, id }, transfer)
    const r = await reply
    if (r.op === 'failed') throw new DiskPoolError(`disk worker: ${r.message}`)
    return r
  }

  /** The worker with the fewest bytes outstanding, started if need be. */
  private pick (): Slot {
    let best = -1
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]
      if (s === undefined) {
        best = i
        break
      }
      if (best < 0 || s.bytes < (this.slots[best] as Slot).bytes) best = i
    }
    return this.slots[best] ?? this.start(best)
  }

  private start (index: number): Slot {
    const data: DiskWorkerData = { rootReal: this.init.rootReal, ...(this.syncfs !== undefined ? { syncfsAddon: this.addonPath } : {}) }
    const worker = new Worker(this.init.workerPath ?? diskWorkerPath(), { workerData: data })
    const slot: Slot = { worker, pending: new Map(), bytes: 0 }
    worker.unref()
    worker.on('message', (r: DiskReply) => {
      const p = slot.pending.get(r.id)
      if (p === undefined) return
      slot.pending.delete(r.id)
      this.settle(slot, p)
      p.resolve(r)
    })
    const fail = (err: Error): void => {
      if (this.slots[index] === slot) this.slots[index] = undefined
      this.failAll(slot, err)
    }
    worker.on('error', err => fail(new DiskPoolError(`disk worker failed: ${err.message}`, { cause: err })))
    worker.on('exit', code => fail(new DiskPoolError(`disk worker exited with code ${code}`)))
    this.slots[index] = slot
    return slot
  }

  private settle (slot: Slot, p: Pending): void {
    slot.bytes -= p.bytes
    this.bytesOutstanding -= p.bytes
    if (slot.pending.size === 0) slot.worker.unref()
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i] as { max: number, resolve: () => void }
      if (this.bytesOutstanding <= w.max) {
        this.waiters.splice(i, 1)
        w.resolve()
      } else {
        i++
      }
    }
  }

  private failAll (slot: Slot, err: Error): void {
    const pending = [...slot.pending.values()]
    slot.pending.clear()
    for (const p of pending) {
      this.settle(slot, p)
      p.reject(err)
    }
  }
}

/**
 * The target's `<file>.partial`: opened without following symlinks, resumed from its size (the
 * bytes already there are hashed first), written at explicit positions with a few writes in
 * flight, then verified against the expected sha256 and renamed into place — or deleted when
 * the hash is wrong.
 *
 * Direct mode (a large file that is to be durable, `DirectIo`): the partial is opened with
 * O_DIRECT and the bytes are copied into 1 MiB page-aligned buffers (from the native addon)
 * that are written straight to the device, around the page cache. The file has to reach the
 * disk before the pull reports it anyway; this way the kernel neither allocates page-cache pages
 * nor copies into them, which on the machines measured was 0.5–2 s of CPU per GiB written (the
 * most variable part of a transfer), and the final fsync finds nothing left to write. The last
 * block is padded to 4096 bytes and the file truncated to its size; a resume starts at the last
 * whole 4096 bytes. A file system that refuses O_DIRECT (at open, or EINVAL on a write) turns
 * direct mode off for the client (`DirectIo.refused`); the file in hand fails and is retried.
 */
import { constants, createReadStream } from 'node:fs'
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import { HashMismatchError } from './errors.js'
import { FileDigester, countsGames } from './file-info.js'
import { PARTIAL_SUFFIX } from './paths.js'
import { isOwned, recycle } from './owned-buffers.js'
import type { AlignedAlloc } from './fs-sync.js'

/** Writes in flight at once per file. */
const MAX_PENDING_WRITES = 4
const HASH_READ_BYTES = 1024 * 1024
/** O_DIRECT writes start and end on this boundary (a page: every logical block size in use). */
export const DIRECT_ALIGN = 4096
/** Bytes per O_DIRECT write: one aligned buffer. */
const DIRECT_WRITE_BYTES = 1024 * 1024
/** Aligned buffers kept for reuse, process-wide (each DIRECT_WRITE_BYTES). */
const MAX_SPARE_ALIGNED = 32
const spareAligned: Buffer[] = []

/** Writing around the page cache (see the file comment); shared by a client's pulls. */
export interface DirectIo {
  alignedBuffer: AlignedAlloc
  /** Set when the file system refused O_DIRECT: why (later pulls write through the page cache). */
  refused?: string
}

function takeAligned (alloc: AlignedAlloc): Buffer {
  return spareAligned.pop() ?? Buffer.from(alloc(DIRECT_WRITE_BYTES))
}

function giveAligned (b: Buffer): void {
  if (spareAligned.length < MAX_SPARE_ALIGNED) spareAligned.push(b)
}

/** Hash the first `length` bytes of `file` into `d`; returns the bytes read. */
export async function hashPrefix (file: string, length: number, d: FileDigester, signal?: AbortSignal): Promise<number> {
  if (length === 0) return 0
  let n = 0
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: HASH_READ_BYTES, signal }) as AsyncIterable<Buffer>) {
    d.update(chunk)
    n += chunk.byteLength
  }
  return n
}

export class PartialFile {
  private readonly pending: Array<Promise<void>> = []
  private writeError: unknown
  private position: number
  private closed = false
  /** Direct mode: the aligned buffer being filled, its bytes, and the file position it starts at. */
  private aligned: Buffer | undefined
  private alignedLength = 0
  private alignedAt: number

  private constructor (
    readonly dest: string,
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly digester: FileDigester,
    /** Bytes found in the partial when it was opened. */
    readonly resumedFrom: number,
    private readonly log: Logger,
    /** Set when the partial was opened with O_DIRECT. */
    private readonly direct: DirectIo | undefined
  ) {
    this.position = resumedFrom
    this.alignedAt = resumedFrom
  }

  /**
   * `<dest>.partial`, resumed when it is a regular file no longer than `maxSize`; written in
   * direct mode when `direct` is given and the file system has not refused it.
   */
  static async open (dest: string, relPath: string, maxSize: number | undefined, log: Logger, signal?: AbortSignal, direct?: DirectIo): Promise<PartialFile> {
    const partial = dest + PARTIAL_SUFFIX
    let digester = new FileDigester(countsGames(relPath))
    const fresh = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW
    const useDirect = direct !== undefined && direct.refused === undefined ? direct : undefined
    try {
      // the common case, no partial yet: one system call
      const { fh, directOn } = await openMaybeDirect(partial, fresh | constants.O_EXCL, useDirect, log)
      return new PartialFile(dest, relPath, fh, digester, 0, log, directOn)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let offset = 0
    const st = await lstat(partial)
    if (!st.isFile() || (maxSize !== undefined && st.size > maxSize)) await unlink(partial)
    // direct writes continue from a block boundary: the bytes past the last whole block are written again
    else offset = useDirect !== undefined ? st.size - st.size % DIRECT_ALIGN : st.size
    if (offset > 0) offset = await hashPrefix(partial, offset, digester, signal)
    if (useDirect !== undefined && offset % DIRECT_ALIGN !== 0) {
      // it shrank while it was hashed, to no block boundary: start it over
      digester = new FileDigester(countsGames(relPath))
      offset = 0
    }
    const { fh, directOn } = await openMaybeDirect(partial, fresh | (offset > 0 ? 0 : constants.O_TRUNC), useDirect, log)
    if (offset > 0) await fh.truncate(offset) // nothing past what was hashed
    return new PartialFile(dest, relPath, fh, digester, offset, log, directOn)
  }

  /** Whether this partial is written with O_DIRECT (direct mode, see the file comment). */
  get writesDirect (): boolean {
    return this.direct !== undefined
  }

  get partialPath (): string {
    return this.dest + PARTIAL_SUFFIX
  }

  /** Bytes in place (resumed prefix included). */
  get size (): number {
    return this.position
  }

  /**
   * Append `data` (hashed now, written in the background; at most a few writes in flight). Data
   * in owned memory (owned-buffers.ts) is handed over: its memory is reused once written.
   */
  async append (data: Uint8Array): Promise<void> {
    if (this.writeError !== undefined) throw this.writeError
    this.digester.update(data)
    const at = this.position
    this.position += data.byteLength
    if (this.direct !== undefined) {
      await this.appendAligned(data)
      if (isOwned(data)) recycle(data.buffer as ArrayBuffer) // copied: its memory is free again
      return
    }
    const owned = isOwned(data)
    await this.queue(this.writeAt(data, at).then(() => { if (owned) recycle(data.buffer as ArrayBuffer) }))
  }

  /** Direct mode: copy into aligned buffers, writing each one that is full. */
  private async appendAligned (data: Uint8Array): Promise<void> {
    const direct = this.direct as DirectIo
    for (let off = 0; off < data.byteLength;) {
      this.aligned ??= takeAligned(direct.alignedBuffer)
      const n = Math.min(DIRECT_WRITE_BYTES - this.alignedLength, data.byteLength - off)
      this.aligned.set(data.subarray(off, off + n), this.alignedLength)
      this.alignedLength += n
      off += n
      if (this.alignedLength === DIRECT_WRITE_BYTES) await this.writeAligned(DIRECT_WRITE_BYTES)
    }
  }

  /** Write the aligned buffer's first `length` bytes (a multiple of DIRECT_ALIGN) at its position. */
  private async writeAligned (length: number): Promise<void> {
    const b = this.aligned as Buffer
    const at = this.alignedAt
    this.aligned = undefined
    this.alignedAt += this.alignedLength
    this.alignedLength = 0
    await this.queue(this.writeAt(b.subarray(0, length), at).then(() => giveAligned(b), (err: unknown) => {
      giveAligned(b)
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') {
        const why = `O_DIRECT write refused (EINVAL) for ${this.partialPath}`
        if (this.direct !== undefined && this.direct.refused === undefined) {
          this.direct.refused = why
          this.log.warn({ why }, 'this file system refuses direct writes; writing through the page cache from now on')
        }
      }
      throw err
    }))
  }

  /** One write in flight more (at most a few); the first error is kept and thrown from then on. */
  private async queue (write: Promise<void>): Promise<void> {
    this.pending.push(write.catch((err: unknown) => { this.writeError ??= err }))
    if (this.pending.length >= MAX_PENDING_WRITES) await this.pending.shift()
    if (this.writeError !== undefined) throw this.writeError
  }

  private async writeAt (data: Uint8Array, at: number): Promise<void> {
    for (let off = 0; off < data.byteLength;) {
      const { bytesWritten } = await this.fh.write(data, off, data.byteLength - off, at + off)
      off += bytesWritten
    }
  }

  private async drain (): Promise<void> {
    await Promise.all(this.pending.splice(0))
    if (this.writeError !== undefined) throw this.writeError
  }

  /**
   * Finish: every write done, fsync, check the hash; when right, rename into place (and fsync the
   * directory); when wrong, delete the partial and throw HashMismatchError.
   */
  async commit (expectedSha256: string, peer: string, dirs: DirSyncer | undefined): Promise<{ sha256: string, gameCount: number }> {
    const fsync = dirs !== undefined
    if (this.alignedLength > 0) {
      // the last block, padded to a whole one; the truncate below cuts the padding off
      const length = Math.ceil(this.alignedLength / DIRECT_ALIGN) * DIRECT_ALIGN
      ;(this.aligned as Buffer).fill(0, this.alignedLength, length)
      await this.writeAligned(length)
    }
    await this.drain()
    if (this.direct !== undefined) await this.fh.truncate(this.position)
    if (fsync) await this.fh.sync()
    await this.close()
    const digest = this.digester.digest()
    if (digest.sha256 !== expectedSha256) {
      await unlink(this.partialPath).catch((err: unknown) => this.log.warn({ err: errorMessage(err), path: this.partialPath }, 'could not delete a bad partial'))
      throw new HashMismatchError(peer, this.path, expectedSha256, digest.sha256)
    }
    await rename(this.partialPath, this.dest)
    await dirs?.sync(dirname(this.dest))
    return digest
  }

  /** Stop writing; what was written stays for a resume. */
  async abandon (): Promise<void> {
    await Promise.all(this.pending.splice(0))
    if (this.aligned !== undefined) giveAligned(this.aligned) // its bytes were never written: a resume fetches them again
    this.aligned = undefined
    this.alignedLength = 0
    await this.close().catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'partial close failed'))
  }

  private async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.fh.close()
  }
}

/**
 * Open `path` with `flags`, adding O_DIRECT when `direct` is given; a file system that refuses
 * O_DIRECT (EINVAL) gets the plain open, and `direct.refused` says why for later pulls.
 */
async function openMaybeDirect (path: string, flags: number, direct: DirectIo | undefined, log: Logger): Promise<{ fh: FileHandle, directOn: DirectIo | undefined }> {
  const O_DIRECT = constants.O_DIRECT
  if (direct === undefined || O_DIRECT === undefined) return { fh: await open(path, flags, 0o644), directOn: undefined }
  try {
    return { fh: await open(path, flags | O_DIRECT, 0o644), directOn: direct }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
    direct.refused ??= `O_DIRECT refused at open (EINVAL) for ${path}`
    log.warn({ why: direct.refused }, 'this file system refuses direct writes; writing through the page cache')
    return { fh: await open(path, flags, 0o644), directOn: undefined }
  }
}

/**
 * fsync of directories (to make renames durable), coalesced: a caller waits for one fsync of its
 * directory that starts after it asked, and callers that ask while one is running share the next.
 */
export class DirSyncer {
  private readonly entries = new Map<string, { running: Promise<void>, next?: Promise<void> }>()

  constructor (private readonly log: Logger) {}

  async sync (dir: string): Promise<void> {
    const e = this.entries.get(dir)
    if (e === undefined) return await this.start(dir)
    if (e.next === undefined) e.next = e.running.then(async () => await this.start(dir))
    return await e.next
  }

  private async start (dir: string): Promise<void> {
    const running = this.fsyncDir(dir).finally(() => {
      const cur = this.entries.get(dir)
      if (cur?.running === running && cur.next === undefined) this.entries.delete(dir)
    })
    const e = this.entries.get(dir)
    if (e !== undefined) {
      e.running = running
      e.next = undefined
    } else {
      this.entries.set(dir, { running })
    }
    await running
  }

  /** Never throws: a file system without directory fsync is logged. */
  private async fsyncDir (dir: string): Promise<void> {
    let fh: FileHandle | undefined
    try {
      fh = await open(dir, 'r')
      await fh.sync()
    } catch (err) {
      this.log.debug({ err: errorMessage(err), dir }, 'directory fsync not supported here')
    } finally {
      await fh?.close().catch((err: unknown) => this.log.debug({ err: errorMessage(err), dir }, 'directory close failed'))
    }
  }
}

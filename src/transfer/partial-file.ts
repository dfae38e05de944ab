/**
 * The target's `<file>.partial`: opened without following symlinks, resumed from its size (the
 * bytes already there are hashed first), written at explicit positions with a few writes in
 * flight, then verified against the expected sha256 and renamed into place — or deleted when
 * the hash is wrong.
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

/** Writes in flight at once per file. */
const MAX_PENDING_WRITES = 4
const HASH_READ_BYTES = 1024 * 1024

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

  private constructor (
    readonly dest: string,
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly digester: FileDigester,
    /** Bytes found in the partial when it was opened. */
    readonly resumedFrom: number,
    private readonly log: Logger
  ) {
    this.position = resumedFrom
  }

  /** `<dest>.partial`, resumed when it is a regular file no longer than `maxSize`. */
  static async open (dest: string, relPath: string, maxSize: number | undefined, log: Logger, signal?: AbortSignal): Promise<PartialFile> {
    const partial = dest + PARTIAL_SUFFIX
    const digester = new FileDigester(countsGames(relPath))
    const fresh = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW
    try {
      // the common case, no partial yet: one system call
      return new PartialFile(dest, relPath, await open(partial, fresh | constants.O_EXCL, 0o644), digester, 0, log)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let offset = 0
    const st = await lstat(partial)
    if (!st.isFile() || (maxSize !== undefined && st.size > maxSize)) await unlink(partial)
    else offset = st.size
    if (offset > 0) offset = await hashPrefix(partial, offset, digester, signal)
    const fh = await open(partial, fresh | (offset > 0 ? 0 : constants.O_TRUNC), 0o644)
    if (offset > 0) await fh.truncate(offset) // nothing past what was hashed
    return new PartialFile(dest, relPath, fh, digester, offset, log)
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
    const owned = isOwned(data)
    const write = this.writeAt(data, at).then(() => { if (owned) recycle(data.buffer as ArrayBuffer) }, (err: unknown) => { this.writeError ??= err })
    this.pending.push(write)
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
    await this.drain()
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
    await this.close().catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'partial close failed'))
  }

  private async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.fh.close()
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

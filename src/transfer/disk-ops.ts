/**
 * The file work of a batch of small files, done with synchronous system calls so that one file
 * costs a handful of system calls and no event-loop hops. These functions run on a disk worker
 * thread (disk-worker.ts, driven by DiskPool), never on a node's main thread, where a slow disk
 * would stall everything else; `DiskPool({ threads: 0 })` runs them inline for tests.
 *
 * - `readListed` (holder): open without blocking on a FIFO, prove the opened file lies inside
 *   the data dir (its /proc/self/fd link, or its real path where there is no /proc), check it is
 *   still the scanned version (regular file, size, whole-millisecond mtime), read it whole.
 * - `writeVerified` (target): hash the bytes (sha256 and game count, as the scanner does) and
 *   compare with the expected hash before anything touches the disk; then `<file>.partial`
 *   (never through a symlink), made durable, renamed into place, and the renames made durable,
 *   so a reported file survives a crash. Durable means one syncfs per file system for the whole
 *   job when the native addon is there (fs-sync.ts), else an fsync per file and per directory.
 */
import { constants, closeSync, fstatSync, fsyncSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { FileDigester, countsGames } from './file-info.js'
import { PARTIAL_SUFFIX, isInside } from './paths.js'
import type { SyncFs } from './fs-sync.js'

/** A listed file to read whole: its absolute path and the version the scan saw. */
export interface ReadItem {
  full: string
  size: number
  /** Whole milliseconds, as in the catalog. */
  mtimeMs: number
  /** Memory to read into when it is large enough (a recycled buffer: no fresh pages to fault in). */
  into?: ArrayBuffer
}

export type ReadOutcome =
  | { ok: true, data: Uint8Array }
  | { ok: false, code: 'CHANGED' | 'BAD_PATH' | 'INTERNAL', message: string }

/** A received file to verify and put in place. */
export interface WriteItem {
  /** Absolute destination, inside the data dir (the caller checked its directory). */
  dest: string
  /** Relative path (decides whether games are counted). */
  relPath: string
  data: Uint8Array
  expectedSha256: string
}

export type WriteOutcome =
  | { ok: true, sha256: string, gameCount: number, size: number, mtimeMs: number }
  | { ok: false, code: 'HASH_MISMATCH', sha256: string }
  | { ok: false, code: 'IO', message: string }

/** Whether /proc/self/fd names an open descriptor's file here (Linux); learnt on first use. */
let procFdWorks: boolean | undefined

function errText (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code !== undefined ? `${e.code}${e.syscall !== undefined ? ` (${e.syscall})` : ''}` : String(err)
}

/** `fd`'s file is inside `rootReal` (not the root itself); false when it is not. */
function openedInside (fd: number, full: string, rootReal: string): boolean {
  if (procFdWorks !== false) {
    try {
      const real = readlinkSync(`/proc/self/fd/${fd}`)
      procFdWorks = true
      return isInside(rootReal, real) && real !== rootReal
    } catch (err) {
      if (procFdWorks === true) throw err
      procFdWorks = false
    }
  }
  const real = realpathSync(full)
  return isInside(rootReal, real) && real !== rootReal
}

/** Read one listed file whole; see the file comment. */
export function readListed (item: ReadItem, rootReal: string): ReadOutcome {
  let fd: number
  try {
    fd = openSync(item.full, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { ok: false, code: 'CHANGED', message: 'deleted since the last scan' }
    if (code === 'ELOOP') return { ok: false, code: 'BAD_PATH', message: 'a symlink loop' }
    return { ok: false, code: 'INTERNAL', message: `open: ${errText(err)}` }
  }
  try {
    if (!openedInside(fd, item.full, rootReal)) return { ok: false, code: 'BAD_PATH', message: 'a symlink leads outside the data dir' }
    const st = fstatSync(fd)
    if (!st.isFile() || st.size !== item.size || Math.floor(st.mtimeMs) !== item.mtimeMs) return { ok: false, code: 'CHANGED', message: 'the file changed since the last scan' }
    // its own ArrayBuffer (not zero-filled: every byte is read into), so the worker can hand it over without a copy
    const data = item.into !== undefined && item.into.byteLength >= item.size ? Buffer.from(item.into, 0, item.size) : Buffer.allocUnsafeSlow(item.size)
    for (let off = 0; off < item.size;) {
      const n = readSync(fd, data, off, item.size - off, off)
      if (n === 0) return { ok: false, code: 'CHANGED', message: 'the file changed since the last scan' }
      off += n
    }
    return { ok: true, data }
  } catch (err) {
    return { ok: false, code: 'INTERNAL', message: `read: ${errText(err)}` }
  } finally {
    closeSync(fd)
  }
}

/** Open `<dest>.partial` for a fresh write, never through a symlink (whatever is there is replaced). */
function openPartial (partial: string): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW
  try {
    return openSync(partial, flags | constants.O_EXCL, 0o644)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  if (!lstatSync(partial).isFile()) unlinkSync(partial)
  return openSync(partial, flags | constants.O_TRUNC, 0o644)
}

/** A file written to its partial, not yet synced or renamed; `dev`: its file system. */
interface Staged { fd: number, partial: string, dev: number, outcome: WriteOutcome & { ok: true } }

/** Hash `item` and, when it is the expected file, write it to its partial (left open). */
function stage (item: WriteItem): Staged | WriteOutcome {
  const d = new FileDigester(countsGames(item.relPath))
  d.update(item.data)
  const { sha256, gameCount } = d.digest()
  if (sha256 !== item.expectedSha256) return { ok: false, code: 'HASH_MISMATCH', sha256 }
  const partial = item.dest + PARTIAL_SUFFIX
  let fd: number | undefined
  try {
    fd = openPartial(partial)
    for (let off = 0; off < item.data.byteLength;) off += writeSync(fd, item.data, off, item.data.byteLength - off, off)
    const st = fstatSync(fd)
    return { fd, partial, dev: st.dev, outcome: { ok: true, sha256, gameCount, size: st.size, mtimeMs: st.mtimeMs } }
  } catch (err) {
    return failed(fd, partial, err)
  }
}

function failed (fd: number | undefined, partial: string, err: unknown): WriteOutcome {
  if (fd !== undefined) {
    try {
      closeSync(fd)
    } catch {}
  }
  try {
    unlinkSync(partial)
  } catch {}
  return { ok: false, code: 'IO', message: errText(err) }
}

/** fsync a directory; a file system that cannot is not an error (the rename stands). */
function fsyncDir (dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, constants.O_RDONLY)
    fsyncSync(fd)
  } catch {
    // e.g. EINVAL where directories cannot be fsynced; nothing better to do
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Verify and place every item. With `fsync`, in phases, so that the file system commits about
 * once per job instead of once per file: every file written; then made durable — with
 * `syncfs`, one call per file system the files are on, else one fsync each; then every rename;
 * then the renames made durable — one syncfs per file system again, else one fsync per
 * directory. A file whose sync fails is reported failed and its partial removed.
 */
export function writeVerified (items: readonly WriteItem[], fsync: boolean, syncfs?: SyncFs): WriteOutcome[] {
  const staged = items.map(stage)
  const out: WriteOutcome[] = staged.map(s => 'fd' in s ? s.outcome : s)
  const fail = (i: number, err: unknown): void => {
    const s = staged[i]
    if (s === undefined || !('fd' in s)) return
    out[i] = failed(s.fd, s.partial, err)
    staged[i] = out[i] as WriteOutcome
  }
  if (fsync && syncfs !== undefined) {
    syncEachFileSystem(staged, syncfs, fail)
  } else if (fsync) {
    staged.forEach((s, i) => {
      if (!('fd' in s)) return
      try {
        fsyncSync(s.fd)
      } catch (err) {
        fail(i, err)
      }
    })
  }
  const dirs = new Set<string>()
  /** A directory on each file system a file was renamed on. */
  const dirOnDev = new Map<number, string>()
  staged.forEach((s, i) => {
    if (!('fd' in s)) return
    try {
      closeSync(s.fd)
      renameSync(s.partial, (items[i] as WriteItem).dest)
      const dir = dirname((items[i] as WriteItem).dest)
      dirs.add(dir)
      if (!dirOnDev.has(s.dev)) dirOnDev.set(s.dev, dir)
    } catch (err) {
      out[i] = failed(undefined, s.partial, err)
    }
  })
  if (fsync && syncfs !== undefined) {
    // the renames: one syncfs per file system, through a directory of it
    for (const [dev, dir] of dirOnDev) {
      try {
        syncDir(dir, syncfs)
      } catch (err) {
        staged.forEach((s, i) => {
          if ('fd' in s && s.dev === dev && out[i]?.ok === true) out[i] = { ok: false, code: 'IO', message: `the rename was not made durable: ${errText(err)}` }
        })
      }
    }
  } else if (fsync) {
    for (const dir of dirs) fsyncDir(dir)
  }
  return out
}

/** syncfs once per file system among the staged files; a failure fails the files on that file system. */
function syncEachFileSystem (staged: ReadonlyArray<Staged | WriteOutcome>, syncfs: SyncFs, fail: (i: number, err: unknown) => void): void {
  const done = new Map<number, unknown>()
  staged.forEach((s, i) => {
    if (!('fd' in s)) return
    if (!done.has(s.dev)) {
      try {
        syncfs(s.fd)
        done.set(s.dev, undefined)
      } catch (err) {
        done.set(s.dev, err)
      }
    }
    const err = done.get(s.dev)
    if (err !== undefined) fail(i, err)
  })
}

/** syncfs through an open directory. */
function syncDir (dir: string, syncfs: SyncFs): void {
  const fd = openSync(dir, constants.O_RDONLY)
  try {
    syncfs(fd)
  } finally {
    closeSync(fd)
  }
}

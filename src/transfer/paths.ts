/**
 * Path safety for file transfer. A path on the wire is a *canonical relative path*: segments
 * joined by `/`, none of them empty, `.` or `..`, no NUL, no backslash, not absolute. Both the
 * holder (what it serves) and the target (where it writes) resolve it inside their own data dir
 * and refuse anything else; the holder also checks the real path (symlinks resolved).
 */
import { constants } from 'node:fs'
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises'
import { isAbsolute, resolve, sep } from 'node:path'
import { FILE_KINDS, MAX_TEXT_CHARS } from '../core/vocabulary.js'
import { PathRefusedError } from './errors.js'

/** Longest relative path accepted (the manifest's limit on a path). */
export const MAX_PATH_CHARS = MAX_TEXT_CHARS
/** Suffix of a file being received; never listed, never served. */
export const PARTIAL_SUFFIX = '.partial'

/**
 * The absolute path of `relPath` inside `dataDir`, or a `PathRefusedError`. Pure: no file system
 * access (symlinks are checked by `resolveRealInside`).
 */
export function resolveInside (dataDir: string, relPath: string): string {
  if (typeof relPath !== 'string' || relPath.length === 0) throw new PathRefusedError(String(relPath), 'empty')
  if (relPath.length > MAX_PATH_CHARS) throw new PathRefusedError(relPath, `longer than ${MAX_PATH_CHARS} characters`)
  if (relPath.includes('\0')) throw new PathRefusedError(relPath, 'contains a NUL byte')
  if (relPath.includes('\\')) throw new PathRefusedError(relPath, 'contains a backslash')
  if (relPath.startsWith('/') || isAbsolute(relPath) || /^[A-Za-z]:/.test(relPath)) throw new PathRefusedError(relPath, 'absolute')
  for (const segment of relPath.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new PathRefusedError(relPath, `not canonical (segment ${JSON.stringify(segment)})`)
  }
  const root = resolve(dataDir)
  const full = resolve(root, relPath)
  // unreachable after the checks above; kept as the invariant the callers rely on
  if (!full.startsWith(root + sep)) throw new PathRefusedError(relPath, 'outside the data dir')
  return full
}

/**
 * A path the transfer layer may read or write: canonical, first segment a file kind
 * (`selfplay`, `models`, `training`, `games`), at least one more segment, not a `.partial`.
 * Anything else under the data dir (the database, the identity key) is never transferred.
 */
export function checkTransferable (dataDir: string, relPath: string): string {
  const full = resolveInside(dataDir, relPath)
  const [kind, ...rest] = relPath.split('/')
  if (!(FILE_KINDS as readonly string[]).includes(kind ?? '') || rest.length === 0) {
    throw new PathRefusedError(relPath, `not under ${FILE_KINDS.join('/, ')}/`)
  }
  if (relPath.endsWith(PARTIAL_SUFFIX)) throw new PathRefusedError(relPath, 'a partial file')
  return full
}

/** True when `candidate` (absolute, resolved) is `root` or inside it. */
export function isInside (root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep)
}

/**
 * `resolveInside`, then the real path (every symlink resolved) must still be inside the real
 * path of `dataDir`. Throws `PathRefusedError`, or the file system's error (ENOENT, ...).
 * `dataDirReal` may be passed when already known.
 */
export async function resolveRealInside (dataDir: string, relPath: string, dataDirReal?: string): Promise<string> {
  const full = resolveInside(dataDir, relPath)
  const root = dataDirReal ?? await realpath(dataDir)
  const real = await realpath(full)
  if (!isInside(root, real) || real === root) throw new PathRefusedError(relPath, 'a symlink leads outside the data dir')
  return real
}

/** Whether /proc/self/fd can name an open descriptor's file (Linux); learnt on first use. */
let procFdWorks: boolean | undefined

/**
 * Open `relPath` (inside `dataDir`, whose real path is `rootReal`) for reading, and prove that the
 * file opened lies inside the data dir. On Linux the opened descriptor's path is read back from
 * /proc/self/fd — race-free and one system call; elsewhere the real path is resolved first and
 * opened without following a final symlink. `O_NONBLOCK` keeps a FIFO from blocking the open
 * (the caller checks that it got a regular file). Throws PathRefusedError or the open's error.
 */
export async function openInside (dataDir: string, relPath: string, rootReal: string): Promise<FileHandle> {
  const full = resolveInside(dataDir, relPath)
  if (procFdWorks !== false) {
    const fh = await open(full, constants.O_RDONLY | constants.O_NONBLOCK)
    let real: string | undefined
    try {
      real = await readlink(`/proc/self/fd/${fh.fd}`)
      procFdWorks = true
    } catch (err) {
      await fh.close()
      if (procFdWorks === true) throw err
      procFdWorks = false
    }
    if (real !== undefined) {
      if (!isInside(rootReal, real) || real === rootReal) {
        await fh.close()
        throw new PathRefusedError(relPath, 'a symlink leads outside the data dir')
      }
      return fh
    }
  }
  const real = await resolveRealInside(dataDir, relPath, rootReal)
  return await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
}

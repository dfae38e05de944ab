import { mkdir, rename, stat } from 'node:fs/promises'
import { Level } from 'level'
import type { AbstractLevel } from 'abstract-level'
import { CorruptStoreError, StoreError, errorMessage } from '../core/errors.js'

/** The root database every store component works on: string keys, binary values. */
export type RootDb = AbstractLevel<string | Uint8Array, string, Uint8Array>

/** What an operator runs to get past a database that cannot be read (docs/OPERATIONS.md). */
export const RESET_STATE_HINT = 'start once with `riftmesh node --reset-state`: it moves the database aside (never deletes it), keeps identity.key, swarm.key and the data files, and re-syncs the documents from peers'

/** The innermost LevelDB error code in `err`'s cause chain (`LEVEL_IO_ERROR`, `LEVEL_CORRUPTION`, …), if any. */
export function levelErrorCode (err: unknown): string | undefined {
  let found: string | undefined
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('LEVEL_')) found = code
  }
  return found
}

/** The innermost message of an error (a LevelDB error's `cause` holds LevelDB's own words). */
function innermostMessage (err: unknown): string {
  let e = err
  for (let depth = 0; depth < 8; depth++) {
    const cause = (e as { cause?: unknown } | null | undefined)?.cause
    if (cause === undefined || cause === null) break
    e = cause
  }
  return errorMessage(e)
}

/**
 * The error to show for a LevelDB failure on the database in `dir`, or undefined when `err` is
 * not one it can explain. A held lock says another node runs on this data dir; a full disk and
 * a permission problem say so; any other I/O or corruption error means a damaged file, with the
 * way out.
 */
export function levelFailure (err: unknown, dir: string): StoreError | undefined {
  const code = levelErrorCode(err)
  if (code === undefined) return undefined
  const what = innermostMessage(err)
  if (/no space left/i.test(what)) return new StoreError(`the database in ${dir} cannot be written: the disk is full (${what}); free some space and start again`, { cause: err })
  if (/permission denied|read-only file system/i.test(what)) {
    return new StoreError(`the database in ${dir} cannot be written (${what}); the data dir must be writable by the user running the node`, { cause: err })
  }
  if (code === 'LEVEL_LOCKED' || (code !== 'LEVEL_CORRUPTION' && /\block\b/i.test(what))) {
    return new StoreError(`the database in ${dir} is in use by another process (is a node already running with this data dir?)`, { cause: err })
  }
  if (code !== 'LEVEL_IO_ERROR' && code !== 'LEVEL_CORRUPTION') return undefined
  return new CorruptStoreError(dir, `the database in ${dir} is damaged and cannot be read (${code}: ${what}); ${RESET_STATE_HINT}`, { cause: err })
}

/**
 * Open (creating) the LevelDB database under `dir`. A database held by another process gives a
 * StoreError that says so, instead of LevelDB's lock message; a damaged one a CorruptStoreError
 * naming the way out.
 */
export async function openLevel (dir: string): Promise<RootDb> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    throw levelFailure(err, dir) ?? new StoreError(`cannot open the database in ${dir}: ${innermostMessage(err)}`, { cause: err })
  }
  return db as unknown as RootDb
}

/** `<dir>.broken-<UTC time>`, e.g. `db.broken-20261207T165400Z`: where a damaged database is moved. */
export function brokenDbPath (dir: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z').replaceAll('-', '').replaceAll(':', '')
  return `${dir}.broken-${stamp}`
}

/**
 * Move the database under `dir` aside to `brokenDbPath(dir, nowMs)` (a rename: nothing is
 * deleted), so that the next open starts an empty one. Resolves with the new path, or null when
 * there is no database. Refuses to overwrite an earlier broken copy of the same second.
 */
export async function moveDatabaseAside (dir: string, nowMs: number): Promise<string | null> {
  try {
    await stat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new StoreError(`cannot look at the database in ${dir}: ${errorMessage(err)}`, { cause: err })
  }
  const to = brokenDbPath(dir, nowMs)
  try {
    await stat(to)
    throw new StoreError(`cannot move the database in ${dir} aside: ${to} already exists; wait a second and try again`)
  } catch (err) {
    if (err instanceof StoreError) throw err
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError(`cannot look at ${to}: ${errorMessage(err)}`, { cause: err })
  }
  try {
    await rename(dir, to)
  } catch (err) {
    throw new StoreError(`cannot move the database in ${dir} aside to ${to}: ${errorMessage(err)}`, { cause: err })
  }
  return to
}

/** Zero-padded decimal so keys sort numerically. */
export function padSeq (n: number, width = 16): string {
  return n.toString().padStart(width, '0')
}

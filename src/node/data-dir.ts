/**
 * The data dir a node is about to use: created when missing, then checked to be a directory this
 * user can write. Each way it can be unusable is a DataDirError naming the dir and the fix,
 * before anything else (identity key, LevelDB) trips over it with a less clear message.
 */
import { constants } from 'node:fs'
import { access, mkdir, stat } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { DataDirError, errorMessage } from '../core/errors.js'

function whoAmI (): string {
  try {
    return `user ${userInfo().username}`
  } catch {
    // no passwd entry for this uid (a container): the number is all there is
    return `uid ${process.getuid?.() ?? '?'}`
  }
}

/** The DataDirError for a file system error `err` met on `dir`, or undefined when it is not about the dir itself. */
export function dataDirProblem (dir: string, err: unknown): DataDirError | undefined {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return new DataDirError(dir, 'is a file, not a directory (move the file away, or pick another directory with --data-dir)', { cause: err })
    case 'EROFS':
      return new DataDirError(dir, 'is on a read-only file system (EROFS); the node writes its database and data files there: pick a writable directory with --data-dir', { cause: err })
    case 'EACCES':
    case 'EPERM':
      return new DataDirError(dir, `is not writable by ${whoAmI()} (${code}); give that user the directory (chown) or pick another with --data-dir`, { cause: err })
    case 'ENOSPC':
      return new DataDirError(dir, 'cannot be written: the disk is full (ENOSPC); free some space or pick another directory with --data-dir', { cause: err })
    default:
      return undefined
  }
}

/** Create `dir` (mode 0700) when missing and check that it is a directory this user may write. */
export async function prepareDataDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const info = await stat(dir)
    if (!info.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
    // access() sees both the permission bits and a read-only mount
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (err) {
    throw dataDirProblem(dir, err) ?? new DataDirError(dir, `cannot be used: ${errorMessage(err)}`, { cause: err })
  }
}

/**
 * Attaching to a node's control socket from the REPL or the CLI: before each request the
 * socket is checked — it lives in a directory only its owner can write, it is a socket, its
 * mode grants nothing to group or others, and it belongs to the user attaching (or root's).
 * A socket that fails a check is refused, never used.
 */
import { lstat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { controlRequest } from '../cli/control-client.js'
import { ControlError, assertPrivateDir } from './control.js'

/** How long one request may take. @default 10_000 */
export const DEFAULT_ATTACH_TIMEOUT_MS = 10_000

/** Refuse a control socket anyone but its owner could use or replace. */
export async function assertAttachable (socketPath: string): Promise<void> {
  const s = await lstat(socketPath).catch((err: NodeJS.ErrnoException) => {
    const hint = err.code === 'ENOENT' ? ' (is a node running with this data dir?)' : ''
    throw new ControlError(`cannot reach ${socketPath}: ${err.message}${hint}`, { cause: err })
  })
  if (!s.isSocket()) throw new ControlError(`${socketPath} is not a socket`)
  if ((s.mode & 0o077) !== 0) {
    throw new ControlError(`refusing ${socketPath}: mode ${(s.mode & 0o777).toString(8)} lets group or others use it (a node makes it 0600)`)
  }
  const uid = process.getuid?.()
  if (uid !== undefined && uid !== 0 && s.uid !== uid) {
    throw new ControlError(`refusing ${socketPath}: it belongs to uid ${s.uid}, not to you (uid ${uid})`)
  }
  await assertPrivateDir(dirname(socketPath))
}

/** A request function bound to one socket, checking it before every request. */
export type ControlCall = (op: string, args?: Record<string, unknown>) => Promise<unknown>

export function attach (socketPath: string, options: { timeoutMs?: number } = {}): ControlCall {
  const timeoutMs = options.timeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS
  return async (op, args = {}) => {
    await assertAttachable(socketPath)
    return await controlRequest(socketPath, op, args, { timeoutMs })
  }
}

/**
 * Client side of a node's control socket (see src/repl/control.ts), for the CLI and tests.
 */
import { createConnection } from 'node:net'
import { errorMessage } from '../core/errors.js'
import { ControlError, lines } from '../repl/control.js'

/** One request to a node's control socket. */
export async function controlRequest (path: string, op: string, args: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const socket = createConnection(path)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ControlError(`no answer from ${path} within ${options.timeoutMs ?? 10_000} ms`))
    }, options.timeoutMs ?? 10_000)
    socket.once('error', err => {
      clearTimeout(timer)
      const code = (err as NodeJS.ErrnoException).code
      const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is a node running with this data dir?)' : code === 'EACCES' ? ' (permission denied: the socket belongs to another user)' : ''
      reject(new ControlError(`cannot reach ${path}: ${err.message}${hint}`, { cause: err }))
    })
    socket.once('connect', () => socket.write(`${JSON.stringify({ id: 1, op, args })}\n`))
    lines(socket, line => {
      clearTimeout(timer)
      socket.end()
      try {
        const reply = JSON.parse(line) as { ok: boolean, result?: unknown, error?: string, name?: unknown }
        if (reply.ok) resolve(reply.result)
        else reject(new ControlError(reply.error ?? 'request failed', { remoteName: typeof reply.name === 'string' ? reply.name : undefined }))
      } catch (err) {
        reject(new ControlError(`bad reply from ${path}: ${errorMessage(err)}`))
      }
    }, () => {
      clearTimeout(timer)
      socket.destroy()
      reject(new ControlError(`reply from ${path} too long`))
    })
  })
}

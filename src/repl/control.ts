/**
 * The node's local control socket: a Unix socket `control.sock` in the data dir, mode 0600,
 * speaking JSON lines — one request `{id, op, args}` per line, one reply `{id, ok, result|error}`.
 * The CLI (`riftmesh status`, `riftmesh settings`, `riftmesh doc`) and the REPL use it.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { chmod, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../core/logger.js'
import { RiftmeshError, errorMessage } from '../core/errors.js'

export const CONTROL_SOCKET_NAME = 'control.sock'
/** Longest request or reply line, in bytes. */
export const MAX_CONTROL_LINE_BYTES = 16 * 1024 * 1024

export type ControlHandler = (args: Record<string, unknown>) => Promise<unknown>

export class ControlError extends RiftmeshError {
  /** On the client: the `name` of the error the node answered with (e.g. UnsafeSettingError). */
  readonly remoteName: string | undefined
  constructor (message: string, options?: { cause?: unknown, remoteName?: string }) {
    super(message, 'ERR_CONTROL', options)
    this.name = 'ControlError'
    this.remoteName = options?.remoteName
  }
}

export function controlSocketPath (dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME)
}

/** Refuse a data dir others can write to: they could replace the socket. */
export async function assertPrivateDir (dir: string): Promise<void> {
  const s = await stat(dir)
  if ((s.mode & 0o022) !== 0) {
    throw new ControlError(`${dir} is writable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod go-w on it`)
  }
}

/** Split a socket's input into lines, bounded by MAX_CONTROL_LINE_BYTES. */
export function lines (socket: Socket, onLine: (line: string) => void, onTooLong: () => void): void {
  let buf = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buf += chunk
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.trim() !== '') onLine(line)
    }
    if (buf.length > MAX_CONTROL_LINE_BYTES) {
      buf = ''
      onTooLong()
    }
  })
}

export class ControlServer {
  private server: Server | undefined
  private readonly log: Logger
  private readonly sockets = new Set<Socket>()

  constructor (private readonly path: string, private readonly handlers: Record<string, ControlHandler>, logger: Logger) {
    this.log = logger.child({ component: 'control' })
  }

  async start (): Promise<void> {
    if (this.server !== undefined) return
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    const server = createServer(socket => this.serve(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      // listen with a restrictive umask equivalent: chmod right after, before anyone can connect usefully
      server.listen(this.path, () => { server.off('error', reject); resolve() })
    })
    await chmod(this.path, 0o600)
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
    await unlink(this.path).catch(() => undefined)
  }

  private serve (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', err => this.log.debug({ err }, 'control connection error'))
    lines(socket, line => { this.answer(socket, line).catch((err: unknown) => this.log.warn({ err }, 'control reply failed')) }, () => {
      socket.end(`${JSON.stringify({ id: null, ok: false, error: 'request too long' })}\n`)
    })
  }

  private async answer (socket: Socket, line: string): Promise<void> {
    let id: unknown = null
    let reply: Record<string, unknown>
    try {
      const req = JSON.parse(line) as { id?: unknown, op?: unknown, args?: unknown }
      id = req.id ?? null
      const handler = typeof req.op === 'string' ? this.handlers[req.op] : undefined
      if (handler === undefined) throw new ControlError(`unknown op ${JSON.stringify(req.op)}; known: ${Object.keys(this.handlers).join(', ')}`)
      const args = typeof req.args === 'object' && req.args !== null ? req.args as Record<string, unknown> : {}
      reply = { id, ok: true, result: await handler(args) }
    } catch (err) {
      reply = { id, ok: false, error: errorMessage(err), name: err instanceof Error ? err.name : 'Error' }
    }
    if (!socket.destroyed) socket.write(`${JSON.stringify(reply, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`)
  }
}

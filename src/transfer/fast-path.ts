/**
 * The fast path: a transfer session on a plain TCP connection beside the libp2p stream, for when
 * the libp2p stack (pnet XSalsa20 in WebAssembly, Noise and Yamux in JavaScript) is the
 * bottleneck. The libp2p stream sets it up and stays open as the session's anchor: the holder
 * answers a SIDE request with a TCP port, a one-time 32-byte token and a fresh 32-byte
 * AES-256-GCM key (both secret: they travel inside Noise). The target connects, sends the
 * token, confirms on the libp2p stream, and from then on the session's frames — the same
 * TransferRequest / TransferFrame messages as on the libp2p stream — travel on the TCP
 * connection, each sealed:
 *
 *   frame   = uint32be(n) • AES-256-GCM(key, nonce, plaintext)[n bytes] • tag (16 bytes)
 *   nonce   = uint32be(direction) • uint64be(counter)   direction 0 holder→target, 1 target→holder
 *   AAD     = the 4 length bytes
 *
 * The counter starts at 0 in each direction and goes up by one per frame, so a frame that is
 * altered, dropped, replayed or reordered fails its tag and ends the session. The token is single
 * use and expires after `tokenTtlMs`; a connection with an unknown token is closed. The file's
 * sha256 is still checked at the end.
 *
 * Plain mode (the holder's `encrypt: false`, offered with an empty key): frames travel as
 * `uint32be(n) • plaintext`. The connection is still authorised by the one-time token and every
 * file is still verified against the sha256 the planner took from the replicated manifest, so
 * an altered byte costs a retry (from another holder), never a bad file; what plain mode gives
 * up is confidentiality on the wire, for about twice the throughput on a 2-core machine (AES-GCM
 * in Node runs at ~500 MiB/s per direction there). The holder decides; the target follows.
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { RiftmeshError, errorMessage } from '../core/errors.js'
import type { FrameStream } from '../mesh/mesh.js'
import { onAbort } from '../core/signals.js'
import { FAST_KEY_BYTES, FAST_TOKEN_BYTES } from './protocol.js'
import { markOwned, ownedBuffer } from './owned-buffers.js'

export const GCM_TAG_BYTES = 16
/** A side-channel connection must send its token within this time. @default 5_000 */
export const DEFAULT_FAST_HANDSHAKE_TIMEOUT_MS = 5_000
/** An offered token expires after this time. @default 10_000 */
export const DEFAULT_FAST_TOKEN_TTL_MS = 10_000
/** Most tokens outstanding at once (beyond, no offer is made: the session stays on libp2p). @default 64 */
export const DEFAULT_FAST_MAX_PENDING = 64
/** Most side-channel connections open at once, authorised or not (more are refused by the kernel listener). @default 256 */
export const DEFAULT_FAST_MAX_CONNECTIONS = 256

export class FastPathError extends RiftmeshError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_FAST_PATH', options)
    this.name = 'FastPathError'
  }
}

/** A sealed frame announced longer than the reader's limit (named like libp2p's length-prefix error). */
export class InvalidDataLengthError extends FastPathError {
  constructor (length: number, max: number) {
    super(`sealed frame of ${length} bytes is over the limit ${max}`)
    this.name = 'InvalidDataLengthError'
  }
}

export type SideRole = 'holder' | 'target'

function nonce (direction: number, counter: number): Buffer {
  const n = Buffer.alloc(12)
  n.writeUInt32BE(direction, 0)
  n.writeBigUInt64BE(BigInt(counter), 4)
  return n
}

/**
 * A FrameStream over a TCP socket, every frame sealed with AES-256-GCM — or, with an empty key,
 * length-prefixed in the clear (plain mode; see the file comment). Reading pulls from the socket
 * only when asked, so TCP's own flow control applies.
 */
export class SealedFrameStream implements FrameStream {
  private readonly iter: AsyncIterator<Buffer>
  private readonly parts: Buffer[] = []
  private buffered = 0
  private sent = 0
  private received = 0
  private readonly outDir: number
  private ended = false
  private corked = false
  /** The current read's abort subscription (an abort destroys the socket). */
  private unsubscribe: (() => void) | undefined
  /** False in plain mode (an empty key). */
  readonly sealed: boolean

  constructor (private readonly socket: Socket, private readonly key: Uint8Array, role: SideRole, private readonly maxFrameBytes: number) {
    this.outDir = role === 'holder' ? 0 : 1
    this.sealed = key.byteLength > 0
    this.iter = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  }

  /**
   * The next `n` buffered bytes, copying only when they span socket reads. `frame`: the bytes
   * are a whole frame; when they sit alone in their memory (assembled here, or one whole socket
   * read) that memory is marked owned (owned-buffers.ts).
   */
  private take (n: number, frame = false): Buffer {
    const first = this.parts[0] as Buffer
    let out: Buffer
    if (first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength > n) this.parts[0] = first.subarray(n)
      else this.parts.shift()
      if (frame && first.byteLength === n) markOwned(out) // each socket read arrives in memory of its own
    } else {
      out = frame ? ownedBuffer(n) : Buffer.allocUnsafe(n)
      for (let filled = 0; filled < n;) {
        const part = this.parts[0] as Buffer
        const k = Math.min(part.byteLength, n - filled)
        part.copy(out, filled, 0, k)
        filled += k
        if (k < part.byteLength) this.parts[0] = part.subarray(k)
        else this.parts.shift()
      }
    }
    this.buffered -= n
    return out
  }

  /** More bytes from the socket; false at a clean end of stream. The first wait of a read subscribes to its signal. */
  private async more (signal?: AbortSignal): Promise<boolean> {
    if (signal !== undefined && this.unsubscribe === undefined) {
      this.unsubscribe = onAbort(signal, () => { this.socket.destroy(signal.reason instanceof Error ? signal.reason : new FastPathError('aborted')) })
    }
    try {
      const r = await this.iter.next()
      if (r.done === true) return false
      this.parts.push(r.value)
      this.buffered += r.value.byteLength
      return true
    } catch (err) {
      signal?.throwIfAborted()
      throw err
    }
  }

  async read (options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const signal = options.signal
    signal?.throwIfAborted()
    // at most one subscription per frame, and none when the frame is already here
    try {
      return await this.readFrame(signal)
    } finally {
      this.unsubscribe?.()
      this.unsubscribe = undefined
    }
  }

  private async readFrame (signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    while (this.buffered < 4) {
      if (!await this.more(signal)) {
        if (this.buffered === 0) return undefined
        throw new FastPathError('side channel closed inside a frame')
      }
    }
    const head = this.take(4)
    const n = head.readUInt32BE(0)
    if (n > this.maxFrameBytes) {
      const err = new InvalidDataLengthError(n, this.maxFrameBytes)
      this.socket.destroy(err)
      throw err
    }
    const tagBytes = this.sealed ? GCM_TAG_BYTES : 0
    while (this.buffered < n + tagBytes) {
      if (!await this.more(signal)) throw new FastPathError('side channel closed inside a frame')
    }
    if (!this.sealed) return this.take(n, true)
    const sealed = this.take(n + GCM_TAG_BYTES)
    const d = createDecipheriv('aes-256-gcm', this.key, nonce(1 - this.outDir, this.received++))
    d.setAAD(head)
    d.setAuthTag(sealed.subarray(n))
    const plain = d.update(sealed.subarray(0, n))
    try {
      d.final()
    } catch (err) {
      const e = new FastPathError(`sealed frame ${this.received - 1} does not authenticate`, { cause: err })
      this.socket.destroy(e)
      throw e
    }
    return plain
  }

  async write (frame: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.writeParts([frame], options)
  }

  /**
   * Write one frame given as consecutive parts (sealed without joining them first).
   * `onWritten` is called once the parts' memory is no longer used here — when the socket has
   * sent them (plain mode writes them as they are), or at once (sealed: encrypted copies are
   * sent) — so the caller may reuse it; it may come after this promise resolves.
   */
  async writeParts (parts: readonly Uint8Array[], options: { signal?: AbortSignal, onWritten?: () => void } = {}): Promise<void> {
    if (this.ended) throw new FastPathError('write after close')
    const head = Buffer.alloc(4)
    head.writeUInt32BE(parts.reduce((n, p) => n + p.byteLength, 0), 0)
    // frames written in one run of the event loop leave in one system call
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    if (!this.sealed) {
      // the parts are the caller's own buffers, not to be reused before onWritten
      // the socket sends in order: once the last part has left, every part has
      const all = [head, ...parts]
      let ok = true
      all.forEach((p, i) => { ok = i < all.length - 1 ? this.socket.write(p) : this.socket.write(p, () => options.onWritten?.()) })
      if (!ok) await drained(this.socket, options.signal)
      return
    }
    const c = createCipheriv('aes-256-gcm', this.key, nonce(this.outDir, this.sent++))
    c.setAAD(head)
    this.socket.write(head)
    for (const p of parts) this.socket.write(c.update(p))
    options.onWritten?.()
    c.final()
    if (!this.socket.write(c.getAuthTag())) await drained(this.socket, options.signal)
  }

  async close (): Promise<void> {
    if (this.ended) return
    this.ended = true
    if (this.socket.destroyed) return
    await new Promise<void>(resolve => this.socket.end(resolve))
  }

  abort (err: Error): void {
    this.ended = true
    this.socket.destroy(err)
  }
}

async function drained (socket: Socket, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      socket.off('drain', onDrain)
      socket.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve()
    }
    const onDrain = (): void => done()
    const onClose = (): void => done(new FastPathError('side channel closed while sending'))
    const onAbort = (): void => done(signal?.reason)
    socket.on('drain', onDrain)
    socket.once('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface FastPathListenerInit {
  /** Address to listen on. */
  host: string
  /** @default 0 (any free port) */
  port?: number
  /** @default DEFAULT_FAST_TOKEN_TTL_MS */
  tokenTtlMs?: number
  /** @default DEFAULT_FAST_HANDSHAKE_TIMEOUT_MS */
  handshakeTimeoutMs?: number
  /** @default DEFAULT_FAST_MAX_PENDING */
  maxPending?: number
  /** @default DEFAULT_FAST_MAX_CONNECTIONS */
  maxConnections?: number
  /** Seal frames with AES-256-GCM; false: plain mode (see the file comment). @default false */
  encrypt?: boolean
}

export interface FastOffer {
  token: Uint8Array
  /** AES-256-GCM key, or empty for plain mode. */
  key: Uint8Array
  /** Resolves with the authorised socket, or undefined when the offer was cancelled or expired. */
  accepted: Promise<Socket | undefined>
  cancel(): void
}

interface Pending { token: Buffer, resolve: (s: Socket | undefined) => void, timer: TimerHandle }

/** The holder's side: one TCP listener, one-time tokens. */
export class FastPathListener {
  private server: Server | undefined
  private readonly pending = new Map<string, Pending>()
  private readonly sockets = new Set<Socket>()
  private readonly log: Logger
  /** Connections closed for a bad, late or unknown token. */
  refusedConnections = 0

  constructor (private readonly components: { clock: Clock, logger: Logger }, private readonly init: FastPathListenerInit) {
    this.log = components.logger.child({ component: 'transfer-fast-path' })
  }

  get port (): number {
    const a = this.server?.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }

  async start (): Promise<void> {
    if (this.server !== undefined) return
    const server = createServer(socket => this.onConnection(socket))
    server.maxConnections = this.init.maxConnections ?? DEFAULT_FAST_MAX_CONNECTIONS
    server.on('error', err => this.log.warn({ err }, 'fast-path listener error'))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port ?? 0, this.init.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    for (const p of this.pending.values()) {
      this.components.clock.clearTimer(p.timer)
      p.resolve(undefined)
    }
    this.pending.clear()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** A new one-time token, or undefined when the listener is down or too many are outstanding. */
  offer (): FastOffer | undefined {
    if (this.server === undefined || this.pending.size >= (this.init.maxPending ?? DEFAULT_FAST_MAX_PENDING)) return undefined
    const token = randomBytes(FAST_TOKEN_BYTES)
    const key = this.init.encrypt === true ? randomBytes(FAST_KEY_BYTES) : new Uint8Array(0)
    const id = token.toString('hex')
    let resolveFn!: (s: Socket | undefined) => void
    const accepted = new Promise<Socket | undefined>(resolve => { resolveFn = resolve })
    const timer = this.components.clock.setTimer(() => this.take(id)?.resolve(undefined), this.init.tokenTtlMs ?? DEFAULT_FAST_TOKEN_TTL_MS)
    this.pending.set(id, { token, resolve: resolveFn, timer })
    return { token, key, accepted, cancel: () => this.take(id)?.resolve(undefined) }
  }

  private take (id: string): Pending | undefined {
    const p = this.pending.get(id)
    if (p === undefined) return undefined
    this.pending.delete(id)
    this.components.clock.clearTimer(p.timer)
    return p
  }

  private onConnection (socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.on('error', err => this.log.debug({ err: errorMessage(err) }, 'fast-path socket error'))
    socket.setNoDelay(true)
    let got = Buffer.alloc(0)
    const refuse = (why: string): void => {
      this.refusedConnections++
      this.log.debug({ why, remote: socket.remoteAddress }, 'fast-path connection refused')
      socket.destroy()
    }
    const timer = this.components.clock.setTimer(() => refuse('no token in time'), this.init.handshakeTimeoutMs ?? DEFAULT_FAST_HANDSHAKE_TIMEOUT_MS)
    const onData = (buf: Buffer): void => {
      got = Buffer.concat([got, buf])
      if (got.byteLength < FAST_TOKEN_BYTES) return
      socket.off('data', onData)
      socket.pause()
      this.components.clock.clearTimer(timer)
      const token = got.subarray(0, FAST_TOKEN_BYTES)
      const p = this.take(token.toString('hex'))
      if (p === undefined || !timingSafeEqual(p.token, token)) return refuse('unknown token')
      if (got.byteLength > FAST_TOKEN_BYTES) socket.unshift(got.subarray(FAST_TOKEN_BYTES)) // the first sealed frames
      p.resolve(socket)
    }
    socket.on('data', onData)
    socket.once('close', () => this.components.clock.clearTimer(timer))
  }
}

/** Connect to the first host that answers; undefined when none does. */
export async function connectAny (hosts: readonly string[], port: number, clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<Socket | undefined> {
  for (const host of hosts) {
    signal?.throwIfAborted()
    const socket = await new Promise<Socket | undefined>(resolve => {
      const s = connect({ host, port })
      const timer = clock.setTimer(() => { s.destroy(); resolve(undefined) }, timeoutMs)
      s.once('connect', () => { clock.clearTimer(timer); resolve(s) })
      s.once('error', () => { clock.clearTimer(timer); s.destroy(); resolve(undefined) })
    })
    if (socket !== undefined) {
      socket.setNoDelay(true)
      return socket
    }
  }
  return undefined
}

/** The IP addresses in a peer's multiaddrs (`/ip4/…` and `/ip6/…`), in order, without duplicates. */
export function hostsFromMultiaddrs (addrs: readonly string[]): string[] {
  const out = new Set<string>()
  for (const a of addrs) {
    const m = /^\/(ip4|ip6)\/([^/]+)\//.exec(a)
    if (m !== null) out.add(m[2] as string)
  }
  return [...out]
}

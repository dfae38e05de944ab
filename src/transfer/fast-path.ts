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
import { isOwned, ownedBuffer, recycle } from './owned-buffers.js'

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

/** Bytes each side-channel socket we connect reads into, reused for every read (see `connectAny`). */
export const SIDE_READ_BUFFER_BYTES = 256 * 1024
/** Received frames waiting to be read, in bytes, past which the socket stops reading (TCP flow control takes over). */
const QUEUE_PAUSE_BYTES = 8 * 1024 * 1024
/** Frames at most this large are assembled in ordinary memory; larger ones in owned memory (owned-buffers.ts). */
const SMALL_FRAME_BYTES = 16 * 1024
/** When at least this much of a frame is still to come, the next socket read goes straight into the frame. */
const DIRECT_READ_MIN_BYTES = 64 * 1024

/**
 * Where a socket made by `connectAny` reads to (`onread`): into one buffer of its own, again
 * and again, so a transfer allocates no memory per socket read (fresh memory costs a page fault
 * per 4 KiB, and the garbage a collector's time) — or, in the middle of a large frame, straight
 * into the rest of that frame, so its bytes are not copied at all. Bytes that arrive before a
 * stream takes the socket over are kept (copied) until it does.
 */
interface ReadHook {
  /** Consumes bytes read into the shared buffer (valid only during the call); false: pause the socket. */
  consume?: (bytes: Buffer) => boolean
  /** The rest of the frame being assembled, for the next read to land in; undefined: the shared buffer. */
  into?: () => Buffer | undefined
  /** `n` bytes landed in what `into` gave; false: pause the socket. */
  landed?: (n: number) => boolean
  early: Buffer[]
}
const readHooks = new WeakMap<Socket, ReadHook>()

/** A socket whose reads go to `hook` (see ReadHook). */
function connectWithReadHook (host: string, port: number): Socket {
  const hook: ReadHook = { early: [] }
  const shared = Buffer.allocUnsafeSlow(SIDE_READ_BUFFER_BYTES)
  /** The memory the pending read lands in (Node asks for it after each read, for the next). */
  let direct: Buffer | undefined
  const socket = connect({
    host,
    port,
    onread: {
      buffer: (): Buffer => {
        direct = hook.into?.()
        return direct ?? shared
      },
      callback: (n: number, buf: Uint8Array): boolean => {
        if (direct !== undefined && buf === direct && hook.landed !== undefined) return hook.landed(n)
        const bytes = Buffer.from(buf.buffer, buf.byteOffset, n)
        if (hook.consume !== undefined) return hook.consume(bytes)
        hook.early.push(Buffer.from(bytes))
        return true
      }
    }
  })
  readHooks.set(socket, hook)
  return socket
}

/** The descriptor under a connected TCP socket (Node keeps it on its handle on Unix), or undefined. */
function socketFd (socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

/**
 * A FrameStream over a TCP socket, every frame sealed with AES-256-GCM — or, with an empty key,
 * length-prefixed in the clear (plain mode; see the file comment).
 *
 * Receiving: bytes are copied straight from each socket read into the frame they belong to (large
 * frames into owned memory, handed on to whoever writes them to disk), and whole frames queue
 * until read. Past QUEUE_PAUSE_BYTES queued the socket stops reading, so TCP's own flow control
 * applies. A socket from `connectAny` reads into one reused buffer, or straight into the rest of
 * a large frame (ReadHook); any other socket (an accepted one) is read with 'data' events.
 */
export class SealedFrameStream implements FrameStream {
  /** Whole frames received, not yet read: sealed ones still with their tag. */
  private readonly frames: Buffer[] = []
  private queuedBytes = 0
  private paused = false
  /** The frame being assembled: its length prefix so far, then its bytes. */
  private readonly head = Buffer.alloc(4)
  private headFill = 0
  private cur: Buffer | undefined
  private curFill = 0
  /** The socket ended (clean end of stream) or failed. */
  private eof = false
  private failure: Error | undefined
  /** The read waiting for a frame. */
  private wake: (() => void) | undefined
  private sent = 0
  private received = 0
  private readonly outDir: number
  private ended = false
  private corked = false
  /** A native reader holds the socket (`detachReader`): no byte may arrive here. */
  private detached = false
  /** A native writer holds the socket (`detachWriter`): nothing may be written here. */
  private writerDetached = false
  /** False in plain mode (an empty key). */
  readonly sealed: boolean
  private readonly tagBytes: number

  constructor (private readonly socket: Socket, private readonly key: Uint8Array, role: SideRole, private readonly maxFrameBytes: number) {
    this.outDir = role === 'holder' ? 0 : 1
    this.sealed = key.byteLength > 0
    this.tagBytes = this.sealed ? GCM_TAG_BYTES : 0
    socket.on('end', () => { this.eof = true; this.wakeReader() })
    socket.on('error', err => this.fail(err))
    socket.on('close', () => { if (!this.eof) this.fail(new FastPathError('side channel closed')) })
    const hook = readHooks.get(socket)
    if (hook !== undefined) {
      for (const b of hook.early.splice(0)) this.feed(b)
      hook.consume = bytes => { this.feed(bytes); return !this.paused }
      hook.into = () => this.cur !== undefined && this.failure === undefined && this.cur.byteLength - this.curFill >= DIRECT_READ_MIN_BYTES ? this.cur.subarray(this.curFill) : undefined
      hook.landed = n => {
        this.curFill += n
        this.completeFrame()
        this.wakeReader()
        return !this.paused
      }
      socket.resume() // flowing, so that 'end' is emitted (the bytes themselves never come as 'data')
    } else {
      socket.on('data', (b: Buffer) => {
        this.feed(b)
        if (this.paused) socket.pause()
      })
      socket.resume() // a socket paused before (the listener's token check) does not resume by itself
    }
    if (socket.readableEnded) this.eof = true
  }

  private fail (err: Error): void {
    this.failure ??= err
    this.wakeReader()
  }

  private wakeReader (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /**
   * The socket's descriptor, for a native reader to take the next answers straight off it
   * (native-recv.ts): only in plain mode, on a socket from `connectAny`, with nothing received
   * and not yet read. Node stops reading the socket (its writes go on) until `resumeReader`.
   * Undefined when any of that does not hold; the frames are then read here as usual.
   */
  detachReader (): number | undefined {
    if (this.sealed || this.detached || readHooks.get(this.socket) === undefined) return undefined
    if (this.frames.length > 0 || this.cur !== undefined || this.headFill > 0 || this.failure !== undefined || this.eof || this.wake !== undefined) return undefined
    const fd = socketFd(this.socket)
    if (fd === undefined) return undefined
    this.socket.pause()
    this.detached = true
    return fd
  }

  /** Read the socket here again, after a native reader is done with it (and left it at a frame boundary). */
  resumeReader (): void {
    if (!this.detached) return
    this.detached = false
    if (!this.paused) this.socket.resume()
  }

  /**
   * The socket's descriptor, for a native writer to send the next answers on it
   * (native-send.ts): only in plain mode and with nothing written here still queued on the
   * socket. Until `resumeWriter`, writing here throws. Undefined when that does not hold; the
   * frames are then written here as usual.
   */
  detachWriter (): number | undefined {
    if (this.sealed || this.writerDetached || this.ended || this.corked || this.socket.destroyed || this.socket.writableLength > 0) return undefined
    const fd = socketFd(this.socket)
    if (fd === undefined) return undefined
    this.writerDetached = true
    return fd
  }

  /** Write here again, after a native writer is done with the socket. */
  resumeWriter (): void {
    this.writerDetached = false
  }

  /** Copy one socket read into the frames it completes (`bytes` may be reused after this returns). */
  private feed (bytes: Buffer): void {
    if (this.detached) {
      const err = new FastPathError('bytes arrived while a native reader held the side channel')
      this.fail(err)
      this.socket.destroy(err)
      return
    }
    for (let o = 0; o < bytes.byteLength && this.failure === undefined;) {
      let cur = this.cur
      if (cur === undefined) {
        const k = Math.min(4 - this.headFill, bytes.byteLength - o)
        bytes.copy(this.head, this.headFill, o, o + k)
        this.headFill += k
        o += k
        if (this.headFill < 4) break
        this.headFill = 0
        const n = this.head.readUInt32BE(0)
        if (n > this.maxFrameBytes) {
          const err = new InvalidDataLengthError(n, this.maxFrameBytes)
          this.fail(err)
          this.socket.destroy(err)
          return
        }
        const total = n + this.tagBytes
        cur = total > SMALL_FRAME_BYTES ? ownedBuffer(total) : Buffer.allocUnsafe(total)
        this.cur = cur
        this.curFill = 0
      }
      const k = Math.min(cur.byteLength - this.curFill, bytes.byteLength - o)
      bytes.copy(cur, this.curFill, o, o + k)
      this.curFill += k
      o += k
      this.completeFrame()
    }
    this.wakeReader()
  }

  /** Queue the frame being assembled once all its bytes are in. */
  private completeFrame (): void {
    const cur = this.cur
    if (cur === undefined || this.curFill < cur.byteLength) return
    this.cur = undefined
    this.frames.push(cur)
    this.queuedBytes += cur.byteLength
    if (this.queuedBytes >= QUEUE_PAUSE_BYTES) this.paused = true
  }

  async read (options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const signal = options.signal
    signal?.throwIfAborted()
    if (this.wake !== undefined) throw new FastPathError('a read is already waiting on this side channel')
    while (this.frames.length === 0) {
      if (this.failure !== undefined) throw this.failure
      if (this.eof) {
        if (this.cur !== undefined || this.headFill > 0) throw new FastPathError('side channel closed inside a frame')
        return undefined
      }
      await new Promise<void>((resolve, reject) => {
        const unsubscribe = signal === undefined
          ? undefined
          : onAbort(signal, () => {
            this.wake = undefined
            this.socket.destroy(signal.reason instanceof Error ? signal.reason : new FastPathError('aborted'))
            reject(signal.reason)
          })
        this.wake = () => { unsubscribe?.(); resolve() }
      })
    }
    const frame = this.frames.shift() as Buffer
    this.queuedBytes -= frame.byteLength
    if (this.paused && this.queuedBytes < QUEUE_PAUSE_BYTES / 2) {
      this.paused = false
      this.socket.resume()
    }
    return this.sealed ? this.open(frame) : frame
  }

  /** A sealed frame's plaintext; its ciphertext memory goes back to the pool. */
  private open (sealed: Buffer): Buffer {
    const n = sealed.byteLength - GCM_TAG_BYTES
    const aad = Buffer.alloc(4)
    aad.writeUInt32BE(n, 0)
    const d = createDecipheriv('aes-256-gcm', this.key, nonce(1 - this.outDir, this.received++))
    d.setAAD(aad)
    d.setAuthTag(sealed.subarray(n))
    const plain = d.update(sealed.subarray(0, n))
    try {
      d.final()
    } catch (err) {
      const e = new FastPathError(`sealed frame ${this.received - 1} does not authenticate`, { cause: err })
      this.fail(e)
      this.socket.destroy(e)
      throw e
    } finally {
      if (isOwned(sealed)) recycle(sealed.buffer as ArrayBuffer)
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
    if (this.writerDetached) throw new FastPathError('write while a native writer holds the side channel')
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
      const s = connectWithReadHook(host, port)
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

/**
 * The target's end of a transfer session — GET after GET on one `/riftmesh/transfer/1.0.0`
 * stream, or on the sealed side channel that stream set up — and the pool that keeps idle
 * sessions per holder for a while, so a run of small files does not pay a stream opening
 * (≈ 2–3 ms with libp2p) and a side-channel handshake each.
 */
import { timeoutSignal, type Clock, type TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import type { FrameStream, Mesh } from '../mesh/mesh.js'
import { TransferFailedError, TransferRefusedError, type RefusalCode } from './errors.js'
import { SealedFrameStream, connectAny } from './fast-path.js'
import {
  FAST_KEY_BYTES, FAST_TOKEN_BYTES, TRANSFER_PROTOCOL, TransferFrame, TransferProtocolError, TransferRequest, decodeFrame, encodeRequest,
  getStreamMaxFrameBytes, safeNumber
} from './protocol.js'

/** A refusal code on the wire as the error's code. */
export const REFUSAL: Record<TransferFrame.Code, RefusalCode> = {
  NONE: 'INTERNAL', NOT_FOUND: 'NOT_FOUND', BAD_PATH: 'BAD_PATH', BUSY: 'BUSY', CHANGED: 'CHANGED', BAD_REQUEST: 'BAD_REQUEST', INTERNAL: 'INTERNAL'
}

/** What one read or write on a session needs: whom, what for (messages) and when to give up. */
export interface StreamCtx {
  peer: string
  path: string
  signal: AbortSignal
}

export interface SessionSettings {
  clock: Clock
  log: Logger
  idleTimeoutMs: number
  openTimeoutMs: number
  windowBytes: number
  fastConnectTimeoutMs: number
}

export interface GetRequest {
  path: string
  offset: number
  expectedSha256: string
}

export class ClientSession {
  /** Set when the session can no longer carry a request (any failure). */
  broken = false
  /** GETs run on this session. */
  gets = 0

  /**
   * @param frames where the session's frames travel
   * @param anchor the libp2p stream that set up a side channel (`frames` is then the side channel)
   */
  constructor (readonly peer: string, private readonly frames: FrameStream, private readonly anchor: FrameStream | undefined, private readonly s: SessionSettings) {}

  /** Whether the frames travel on the side channel. */
  get onSide (): boolean {
    return this.anchor !== undefined
  }

  /**
   * Open a session to `peer`: a libp2p stream, moved to the holder's side channel when `hosts`
   * (the peer's IP addresses) is not empty, the holder offers one and it can be reached.
   */
  static async open (mesh: Mesh, peer: string, hosts: readonly string[], s: SessionSettings, signal: AbortSignal): Promise<ClientSession> {
    const deadline = timeoutSignal(s.clock, s.openTimeoutMs, signal)
    let stream: FrameStream
    try {
      stream = await mesh.open(peer, TRANSFER_PROTOCOL, { maxFrameBytes: getStreamMaxFrameBytes(s.windowBytes), signal: deadline.signal })
    } finally {
      deadline.clear()
    }
    const plain = new ClientSession(peer, stream, undefined, s)
    if (hosts.length === 0) return plain
    const ctx: StreamCtx = { peer, path: '(side channel)', signal }
    try {
      await plain.write(encodeRequest({ op: TransferRequest.Op.SIDE }), ctx)
      const offer = await plain.read(ctx)
      if (offer.kind !== TransferFrame.Kind.SIDE) throw new TransferProtocolError(peer, `expected SIDE, got ${offer.kind}`)
      if (offer.fastPort === 0) return plain
      if (offer.fastPort > 65_535 || offer.fastToken.byteLength !== FAST_TOKEN_BYTES || (offer.fastKey.byteLength !== FAST_KEY_BYTES && offer.fastKey.byteLength !== 0)) throw new TransferProtocolError(peer, 'bad side-channel offer')
      const socket = await connectAny(hosts, offer.fastPort, s.clock, s.fastConnectTimeoutMs, signal)
      if (socket === undefined) {
        s.log.debug({ peer, hosts, port: offer.fastPort }, 'side channel unreachable, staying on the stream')
        return plain
      }
      socket.write(offer.fastToken)
      await plain.write(encodeRequest({ op: TransferRequest.Op.SIDE, fastPath: true }), ctx)
      return new ClientSession(peer, new SealedFrameStream(socket, offer.fastKey, 'target', getStreamMaxFrameBytes(s.windowBytes)), stream, s)
    } catch (err) {
      plain.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  /** The longest a read waits for a frame. */
  get idleTimeoutMs (): number {
    return this.s.idleTimeoutMs
  }

  /** The largest frame a read accepts. */
  get maxFrameBytes (): number {
    return getStreamMaxFrameBytes(this.s.windowBytes)
  }

  /**
   * The side channel's socket descriptor for a native reader, Node's reading of it stopped
   * (SealedFrameStream.detachReader); undefined when the session cannot hand it over.
   */
  detachReader (): number | undefined {
    return this.frames instanceof SealedFrameStream ? this.frames.detachReader() : undefined
  }

  /** Read here again after a native reader finished cleanly. */
  resumeReader (): void {
    if (this.frames instanceof SealedFrameStream) this.frames.resumeReader()
  }

  async read (ctx: StreamCtx): Promise<TransferFrame> {
    const deadline = timeoutSignal(this.s.clock, this.s.idleTimeoutMs, ctx.signal)
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.frames.read({ signal: deadline.signal })
    } catch (err) {
      if (deadline.signal.aborted && !ctx.signal.aborted) throw new TransferFailedError(ctx.peer, ctx.path, `nothing received for ${this.s.idleTimeoutMs} ms`)
      throw err
    } finally {
      deadline.clear()
    }
    if (bytes === undefined) throw new TransferFailedError(ctx.peer, ctx.path, 'the holder closed the stream')
    const f = decodeFrame(bytes, ctx.peer)
    if (f.kind === TransferFrame.Kind.ERROR) throw new TransferRefusedError(ctx.peer, ctx.path, REFUSAL[f.code], f.message, f.retryAfterMs)
    return f
  }

  async write (frame: Uint8Array, ctx: StreamCtx): Promise<void> {
    const deadline = timeoutSignal(this.s.clock, this.s.idleTimeoutMs, ctx.signal)
    try {
      await this.frames.write(frame, { signal: deadline.signal })
    } finally {
      deadline.clear()
    }
  }

  /**
   * One GET: request (with the whole window as credit), HEADER (checked by `onHeader`, which
   * returns the file size) with the first bytes, then — unless those completed the file — CHUNK
   * frames, each acknowledged with a CREDIT, and END. All bytes go to `sink` in order. `state.gotHeader` tells the caller whether the holder answered at all. Any
   * failure leaves the session broken.
   */
  async get (req: GetRequest, ctx: StreamCtx, onHeader: (h: TransferFrame) => number, sink: (data: Uint8Array) => Promise<void>, state: { gotHeader: boolean }): Promise<void> {
    this.gets++
    try {
      await this.write(encodeRequest({
        op: TransferRequest.Op.GET, path: req.path, offset: BigInt(req.offset), expectedSha256: req.expectedSha256, credit: this.s.windowBytes
      }), ctx)
      const h = await this.read(ctx)
      state.gotHeader = true
      if (h.kind !== TransferFrame.Kind.HEADER) throw new TransferProtocolError(ctx.peer, `expected HEADER, got ${h.kind}`)
      const size = onHeader(h)
      let done = req.offset
      if (h.data.byteLength > 0) {
        if (done + h.data.byteLength > size) throw new TransferProtocolError(ctx.peer, `HEADER carries ${h.data.byteLength} bytes past the end`)
        await sink(h.data)
        done += h.data.byteLength
      }
      if (done === size) return // the HEADER carried the whole rest of the file
      if (h.data.byteLength > 0) await this.write(encodeRequest({ op: TransferRequest.Op.CREDIT, credit: h.data.byteLength }), ctx)
      for (;;) {
        const f = await this.read(ctx)
        if (f.kind === TransferFrame.Kind.END) {
          if (done !== size) throw new TransferProtocolError(ctx.peer, `END after ${done} of ${size} bytes`)
          return
        }
        if (f.kind !== TransferFrame.Kind.CHUNK) throw new TransferProtocolError(ctx.peer, `unexpected ${f.kind} frame`)
        const at = safeNumber(f.offset, ctx.peer, 'offset')
        if (at !== done || f.data.byteLength === 0 || done + f.data.byteLength > size) {
          throw new TransferProtocolError(ctx.peer, `chunk at ${at} (+${f.data.byteLength}) does not follow ${done} of ${size}`)
        }
        await sink(f.data)
        done += f.data.byteLength
        if (done < size) await this.write(encodeRequest({ op: TransferRequest.Op.CREDIT, credit: f.data.byteLength }), ctx)
      }
    } catch (err) {
      this.broken = true
      throw err
    }
  }

  /** End the session politely (the holder sees end-of-stream). */
  close (): void {
    for (const stream of this.anchor !== undefined ? [this.frames, this.anchor] : [this.frames]) {
      const deadline = timeoutSignal(this.s.clock, this.s.idleTimeoutMs)
      stream.close({ signal: deadline.signal })
        .catch((err: unknown) => this.s.log.debug({ err: errorMessage(err), peer: this.peer }, 'transfer stream close failed'))
        .finally(() => deadline.clear())
    }
  }

  abort (err: Error): void {
    this.broken = true
    this.frames.abort(err)
    this.anchor?.abort(err)
  }
}

export interface SessionPoolInit {
  /** An idle session is closed after this long. */
  idleMs: number
  maxIdlePerPeer: number
  maxIdleTotal: number
}

interface Idle { session: ClientSession, timer: TimerHandle }

/** Idle sessions per holder, reused LIFO, each closed after `idleMs` unused. */
export class SessionPool {
  private readonly idle = new Map<string, Idle[]>()
  private idleCount = 0

  constructor (
    private readonly openSession: (peer: string, signal: AbortSignal) => Promise<ClientSession>,
    private readonly clock: Clock,
    private readonly init: SessionPoolInit
  ) {}

  async acquire (peer: string, signal: AbortSignal): Promise<{ session: ClientSession, reused: boolean }> {
    const e = this.idle.get(peer)?.pop()
    if (e !== undefined) {
      this.clock.clearTimer(e.timer)
      this.idleCount--
      return { session: e.session, reused: true }
    }
    return { session: await this.openSession(peer, signal), reused: false }
  }

  /** A session that finished its GET cleanly: keep it for the next one, or close it. */
  release (session: ClientSession): void {
    const list = this.idle.get(session.peer) ?? []
    if (session.broken || list.length >= this.init.maxIdlePerPeer || this.idleCount >= this.init.maxIdleTotal) {
      session.close()
      return
    }
    const entry: Idle = {
      session,
      timer: this.clock.setTimer(() => {
        const l = this.idle.get(session.peer)
        const i = l?.indexOf(entry) ?? -1
        if (l === undefined || i < 0) return
        l.splice(i, 1)
        if (l.length === 0) this.idle.delete(session.peer)
        this.idleCount--
        session.close()
      }, this.init.idleMs)
    }
    list.push(entry)
    this.idle.set(session.peer, list)
    this.idleCount++
  }

  get idleSessions (): number {
    return this.idleCount
  }

  closeAll (): void {
    for (const list of this.idle.values()) {
      for (const e of list) {
        this.clock.clearTimer(e.timer)
        e.session.close()
      }
    }
    this.idle.clear()
    this.idleCount = 0
  }
}

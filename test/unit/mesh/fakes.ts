/**
 * In-memory implementations of the mesh interfaces for unit tests (fakes, not mocks):
 *  - `framePair`: two ends of a bidirectional FrameStream with a bounded frame queue per direction
 *    (a full queue makes `write` wait, like a stream under back-pressure);
 *  - `FakeNetwork` / `FakeMesh`: a `Mesh` whose topics and streams run between fake nodes in one
 *    process, deterministically (deliveries are microtasks, no timers).
 */
import type { FrameStream, HandleOptions, Mesh, MeshMessage, OpenOptions, PeerEvent, StreamHandler } from '../../../src/mesh/mesh.js'

export class FrameTooLargeError extends Error {
  constructor (bytes: number, max: number) {
    super(`frame of ${bytes} bytes exceeds ${max}`)
    this.name = 'FrameTooLargeError'
  }
}

/** One direction of a stream: a bounded FIFO of frames. */
export class FrameChannel {
  private readonly queue: Uint8Array[] = []
  private readonly waiters = new Set<() => void>()
  private ended = false
  private error: Error | undefined
  /** Frames written so far (for assertions). */
  written = 0

  constructor (readonly maxQueuedFrames: number) {
    if (!(maxQueuedFrames >= 1)) throw new RangeError('maxQueuedFrames must be ≥ 1')
  }

  get queued (): number {
    return this.queue.length
  }

  async push (frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      if (this.ended) throw new Error('write after close')
      if (this.queue.length < this.maxQueuedFrames) break
      await this.wait(signal)
    }
    this.queue.push(frame.slice()) // the network copies
    this.written++
    this.wake()
  }

  async shift (maxFrameBytes: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      const frame = this.queue.shift()
      if (frame !== undefined) {
        this.wake()
        if (frame.byteLength > maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, maxFrameBytes)
        return frame
      }
      if (this.ended) return undefined
      await this.wait(signal)
    }
  }

  end (): void {
    this.ended = true
    this.wake()
  }

  fail (err: Error): void {
    this.error ??= err
    this.queue.length = 0
    this.wake()
  }

  private wake (): void {
    const ws = [...this.waiters]
    this.waiters.clear()
    for (const w of ws) w()
  }

  private async wait (signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter)
        reject(signal?.reason)
      }
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}

export interface FramePairInit {
  /** Frames buffered per direction before `write` waits. @default 4 */
  maxQueuedFrames?: number
  /** Largest frame end `a` reads. @default Infinity */
  aMaxFrameBytes?: number
  /** Largest frame end `b` reads. @default Infinity */
  bMaxFrameBytes?: number
}

export interface FramePair {
  a: FrameStream
  b: FrameStream
  /** Frames travelling a → b. */
  ab: FrameChannel
  /** Frames travelling b → a. */
  ba: FrameChannel
}

function end (incoming: FrameChannel, outgoing: FrameChannel, maxFrameBytes: number): FrameStream {
  return {
    async read (options = {}) {
      return await incoming.shift(maxFrameBytes, options.signal)
    },
    async write (frame, options = {}) {
      await outgoing.push(frame, options.signal)
    },
    async close () {
      outgoing.end()
    },
    abort (err) {
      outgoing.fail(err)
      incoming.fail(err)
    }
  }
}

/** Two connected FrameStream ends. */
export function framePair (init: FramePairInit = {}): FramePair {
  const ab = new FrameChannel(init.maxQueuedFrames ?? 4)
  const ba = new FrameChannel(init.maxQueuedFrames ?? 4)
  return {
    a: end(ba, ab, init.aMaxFrameBytes ?? Infinity),
    b: end(ab, ba, init.bMaxFrameBytes ?? Infinity),
    ab,
    ba
  }
}

export class FakeMeshError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FakeMeshError'
  }
}

interface Handler { fn: StreamHandler, options: HandleOptions }

/** A set of fake nodes and the links between them. Gossip is flooded to direct neighbours only. */
export class FakeNetwork {
  private readonly meshes = new Map<string, FakeMesh>()
  private readonly links = new Map<string, Set<string>>()
  /** Every message published, in order (for assertions). */
  readonly published: MeshMessage[] = []
  /** Every inbound stream handler run, so tests can await them. */
  readonly served: Array<Promise<void>> = []
  /** Frames buffered per direction on streams opened in this network. @default 4 */
  maxQueuedFrames = 4

  add (selfId: string): FakeMesh {
    if (this.meshes.has(selfId)) throw new RangeError(`${selfId} is already in the network`)
    const m = new FakeMesh(this, selfId)
    this.meshes.set(selfId, m)
    this.links.set(selfId, new Set())
    return m
  }

  connect (a: string, b: string): void {
    const la = this.linksOf(a)
    const lb = this.linksOf(b)
    if (la.has(b)) return
    la.add(b)
    lb.add(a)
    this.mesh(a).emitPeer('connect', b)
    this.mesh(b).emitPeer('connect', a)
  }

  disconnect (a: string, b: string): void {
    if (!this.linksOf(a).delete(b)) return
    this.linksOf(b).delete(a)
    this.mesh(a).emitPeer('disconnect', b)
    this.mesh(b).emitPeer('disconnect', a)
  }

  neighbours (id: string): string[] {
    return [...this.linksOf(id)].sort()
  }

  /** Deliver `msg` to `to` as if it came over gossip (a microtask later). */
  deliver (to: string, msg: MeshMessage): void {
    const target = this.mesh(to)
    queueMicrotask(() => target.receive(msg))
  }

  publish (from: string, topic: string, data: Uint8Array): void {
    const msg: MeshMessage = { topic, from, data: data.slice() }
    this.published.push(msg)
    for (const n of this.neighbours(from)) this.deliver(n, msg)
  }

  async open (from: string, to: string, protocol: string, options: OpenOptions): Promise<FrameStream> {
    options.signal?.throwIfAborted()
    if (!this.linksOf(from).has(to)) throw new FakeMeshError(`cannot open ${protocol} to ${to}: not connected`)
    const h = this.mesh(to).handler(protocol)
    if (h === undefined) throw new FakeMeshError(`cannot open ${protocol} to ${to}: protocol not supported`)
    const pair = framePair({ maxQueuedFrames: this.maxQueuedFrames, aMaxFrameBytes: options.maxFrameBytes, bMaxFrameBytes: h.options.maxFrameBytes })
    // like Libp2pMesh.handle: a handler that throws resets the stream
    this.served.push(h.fn(pair.b, from).catch((err: unknown) => {
      pair.b.abort(err instanceof Error ? err : new Error(String(err)))
    }))
    return pair.a
  }

  private mesh (id: string): FakeMesh {
    const m = this.meshes.get(id)
    if (m === undefined) throw new RangeError(`${id} is not in the network`)
    return m
  }

  private linksOf (id: string): Set<string> {
    const l = this.links.get(id)
    if (l === undefined) throw new RangeError(`${id} is not in the network`)
    return l
  }
}

export class FakeMesh implements Mesh {
  private readonly topics = new Map<string, Set<(m: MeshMessage) => void>>()
  private readonly handlers = new Map<string, Handler>()
  private readonly peerListeners = new Map<PeerEvent, Set<(p: string) => void>>([['connect', new Set()], ['disconnect', new Set()]])
  /** When set, `publish` rejects with it (a network that refuses the message). */
  publishError: Error | undefined
  /** Gossip messages delivered to this node so far (poll it to know a delivery happened). */
  received = 0

  constructor (private readonly net: FakeNetwork, readonly selfId: string) {}

  subscribe (topic: string, handler: (msg: MeshMessage) => void): () => void {
    let set = this.topics.get(topic)
    if (set === undefined) {
      set = new Set()
      this.topics.set(topic, set)
    }
    set.add(handler)
    return () => { set.delete(handler) }
  }

  async publish (topic: string, data: Uint8Array): Promise<void> {
    if (this.publishError !== undefined) throw this.publishError
    this.net.publish(this.selfId, topic, data)
  }

  async handle (protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void> {
    this.handlers.set(protocol, { fn: handler, options })
  }

  async open (peer: string, protocol: string, options: OpenOptions): Promise<FrameStream> {
    return await this.net.open(this.selfId, peer, protocol, options)
  }

  connectedPeers (): string[] {
    return this.net.neighbours(this.selfId)
  }

  onPeer (event: PeerEvent, listener: (peer: string) => void): () => void {
    const set = this.peerListeners.get(event) as Set<(p: string) => void>
    set.add(listener)
    return () => { set.delete(listener) }
  }

  /** @internal */
  handler (protocol: string): Handler | undefined {
    return this.handlers.get(protocol)
  }

  /** @internal */
  receive (msg: MeshMessage): void {
    this.received++
    for (const h of this.topics.get(msg.topic) ?? []) h(msg)
  }

  /** @internal */
  emitPeer (event: PeerEvent, peer: string): void {
    for (const l of this.peerListeners.get(event) ?? []) l(peer)
  }
}

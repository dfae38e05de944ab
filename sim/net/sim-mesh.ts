/**
 * The Mesh interface on the simulated network: the same Replicator and heartbeat code that run
 * over libp2p run over this.
 */
import type { FrameStream, HandleOptions, Mesh, MeshMessage, OpenOptions, PeerEvent, StreamHandler } from '../../src/mesh/mesh.js'
import { MeshError } from '../../src/mesh/libp2p-mesh.js'
import type { SimNetwork } from './sim-network.js'
import { SimStreamEnd } from './sim-stream.js'
import type { SimEvent } from '../core/scheduler.js'

export class SimMesh implements Mesh {
  private readonly handlers = new Map<string, Set<(m: MeshMessage) => void>>()
  private readonly protocols = new Map<string, { handler: StreamHandler, options: HandleOptions }>()
  private readonly peerListeners = new Map<PeerEvent, Set<(p: string) => void>>([['connect', new Set()], ['disconnect', new Set()]])
  private heartbeat: SimEvent | undefined

  constructor (private readonly net: SimNetwork, readonly index: number, readonly selfId: string) {}

  /** The node came up: join the network and run gossip heartbeats. */
  start (): void {
    this.net.setUp(this.index, true)
    const beat = (): boolean => {
      this.net.gossip.heartbeat(this.index)
      this.heartbeat = this.net.sched.after(this.net.gossip.params.heartbeatMs, 'gossip-heartbeat', beat, this.index)
      return false
    }
    this.heartbeat = this.net.sched.after(this.net.gossip.params.heartbeatMs * (0.5 + 0.5 * (this.index % 7) / 7), 'gossip-heartbeat', beat, this.index)
  }

  /** The node went down (crash or stop): it leaves the network and forgets its handlers. */
  stop (): void {
    if (this.heartbeat !== undefined) this.net.sched.cancel(this.heartbeat)
    this.net.setUp(this.index, false)
    this.net.gossip.reset(this.index)
    this.handlers.clear()
    this.protocols.clear()
    for (const s of this.peerListeners.values()) s.clear()
  }

  /** A simulated node advertises no addresses (the scenario's topology connects the nodes). */
  listenAddrs (): string[] {
    return []
  }

  topics (): string[] {
    return [...this.handlers.keys()].sort()
  }

  isSubscribed (topic: string): boolean {
    return (this.handlers.get(topic)?.size ?? 0) > 0
  }

  subscribe (topic: string, handler: (msg: MeshMessage) => void): () => void {
    let set = this.handlers.get(topic)
    if (set === undefined) {
      set = new Set()
      this.handlers.set(topic, set)
    }
    set.add(handler)
    return () => {
      set.delete(handler)
      if (set.size === 0) this.handlers.delete(topic)
    }
  }

  async publish (topic: string, data: Uint8Array): Promise<void> {
    this.net.gossip.publish(this.index, topic, data.slice())
  }

  deliverTopic (topic: string, from: string, data: Uint8Array): void {
    for (const h of this.handlers.get(topic) ?? []) h({ topic, from, data })
  }

  async handle (protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void> {
    this.protocols.set(protocol, { handler, options })
  }

  async open (peer: string, protocol: string, options: OpenOptions): Promise<FrameStream> {
    const b = this.net.indexOf(peer)
    const a = this.index
    if (b === undefined || !this.net.connectedPeers(a).includes(b)) throw new MeshError(`cannot open ${protocol} to ${peer}: not connected`, peer)
    options.signal?.throwIfAborted()
    const remoteMesh = this.net.mesh(b) as SimMesh
    let broken = false
    const tAB = { t: 0 }
    const tBA = { t: 0 }
    const local = new SimStreamEnd((bytes, deliver) => {
      this.net.sendOrdered(a, b, bytes, tAB, () => { if (!broken) deliver() }, () => { broken = true })
    }, options.maxFrameBytes)
    return await new Promise<FrameStream>((resolve, reject) => {
      options.signal?.addEventListener('abort', () => { broken = true; reject(options.signal?.reason) }, { once: true })
      // protocol negotiation: one round trip before the stream is usable
      this.net.sendOrdered(a, b, 64, tAB, () => {
        const target = remoteMesh.protocols.get(protocol)
        if (target === undefined) {
          this.net.sendOrdered(b, a, 64, tBA, () => reject(new MeshError(`${peer} does not speak ${protocol}`, peer)), () => {})
          return
        }
        const remote = new SimStreamEnd((bytes, deliver) => {
          this.net.sendOrdered(b, a, bytes, tBA, () => { if (!broken) deliver() }, () => { broken = true })
        }, target.options.maxFrameBytes)
        local.other = remote
        remote.other = local
        target.handler(remote, this.selfId).catch((err: unknown) => remote.abort(err instanceof Error ? err : new Error(String(err))))
        this.net.sendOrdered(b, a, 64, tBA, () => resolve(local), () => reject(new MeshError(`lost the stream to ${peer}`, peer)))
      }, () => reject(new MeshError(`cannot reach ${peer}`, peer)))
    })
  }

  connectedPeers (): string[] {
    return this.net.connectedPeers(this.index).map(i => (this.net.mesh(i) as SimMesh).selfId).sort()
  }

  onPeer (event: PeerEvent, listener: (peer: string) => void): () => void {
    const set = this.peerListeners.get(event) as Set<(p: string) => void>
    set.add(listener)
    return () => set.delete(listener)
  }

  emitPeer (event: PeerEvent, peer: string): void {
    for (const l of this.peerListeners.get(event) ?? []) l(peer)
  }
}

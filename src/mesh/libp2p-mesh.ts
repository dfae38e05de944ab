/**
 * The real Mesh: a libp2p 3 node made as ./libp2p-options.ts says (TCP or the in-process memory
 * transport, Noise, Yamux, the swarm key, identify, ping, bootstrap discovery, gossipsub with
 * signed messages; with `relay`, circuit relay v2, DCUtR, the dial-back reachability probe and
 * riftmesh's own hole punch between two NATed members (./hole-punch.ts);
 * with `mdns`, LAN discovery), its events turned into riftmesh's listeners, and the streams,
 * dials and connection views the rest of riftmesh uses. libp2p keeps its own timers; they stay
 * behind this class.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { GossipSub } from '@libp2p/gossipsub'
import { preGrowPnetCipherMemory } from './pnet-memory.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../core/logger.js'
import { RiftmeshError, errorMessage } from '../core/errors.js'
import type { FrameStream, HandleOptions, HangUpReason, Mesh, MeshMessage, OpenOptions, PeerEvent, StreamHandler } from './mesh.js'
import { isRelayed } from './addrs.js'
import { listenError } from './listen-errors.js'
import { DEFAULT_RESERVATIONS, dialDiscovered, reserveRelays, serveRelay, upgradeRelayed, type RelayInit } from './connectivity.js'
import { ReachabilityProbe, type Reachability, type ReachabilityState } from './reachability.js'
import { HolePunch } from './hole-punch.js'
import { libp2pOptions, type Libp2pMeshInit } from './libp2p-options.js'
import { wrapStream } from './frame-stream.js'
import { SystemClock, type Clock } from '../core/clock.js'

export type { Libp2pMeshInit } from './libp2p-options.js'

type Node = Libp2p<{ identify: Identify, ping: Ping, pubsub: GossipSub }>

/** How a peer is connected: directly, only through a relay, or not at all. */
export type PeerPath = 'direct' | 'relayed' | 'none'

export interface Libp2pMeshComponents {
  logger: Logger
  /** For the reachability probe's rounds. @default the system clock */
  clock?: Clock
}

export class MeshError extends RiftmeshError {
  readonly peer: string | undefined
  constructor (message: string, peer?: string, options?: { cause?: unknown }) {
    super(message, 'ERR_MESH', options)
    this.name = 'MeshError'
    this.peer = peer
  }
}

/** The first non-empty line of a message (libp2p's errors run to paragraphs with stack frames). */
function firstLine (message: string): string {
  return message.split('\n').map(l => l.trim()).find(l => l !== '') ?? message
}

export class Libp2pMesh implements Mesh {
  private node: Node | undefined
  private readonly log: Logger
  private readonly topicHandlers = new Map<string, Set<(m: MeshMessage) => void>>()
  private readonly peerListeners = new Map<PeerEvent, Set<(p: string) => void>>([['connect', new Set()], ['disconnect', new Set()]])
  private readonly identifyListeners = new Set<(peer: string, listenAddrs: string[]) => void>()
  private readonly hangUpListeners = new Set<(peer: string, reason: HangUpReason) => void>()
  private selfIdValue = ''
  private probe: ReachabilityProbe | undefined
  private punch: HolePunch | undefined
  private reserving = false
  private readonly addrListeners = new Set<(addrs: string[]) => void>()
  private lastAddrs = ''

  constructor (private readonly components: Libp2pMeshComponents, private readonly init: Libp2pMeshInit) {
    this.log = components.logger.child({ component: 'mesh' })
  }

  get selfId (): string {
    return this.selfIdValue
  }

  get started (): boolean {
    return this.node !== undefined
  }

  /** The underlying libp2p node (metrics, tests). */
  get libp2p (): Node {
    if (this.node === undefined) throw new MeshError('mesh is not started')
    return this.node
  }

  async start (): Promise<void> {
    if (this.node !== undefined) return
    const init = this.init
    if (init.swarmKey !== null) preGrowPnetCipherMemory()
    const relay = init.relay
    const node = await createLibp2p(libp2pOptions(init, () => this.probe?.reachability.state === 'public')) as unknown as Node
    node.services.pubsub.addEventListener('message', evt => {
      const msg = evt.detail
      if (msg.type !== 'signed') return // StrictSign: unsigned messages are rejected by gossipsub before this
      const handlers = this.topicHandlers.get(msg.topic)
      if (handlers === undefined) return
      const m: MeshMessage = { topic: msg.topic, from: msg.from.toString(), data: msg.data }
      for (const h of handlers) {
        try {
          h(m)
        } catch (err) {
          this.log.error({ err, topic: msg.topic }, 'topic handler threw')
        }
      }
    })
    node.addEventListener('peer:connect', evt => this.emitPeer('connect', evt.detail.toString()))
    node.addEventListener('peer:disconnect', evt => this.emitPeer('disconnect', evt.detail.toString()))
    node.addEventListener('self:peer:update', () => this.emitAddrs())
    // mDNS finds peers; libp2p dials none by itself, so dial each one found (a node of another
    // swarm key fails the handshake and is forgotten; the peer manager takes over the rest)
    if (init.mdns === true) node.addEventListener('peer:discovery', evt => dialDiscovered(node, evt.detail.id.toString(), this.log))
    node.addEventListener('peer:identify', evt => {
      const peer = evt.detail.peerId.toString()
      const addrs = evt.detail.listenAddrs.map(a => a.toString())
      for (const l of this.identifyListeners) l(peer, addrs)
      if (relay === undefined) return
      if (!isRelayed(evt.detail.connection.remoteAddr.toString())) this.punch?.observed(evt.detail.observedAddr?.toString())
      upgradeRelayed(node, peer, addrs, this.log)
      // both behind NAT: only a punch makes the relayed connection direct
      if (this.probe?.reachability.state === 'private') this.punch?.maybePunch(peer)
    })
    try {
      await node.start()
    } catch (err) {
      await Promise.resolve(node.stop()).catch((stopErr: unknown) => this.log.debug({ err: stopErr }, 'stop after failed start failed'))
      // a listen failure is told as riftmesh's own flag and problem, not libp2p's paragraph
      throw listenError(errorMessage(err), err) ?? new MeshError(`libp2p failed to start: ${firstLine(errorMessage(err))}`, undefined, { cause: err })
    }
    this.node = node
    this.selfIdValue = node.peerId.toString()
    for (const topic of this.topicHandlers.keys()) node.services.pubsub.subscribe(topic)
    if (relay !== undefined) {
      this.probe = new ReachabilityProbe({ libp2p: node, clock: this.clock, logger: this.log }, {
        advertised: () => this.listenAddrs(),
        onChange: async state => await this.reachabilityChanged(node, state, relay)
      })
      this.reserving = false
      // no relaying until members have dialled this node back: a NATed relay is no use to anyone
      await serveRelay(node, false, this.log)
      await this.probe.start()
      this.punch = new HolePunch({ libp2p: node, clock: this.clock, logger: this.log })
      await this.punch.start()
    }
  }

  async stop (): Promise<void> {
    const node = this.node
    if (node === undefined) return
    this.node = undefined
    await this.probe?.stop()
    this.probe = undefined
    await this.punch?.stop()
    this.punch = undefined
    await node.stop()
  }

  /** Private: reserve relays (once) and stop relaying; public: relay, and advertise no relayed address. */
  private async reachabilityChanged (node: Node, state: ReachabilityState, relay: RelayInit): Promise<void> {
    if (state === 'private' && !this.reserving) {
      this.reserving = true
      await reserveRelays(node, relay.reservations ?? DEFAULT_RESERVATIONS, this.log)
    }
    await serveRelay(node, state === 'public', this.log)
    this.emitAddrs()
    if (state === 'private') for (const peer of this.connectedPeers()) this.punch?.maybePunch(peer)
  }

  private get clock (): Clock {
    return this.components.clock ?? new SystemClock()
  }

  /** Whether others can dial this node directly, and why; undefined without `relay`. */
  reachability (): Reachability | undefined {
    return this.probe?.reachability
  }

  /** Direct or relayed, per connected peer (a peer with both is direct). */
  peerPath (peer: string): PeerPath {
    const conns = this.node?.getConnections(peerIdFromString(peer)) ?? []
    if (conns.length === 0) return 'none'
    return conns.some(c => !isRelayed(c.remoteAddr.toString())) ? 'direct' : 'relayed'
  }

  /** Called with the advertised addresses whenever they change (a relay reservation made or lost). */
  onAddrsChange (listener: (addrs: string[]) => void): () => void {
    this.addrListeners.add(listener)
    return () => this.addrListeners.delete(listener)
  }

  private emitAddrs (): void {
    const addrs = this.listenAddrs()
    const key = addrs.join(' ')
    if (key === this.lastAddrs) return // self:peer:update also fires for protocol changes
    this.lastAddrs = key
    for (const l of this.addrListeners) {
      try {
        l(addrs)
      } catch (err) {
        this.log.error({ err }, 'address listener threw')
      }
    }
  }

  listenAddrs (): string[] {
    return this.node?.getMultiaddrs().map(a => a.toString()) ?? []
  }

  subscribe (topic: string, handler: (msg: MeshMessage) => void): () => void {
    let set = this.topicHandlers.get(topic)
    if (set === undefined) {
      set = new Set()
      this.topicHandlers.set(topic, set)
      this.node?.services.pubsub.subscribe(topic)
    }
    set.add(handler)
    return () => {
      set.delete(handler)
      if (set.size === 0) {
        this.topicHandlers.delete(topic)
        this.node?.services.pubsub.unsubscribe(topic)
      }
    }
  }

  async publish (topic: string, data: Uint8Array): Promise<void> {
    await this.libp2p.services.pubsub.publish(topic, data)
  }

  async handle (protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void> {
    await this.libp2p.handle(protocol, async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      try {
        await handler(wrapStream(stream, options.maxFrameBytes), peer)
      } catch (err) {
        this.log.debug({ err, peer, protocol }, 'stream handler failed')
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }, { maxInboundStreams: options.maxInboundStreams ?? 8, maxOutboundStreams: 64, runOnLimitedConnection: true })
  }

  async open (peer: string, protocol: string, options: OpenOptions): Promise<FrameStream> {
    try {
      // an open connection first, a direct one before a relayed one: libp2p's dial by peer id
      // ignores a limited (relayed) connection and dials the relayed address again, and two
      // connections on one relayed address abort each other
      const id = peerIdFromString(peer)
      const open = this.libp2p.getConnections(id).filter(c => c.status === 'open')
      const conn = open.find(c => !isRelayed(c.remoteAddr.toString())) ?? open[0]
      const stream = conn !== undefined
        ? await conn.newStream(protocol, { signal: options.signal, runOnLimitedConnection: true })
        : await this.libp2p.dialProtocol(id, protocol, { signal: options.signal, runOnLimitedConnection: true })
      return wrapStream(stream, options.maxFrameBytes)
    } catch (err) {
      throw new MeshError(`cannot open ${protocol} to ${peer}: ${errorMessage(err)}`, peer, { cause: err })
    }
  }

  /**
   * Dial a multiaddr (with /p2p/<id>), or several addresses of one peer, tried in turn until one
   * connects; resolves with the remote peer id.
   */
  async dial (addr: string | readonly string[], options: { signal?: AbortSignal } = {}): Promise<string> {
    const list = typeof addr === 'string' ? [addr] : [...addr]
    try {
      const conn = await this.libp2p.dial(list.length === 1 ? multiaddr(list[0] as string) : list.map(a => multiaddr(a)), { signal: options.signal })
      return conn.remotePeer.toString()
    } catch (err) {
      throw new MeshError(`cannot dial ${list.join(' or ')}: ${errorMessage(err)}`, undefined, { cause: err })
    }
  }

  /** Tell libp2p where a peer listens (so streams opened by peer id can dial it). */
  async addPeerAddrs (peer: string, addrs: readonly string[]): Promise<void> {
    const node = this.node
    if (node === undefined || addrs.length === 0) return
    await node.peerStore.merge(peerIdFromString(peer), { multiaddrs: addrs.map(a => multiaddr(a.replace(/\/p2p\/[^/]+$/, ''))) })
  }

  /** Open connections: the remote peer, the address in use, who dialled, and whether through a relay. */
  connections (): Array<{ peer: string, addr: string, direction: 'inbound' | 'outbound', relayed: boolean }> {
    if (this.node === undefined) return []
    return this.node.getConnections().map(c => ({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, relayed: isRelayed(c.remoteAddr.toString()) }))
  }

  connectedPeers (): string[] {
    if (this.node === undefined) return []
    return [...new Set(this.node.getConnections().map(c => c.remotePeer.toString()))].sort()
  }

  /**
   * Dialable addresses of a peer (for the peer cache): what it announced through identify, and
   * the addresses we dialled it on. The source address of an inbound connection is left out — it
   * is an ephemeral port nobody listens on.
   */
  async peerAddrs (peer: string): Promise<string[]> {
    const node = this.node
    if (node === undefined) return []
    const id = peerIdFromString(peer)
    const out = new Set(node.getConnections(id).filter(c => c.direction === 'outbound').map(c => c.remoteAddr.toString()))
    try {
      const known = await node.peerStore.get(id)
      for (const a of known.addresses) out.add(a.multiaddr.toString())
    } catch (err) {
      this.log.debug({ err, peer }, 'peer not in the peer store yet')
    }
    return [...out]
  }

  /** Close every connection to `peer`; with a reason, `onHangUp` listeners hear it first. */
  async hangUp (peer: string, reason?: HangUpReason): Promise<void> {
    if (reason !== undefined) {
      for (const l of this.hangUpListeners) {
        try {
          l(peer, reason)
        } catch (err) {
          this.log.error({ err, peer }, 'hang-up listener threw')
        }
      }
    }
    await this.node?.hangUp(peerIdFromString(peer))
  }

  /** Called when this node hangs up on a peer for a reason (a peer of another cluster). */
  onHangUp (listener: (peer: string, reason: HangUpReason) => void): () => void {
    this.hangUpListeners.add(listener)
    return () => this.hangUpListeners.delete(listener)
  }

  /** Called when a peer has told us (identify) the addresses it listens on. */
  onIdentify (listener: (peer: string, listenAddrs: string[]) => void): () => void {
    this.identifyListeners.add(listener)
    return () => this.identifyListeners.delete(listener)
  }

  onPeer (event: PeerEvent, listener: (peer: string) => void): () => void {
    const set = this.peerListeners.get(event) as Set<(p: string) => void>
    set.add(listener)
    return () => set.delete(listener)
  }

  private emitPeer (event: PeerEvent, peer: string): void {
    for (const l of this.peerListeners.get(event) ?? []) {
      try {
        l(peer)
      } catch (err) {
        this.log.error({ err, peer, event }, 'peer listener threw')
      }
    }
  }
}

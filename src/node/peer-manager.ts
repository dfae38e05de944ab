/**
 * Keeps this node connected: remembers every peer it connects to in the peer cache (with
 * reputation), dials the bootstrap list and the cached peers at start and whenever it has no
 * connection — so a restarted node rejoins even without a bootstrap list — and dials nodes it
 * learns of from the cluster document (their NodeInfo addresses) while it has fewer than
 * `targetPeers` connections, so the mesh does not hang on the bootstrap node alone.
 */
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import { timeoutSignal } from '../core/clock.js'
import type { LocalTables } from '../store/tables.js'
import type { Libp2pMesh } from '../mesh/libp2p-mesh.js'
import type { ClusterState } from '../state/cluster-state.js'

export interface PeerManagerInit {
  bootstrap: readonly string[]
  /** How often to check for isolation and redial. @default 5_000 */
  redialIntervalMs?: number
  /** Per-dial timeout (a wrong swarm key shows as a timeout). @default 5_000 */
  dialTimeoutMs?: number
  /** Most cached peers dialled per round. @default 8 */
  maxDialsPerRound?: number
  /** Connections to keep by dialling nodes from the document. @default 8 */
  targetPeers?: number
}

export interface PeerManagerComponents {
  mesh: Libp2pMesh
  /** The cluster document: other nodes' NodeInfo addresses. */
  state?: ClusterState
  tables: LocalTables
  clock: Clock
  rng: Rng
  logger: Logger
}

export class PeerManager {
  private timer: TimerHandle | undefined
  private unsubscribe: (() => void) | undefined
  private unsubscribeIdentify: (() => void) | undefined
  private readonly controller = new AbortController()
  private dialing = false
  private readonly log: Logger

  constructor (private readonly c: PeerManagerComponents, private readonly init: PeerManagerInit) {
    this.log = c.logger.child({ component: 'peer-manager' })
  }

  start (): void {
    if (this.unsubscribe !== undefined) return
    this.unsubscribe = this.c.mesh.onPeer('connect', peer => {
      this.remember(peer).catch((err: unknown) => this.log.warn({ err, peer }, 'peer cache write failed'))
    })
    this.unsubscribeIdentify = this.c.mesh.onIdentify((peer, addrs) => {
      const dialable = addrs.filter(a => !/\/ip[46]\/(0\.0\.0\.0|::)\//.test(a)).map(a => (a.includes('/p2p/') ? a : `${a}/p2p/${peer}`))
      this.c.tables.setPeerAddrs(peer, dialable, this.c.clock.nowMs())
        .catch((err: unknown) => this.log.warn({ err, peer }, 'peer cache write failed'))
    })
    this.round()
  }

  stop (): void {
    this.controller.abort(new Error('peer manager stopped'))
    this.c.clock.clearTimer(this.timer)
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.unsubscribeIdentify?.()
    this.unsubscribeIdentify = undefined
  }

  /** Record a connection in the peer cache (its listen addresses follow from identify). */
  private async remember (peer: string): Promise<void> {
    const addrs = (await this.c.mesh.peerAddrs(peer)).map(a => (a.includes('/p2p/') ? a : `${a}/p2p/${peer}`))
    await this.c.tables.recordPeerOutcome(peer, addrs, true, this.c.clock.nowMs())
  }

  private round (): void {
    if (this.controller.signal.aborted) return
    const connected = this.c.mesh.connectedPeers()
    if (!this.dialing && (connected.length === 0 || connected.length < (this.init.targetPeers ?? 8))) {
      this.dialing = true
      const work = connected.length === 0
        ? Promise.all([this.dialKnown(), this.dialMembers(connected)])
        : this.dialMembers(connected)
      work
        .catch((err: unknown) => this.log.debug({ err }, 'redial round failed'))
        .finally(() => { this.dialing = false })
    }
    this.timer = this.c.clock.setTimer(() => this.round(), this.init.redialIntervalMs ?? 5_000)
  }

  /** Dial a few nodes of the document this node is not connected to. */
  private async dialMembers (connected: readonly string[]): Promise<void> {
    const state = this.c.state
    if (state === undefined) return
    const have = new Set(connected)
    const missing = this.c.rng.shuffle(state.nodes().filter(n => n.nodeId !== this.c.mesh.selfId && !have.has(n.nodeId)))
      .slice(0, Math.max(0, (this.init.targetPeers ?? 8) - connected.length))
    await Promise.all(missing.map(async n => {
      const addr = n.addrs.find(a => a.endsWith(`/p2p/${n.nodeId}`)) ?? (n.addrs[0] !== undefined ? `${n.addrs[0]}/p2p/${n.nodeId}` : undefined)
      if (addr === undefined) return
      const t = timeoutSignal(this.c.clock, this.init.dialTimeoutMs ?? 5_000, this.controller.signal)
      try {
        await this.c.mesh.dial(addr, { signal: t.signal })
      } catch (err) {
        this.log.debug({ err, peer: n.nodeId }, 'dial of a member failed')
      } finally {
        t.clear()
      }
    }))
  }

  /** Dial the bootstrap list and the best cached peers, in parallel, each with a timeout. */
  private async dialKnown (): Promise<void> {
    const cached = (await this.c.tables.peerCache.entries()).map(([, e]) => e)
      .filter(e => e.peerId !== this.c.mesh.selfId && e.addrs.length > 0)
      .sort((a, b) => b.reputation - a.reputation)
      .slice(0, this.init.maxDialsPerRound ?? 8)
    const targets: Array<{ addr: string, peer: string | null }> = [
      ...this.init.bootstrap.map(addr => ({ addr, peer: null })),
      ...cached.map(e => ({ addr: this.c.rng.pick(e.addrs) as string, peer: e.peerId }))
    ]
    await Promise.all(targets.map(async ({ addr, peer }) => {
      const t = timeoutSignal(this.c.clock, this.init.dialTimeoutMs ?? 5_000, this.controller.signal)
      try {
        await this.c.mesh.dial(addr, { signal: t.signal })
      } catch (err) {
        if (peer !== null && !this.controller.signal.aborted) {
          await this.c.tables.recordPeerOutcome(peer, [], false, this.c.clock.nowMs())
        }
        this.log.debug({ err, addr }, 'dial failed')
      } finally {
        t.clear()
      }
    }))
  }
}

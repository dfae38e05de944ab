/**
 * Keeps this node connected: remembers every peer it connects to in the peer cache (with
 * reputation and the addresses it can be dialled on), dials the bootstrap list and the cached
 * peers at start and whenever it has no connection — so a restarted node rejoins through any
 * surviving member — and dials the members it learns of from the cluster document (every
 * address each advertised, in turn) while it has fewer than `targetPeers` connections.
 *
 * It also says how connected the node is (`report()`: per member connected or not, the address
 * in use, the last dial error and its likely cause) and warns — at the first round and every
 * `isolationWarnIntervalMs` while it lasts — when the node reaches nobody although it has
 * someone to reach, naming each bootstrap address and why it failed. A peer this node hung up
 * on (another cluster: `Libp2pMesh.onHangUp`) shows with that cause and is not dialled again for
 * `refusedRedialMs`.
 */
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import { timeoutSignal } from '../core/clock.js'
import { errorMessage } from '../core/errors.js'
import type { LocalTables } from '../store/tables.js'
import type { Libp2pMesh } from '../mesh/libp2p-mesh.js'
import type { HangUpReason } from '../mesh/mesh.js'
import type { ClusterState } from '../state/cluster-state.js'
import { DIAL_CAUSE_HINTS, dialAddrs, dialCause, peerIdOf, type DialCause } from '../mesh/addrs.js'

/** @default 5_000 */
export const DEFAULT_REDIAL_INTERVAL_MS = 5_000
/** @default 5_000 */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000
/** @default 8 */
export const DEFAULT_TARGET_PEERS = 8
/** @default 60_000 */
export const DEFAULT_ISOLATION_WARN_INTERVAL_MS = 60_000
/** @default 60_000 */
export const DEFAULT_REFUSED_REDIAL_MS = 60_000
/** After a new connection, the next round comes this soon (to dial the members it tells of). */
export const KICK_DELAY_MS = 1_000
/** Most members whose last dial outcome is kept. */
export const MAX_TRACKED_MEMBERS = 4_096

export interface PeerManagerInit {
  bootstrap: readonly string[]
  /** How often to check for isolation and redial. @default 5_000 */
  redialIntervalMs?: number
  /** Per-dial timeout (a host that drops packets shows as a timeout). @default 5_000 */
  dialTimeoutMs?: number
  /** Most cached peers dialled per round. @default 8 */
  maxDialsPerRound?: number
  /** Connections to keep by dialling members from the document: min(members − 1, this). @default 8 */
  targetPeers?: number
  /** How often the isolation warning repeats while it lasts. @default 60_000 */
  isolationWarnIntervalMs?: number
  /** How long a peer this node hung up on (another cluster) is not dialled again. @default 60_000 */
  refusedRedialMs?: number
}

export interface PeerManagerComponents {
  mesh: Libp2pMesh
  /** The cluster document: other nodes' NodeInfo addresses. */
  state?: ClusterState
  tables: LocalTables
  clock: Clock
  rng: Rng
  logger: Logger
  /** The failure detector's verdict on a node (for "connected to k of n alive members"). */
  health?: (nodeId: string) => string | undefined
}

export interface DialOutcome { error: string, cause: DialCause, hint: string, atMs: number }

export interface MemberLink {
  nodeId: string
  connected: boolean
  /** The remote address of an open connection, or null. */
  addr: string | null
  direction: 'inbound' | 'outbound' | null
  /** Connected directly or only through a relay; null when not connected. */
  path?: 'direct' | 'relayed' | null
  health: string | null
  lastError: DialOutcome | null
}

export interface BootstrapLink { addr: string, reached: boolean, lastError: DialOutcome | null }

export interface MeshReport {
  connectedPeers: number
  members: number
  aliveMembers: number
  connectedAliveMembers: number
  /** "connected to 4 of 4 alive members" */
  summary: string
  everConnected: boolean
  isolated: boolean
  /** The isolation warning while it lasts, else null. */
  warning: string | null
  bootstrap: BootstrapLink[]
  peers: MemberLink[]
  /** Whether others can dial this node directly, and why; null when relaying is off. */
  reachability?: { state: string, why: string } | null
}

export class PeerManager {
  private timer: TimerHandle | undefined
  private unsubscribe: (() => void) | undefined
  private unsubscribeIdentify: (() => void) | undefined
  private unsubscribeHangUp: (() => void) | undefined
  private readonly controller = new AbortController()
  private dialing = false
  private running = false
  private readonly log: Logger
  private readonly targetPeers: number
  private everConnectedValue = false
  private knowsOthersAtStart = false
  private rounds = 0
  private lastIsolationWarnMs: number | undefined
  private readonly memberErrors = new Map<string, DialOutcome>()
  private readonly bootstrapOutcomes = new Map<string, { reached: boolean, lastError: DialOutcome | null }>()
  private readonly knownAddrs = new Map<string, string>()
  /** Peers this node hung up on, why, and when (monotonic): not dialled for `refusedRedialMs`. */
  private readonly refused = new Map<string, { outcome: DialOutcome, atMonoMs: number }>()
  /** The peer each bootstrap address answered as. */
  private readonly bootstrapPeers = new Map<string, string>()

  constructor (private readonly c: PeerManagerComponents, private readonly init: PeerManagerInit) {
    this.log = c.logger.child({ component: 'peer-manager' })
    this.targetPeers = init.targetPeers ?? DEFAULT_TARGET_PEERS
    if (!(Number.isInteger(this.targetPeers) && this.targetPeers >= 1)) throw new RangeError(`targetPeers must be an integer ≥ 1, got ${this.targetPeers}`)
    for (const addr of init.bootstrap) this.bootstrapOutcomes.set(addr, { reached: false, lastError: null })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.unsubscribe = this.c.mesh.onPeer('connect', peer => {
      this.everConnectedValue = true
      this.remember(peer).catch((err: unknown) => this.log.warn({ err, peer }, 'peer cache write failed'))
      this.kick()
    })
    this.unsubscribeIdentify = this.c.mesh.onIdentify((peer, addrs) => {
      this.c.tables.setPeerAddrs(peer, dialAddrs(peer, addrs), this.c.clock.nowMs())
        .catch((err: unknown) => this.log.warn({ err, peer }, 'peer cache write failed'))
    })
    this.unsubscribeHangUp = this.c.mesh.onHangUp((peer, reason) => this.hungUp(peer, reason))
    this.c.tables.peerCache.entries()
      .then(entries => { if (entries.some(([id]) => id !== this.c.mesh.selfId)) this.knowsOthersAtStart = true })
      .catch((err: unknown) => this.log.warn({ err }, 'peer cache read failed'))
      .finally(() => this.round())
  }

  stop (): void {
    this.running = false
    this.controller.abort(new Error('peer manager stopped'))
    this.c.clock.clearTimer(this.timer)
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.unsubscribeIdentify?.()
    this.unsubscribeIdentify = undefined
    this.unsubscribeHangUp?.()
    this.unsubscribeHangUp = undefined
  }

  /** Whether this node has been connected to any peer since it started. */
  get everConnected (): boolean {
    return this.everConnectedValue
  }

  /**
   * Whether this node may stand for leader: once it has been in contact with a peer, or when it
   * founds a cluster (no bootstrap list, nobody cached, nobody else in its document). A node that
   * was told whom to join and has reached nobody must not run as a cluster of one.
   */
  mayLead (): { ok: true } | { ok: false, reason: string } {
    if (this.everConnectedValue) return { ok: true }
    const others = this.c.state?.nodes().some(n => n.nodeId !== this.c.mesh.selfId) ?? false
    if (this.init.bootstrap.length === 0 && !this.knowsOthersAtStart && !others) return { ok: true }
    return { ok: false, reason: 'this node has not reached any peer since it started (it was given peers to join): it will not lead a cluster of one' }
  }

  /** How connected this node is, per member and per bootstrap address. */
  report (): MeshReport {
    const self = this.c.mesh.selfId
    const conns = new Map<string, { addr: string, direction: 'inbound' | 'outbound', relayed: boolean }>()
    for (const c of this.c.mesh.connections()) {
      const cur = conns.get(c.peer)
      // a direct connection before a relayed one, then an outbound one before an inbound one
      const better = cur === undefined || (cur.relayed && !c.relayed) || (cur.relayed === c.relayed && cur.direction === 'inbound' && c.direction === 'outbound')
      if (better) conns.set(c.peer, { addr: c.addr, direction: c.direction, relayed: c.relayed })
    }
    const health = this.c.health
    const peers: MemberLink[] = (this.c.state?.nodes() ?? []).filter(n => n.nodeId !== self).map(n => {
      const conn = conns.get(n.nodeId)
      return {
        nodeId: n.nodeId,
        connected: conn !== undefined,
        addr: conn?.addr ?? null,
        direction: conn?.direction ?? null,
        path: conn === undefined ? null : (conn.relayed ? 'relayed' : 'direct'),
        health: health?.(n.nodeId) ?? null,
        lastError: this.memberErrors.get(n.nodeId) ?? null
      }
    })
    const alive = peers.filter(p => p.health === 'ALIVE')
    const connectedAlive = alive.filter(p => p.connected).length
    const warning = this.isolationWarning(conns.size)
    return {
      connectedPeers: conns.size,
      members: peers.length,
      aliveMembers: alive.length,
      connectedAliveMembers: connectedAlive,
      summary: `connected to ${connectedAlive} of ${alive.length} alive member(s)${conns.size > connectedAlive ? ` (${conns.size} connection(s) in all)` : ''}`,
      everConnected: this.everConnectedValue,
      isolated: conns.size === 0,
      warning,
      bootstrap: [...this.bootstrapOutcomes].map(([addr, o]) => ({ addr, reached: o.reached, lastError: o.lastError })),
      peers,
      reachability: ((r) => r === undefined ? null : { state: r.state, why: r.why })(this.c.mesh.reachability())
    }
  }

  /** Run the next round soon (a new connection may tell of members to dial). */
  private kick (): void {
    if (!this.running || this.controller.signal.aborted) return
    this.c.clock.clearTimer(this.timer)
    this.timer = this.c.clock.setTimer(() => this.round(), KICK_DELAY_MS)
  }

  /** Record a connection in the peer cache (its listen addresses follow from identify). */
  private async remember (peer: string): Promise<void> {
    const addrs = dialAddrs(peer, await this.c.mesh.peerAddrs(peer))
    await this.c.tables.recordPeerOutcome(peer, addrs, true, this.c.clock.nowMs())
  }

  private round (): void {
    if (!this.running || this.controller.signal.aborted) return
    this.c.clock.clearTimer(this.timer)
    const connected = this.c.mesh.connectedPeers()
    if (!this.dialing) {
      this.dialing = true
      const work = connected.length === 0
        ? Promise.all([this.dialKnown(), this.dialMembers(connected)])
        : this.dialMembers(connected)
      work
        .catch((err: unknown) => this.log.debug({ err }, 'redial round failed'))
        .finally(() => {
          this.dialing = false
          this.rounds++
          this.warnIfIsolated()
        })
    }
    this.timer = this.c.clock.setTimer(() => this.round(), this.init.redialIntervalMs ?? DEFAULT_REDIAL_INTERVAL_MS)
  }

  /** Teach libp2p every member's addresses, and dial members this node is not connected to, up to the target. */
  private async dialMembers (connected: readonly string[]): Promise<void> {
    const state = this.c.state
    if (state === undefined) return
    const self = this.c.mesh.selfId
    const members = state.nodes().filter(n => n.nodeId !== self)
    for (const n of members) {
      const addrs = dialAddrs(n.nodeId, n.addrs)
      const key = addrs.join(' ')
      if (this.knownAddrs.get(n.nodeId) === key) continue
      if (this.knownAddrs.size >= MAX_TRACKED_MEMBERS) this.knownAddrs.clear()
      this.knownAddrs.set(n.nodeId, key)
      await this.c.mesh.addPeerAddrs(n.nodeId, addrs).catch((err: unknown) => this.log.debug({ err, peer: n.nodeId }, 'peer store write failed'))
    }
    const want = Math.min(members.length, this.targetPeers)
    if (connected.length >= want) return
    const have = new Set(connected)
    const missing = this.c.rng.shuffle(members.filter(n => !have.has(n.nodeId) && this.refusedOutcome(n.nodeId) === undefined)).slice(0, want - connected.length)
    await Promise.all(missing.map(async n => {
      const addrs = dialAddrs(n.nodeId, n.addrs)
      if (addrs.length === 0) return
      try {
        await this.dialWithTimeout(addrs)
        this.memberErrors.delete(n.nodeId)
      } catch (err) {
        if (this.controller.signal.aborted) return
        const outcome = this.outcome(err)
        if (this.memberErrors.size >= MAX_TRACKED_MEMBERS) this.memberErrors.clear()
        this.memberErrors.set(n.nodeId, outcome)
        this.log.debug({ peer: n.nodeId, addrs, cause: outcome.cause, err: outcome.error }, 'dial of a member failed')
      }
    }))
  }

  /** Dial the bootstrap list and the best cached peers (every address each), in parallel, each with a timeout. */
  private async dialKnown (): Promise<void> {
    const cached = (await this.c.tables.peerCache.entries()).map(([, e]) => e)
      .filter(e => e.peerId !== this.c.mesh.selfId && e.addrs.length > 0 && this.refusedOutcome(e.peerId) === undefined)
      .sort((a, b) => b.reputation - a.reputation)
      .slice(0, this.init.maxDialsPerRound ?? 8)
    const boot = [...this.init.bootstrap].map(async addr => {
      const o = this.bootstrapOutcomes.get(addr) ?? { reached: false, lastError: null }
      const known = this.bootstrapPeer(addr)
      const refused = known !== undefined ? this.refusedOutcome(known) : undefined
      if (refused !== undefined) {
        this.bootstrapOutcomes.set(addr, { reached: o.reached, lastError: refused })
        return
      }
      try {
        const peer = await this.dialWithTimeout([addr])
        if (this.bootstrapPeers.size >= MAX_TRACKED_MEMBERS) this.bootstrapPeers.clear()
        this.bootstrapPeers.set(addr, peer)
        this.bootstrapOutcomes.set(addr, { reached: true, lastError: null })
      } catch (err) {
        if (this.controller.signal.aborted) return
        const outcome = this.outcome(err)
        this.bootstrapOutcomes.set(addr, { reached: o.reached, lastError: outcome })
        this.log.debug({ addr, cause: outcome.cause, err: outcome.error }, 'bootstrap dial failed')
      }
    })
    const fromCache = cached.map(async e => {
      const addrs = dialAddrs(e.peerId, e.addrs)
      try {
        await this.dialWithTimeout(addrs)
      } catch (err) {
        if (this.controller.signal.aborted) return
        await this.c.tables.recordPeerOutcome(e.peerId, [], false, this.c.clock.nowMs())
        this.log.debug({ err, peer: e.peerId, addrs }, 'dial of a cached peer failed')
      }
    })
    await Promise.all([...boot, ...fromCache])
  }

  /** Dial one peer's addresses; resolves with the peer id that answered. */
  private async dialWithTimeout (addrs: readonly string[]): Promise<string> {
    const t = timeoutSignal(this.c.clock, this.init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, this.controller.signal)
    try {
      return await this.c.mesh.dial(addrs, { signal: t.signal })
    } finally {
      t.clear()
    }
  }

  private outcome (err: unknown): DialOutcome {
    const cause = dialCause(err, this.c.mesh.selfId)
    return { error: errorMessage(err).slice(0, 300), cause, hint: DIAL_CAUSE_HINTS[cause], atMs: this.c.clock.nowMs() }
  }

  /**
   * This node hung up on `peer` (another cluster): that is the peer's last error, and that of
   * each bootstrap address it answered on, until a dial after `refusedRedialMs` says otherwise.
   */
  private hungUp (peer: string, reason: HangUpReason): void {
    const outcome: DialOutcome = { error: reason.detail, cause: reason.cause, hint: `${reason.detail}: ${DIAL_CAUSE_HINTS[reason.cause]}`, atMs: this.c.clock.nowMs() }
    if (this.refused.size >= MAX_TRACKED_MEMBERS) this.refused.clear()
    this.refused.set(peer, { outcome, atMonoMs: this.c.clock.monoMs() })
    if (this.memberErrors.size >= MAX_TRACKED_MEMBERS) this.memberErrors.clear()
    this.memberErrors.set(peer, outcome)
    for (const [addr, o] of this.bootstrapOutcomes) {
      if (this.bootstrapPeer(addr) === peer) this.bootstrapOutcomes.set(addr, { reached: o.reached, lastError: outcome })
    }
  }

  /** The peer a bootstrap address answered as (or names in its `/p2p/` part). */
  private bootstrapPeer (addr: string): string | undefined {
    return this.bootstrapPeers.get(addr) ?? peerIdOf(addr)
  }

  /** Why this node hung up on `peer`, while that keeps it from dialling the peer. */
  private refusedOutcome (peer: string): DialOutcome | undefined {
    const r = this.refused.get(peer)
    if (r === undefined) return undefined
    if (this.c.clock.monoMs() - r.atMonoMs < (this.init.refusedRedialMs ?? DEFAULT_REFUSED_REDIAL_MS)) return r.outcome
    this.refused.delete(peer)
    return undefined
  }

  /** The isolation warning, when this node reaches nobody although it has someone to reach. */
  private isolationWarning (connections: number): string | null {
    if (connections > 0 || this.rounds === 0) return null
    const boot = [...this.bootstrapOutcomes]
    const members = this.c.state?.nodes().filter(n => n.nodeId !== this.c.mesh.selfId).length ?? 0
    if (boot.length === 0 && members === 0 && !this.knowsOthersAtStart) return null
    const causes = boot.map(([addr, o]) => `${addr}: ${o.lastError === null ? 'not answered yet' : `${o.lastError.hint} (${o.lastError.cause})`}`)
    const what = boot.length > 0 ? `none of the ${boot.length} bootstrap address(es) answered` : `none of the ${members} known member(s) answered`
    return `isolated: this node is connected to no peer; ${what}${causes.length > 0 ? ` — ${causes.join('; ')}` : ''}. Check the swarm key (the same file on every node), node.clusterName (the same on every node), the address and peer id, and that the port is open`
  }

  private warnIfIsolated (): void {
    const warning = this.isolationWarning(this.c.mesh.connectedPeers().length)
    if (warning === null) {
      this.lastIsolationWarnMs = undefined
      return
    }
    const now = this.c.clock.monoMs()
    if (this.lastIsolationWarnMs !== undefined && now - this.lastIsolationWarnMs < (this.init.isolationWarnIntervalMs ?? DEFAULT_ISOLATION_WARN_INTERVAL_MS)) return
    this.lastIsolationWarnMs = now
    this.log.warn({ bootstrap: this.report().bootstrap.map(b => ({ addr: b.addr, cause: b.lastError?.cause ?? null, error: b.lastError?.error ?? null })) }, warning)
  }
}

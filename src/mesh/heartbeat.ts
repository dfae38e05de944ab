/**
 * Heartbeats: liveness and volatile load on their own topic, outside the document (so they add
 * nothing to it). Each node publishes one every `heartbeatIntervalMs`; every node applies the
 * same failure-detector rule (`health.ts`) to the last one it received from each peer.
 *
 * A restart is told from a replay by the sender's incarnation (persisted and bumped at each of
 * its starts), never by its wall clock: a node restarted with its clock moved back is heard at
 * once. The send time serves only to measure each peer's clock against ours; a peer further
 * off than `maxClockSkewMs` is warned about (log, `clockSkews()` for status and metrics).
 */
import { createHash } from 'node:crypto'
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { DocSet } from '../state/docs.js'
import { Heartbeat } from './gen/riftmesh.js'
import type { Mesh, MeshMessage } from './mesh.js'
import type { DropCounters } from './drops.js'
import { healthOf, type Health, type HealthRule } from './health.js'
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../config/defaults.js'

export const HEARTBEAT_VERSION = 1
/** Largest heartbeat accepted, in bytes. */
export const MAX_HEARTBEAT_BYTES = 1024

export interface LoadSample {
  cpuPercent: number
  memoryPercent: number
  diskPercent: number
  gpuPercent: number
  gpuMemoryPercent: number
  selfplayJobs: number
  trainingJobs: number
}

/** Where the volatile load in our heartbeats comes from. */
export interface LoadSource {
  sample(): LoadSample
}

export interface PeerHealthView {
  peer: string
  health: Health
  lastHeartbeatMs: number
  /** Local clock ms since that heartbeat. */
  silentMs: number
  seq: number
  /** The peer's incarnation (0 from a node that does not send one). */
  incarnation: number
  /** The peer's clock minus ours, from its last heartbeat (its send time against our receive time; positive: it is ahead). */
  clockSkewMs: number
  load: LoadSample
}

/** A peer whose clock is further from ours than `maxClockSkewMs`. */
export interface ClockSkew { peer: string, skewMs: number }

export interface HeartbeatServiceInit extends HealthRule {
  topic: string
  heartbeatIntervalMs: number
  /** Most peers tracked (the longest silent forgotten first). @default 4096 */
  maxPeers?: number
  /** This start's incarnation, persisted and bumped by the node at each start (`mesh/incarnation.ts`). @default 0 (not sent) */
  incarnation?: number
  /** A peer whose clock differs from ours by more than this is warned about. @default 10_000 */
  maxClockSkewMs?: number
  /** This node's trust root (trust.operators): a peer started with another is warned about. @default [] */
  trustRoot?: readonly string[]
}

export interface HeartbeatServiceComponents {
  mesh: Mesh
  clock: Clock
  logger: Logger
  drops: DropCounters
  load: LoadSource
  docs: DocSet
}

interface PeerRecord extends HeartbeatOrder { lastMs: number, skewMs: number, load: LoadSample, digest: Uint8Array, trustRoot: Uint8Array }

/** What orders the heartbeats of one sender. */
export interface HeartbeatOrder { incarnation: bigint, seq: bigint, sentAtMs: bigint }

/**
 * Whether `hb` is newer than `prev`, the last heartbeat accepted from its sender (pure).
 * A higher incarnation is a restart and wins; within one incarnation a higher seq wins; send
 * times are not compared (a clock moved back must not silence a node). A lower incarnation is a
 * replay, accepted only when `prevDead` (the sender was silent past deadAfterMs: its data dir
 * was restored from an older copy, say). Between two senders that send no incarnation (older
 * nodes, both 0) the rule before incarnations applies: newer in seq or in send time.
 */
export function isNewerHeartbeat (prev: HeartbeatOrder | undefined, hb: HeartbeatOrder, prevDead: boolean): boolean {
  if (prev === undefined) return true
  if (hb.incarnation === 0n && prev.incarnation === 0n) return hb.seq > prev.seq || hb.sentAtMs > prev.sentAtMs
  if (hb.incarnation !== prev.incarnation) return hb.incarnation > prev.incarnation || prevDead
  return hb.seq > prev.seq
}

/** First 8 bytes of sha256 over every document's name and state vector. */
export function stateDigest (docs: DocSet): Uint8Array {
  const h = createHash('sha256')
  for (const name of docs.names()) {
    h.update(name)
    h.update(docs.stateVector(name))
  }
  return new Uint8Array(h.digest().subarray(0, 8))
}

/** First 8 bytes of sha256 over a trust root: the operator ids, sorted, joined by "\n". */
export function trustRootDigest (operators: readonly string[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update([...new Set(operators)].sort().join('\n')).digest().subarray(0, 8))
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

export class HeartbeatService {
  private readonly mesh: Mesh
  private readonly clock: Clock
  private readonly log: Logger
  private readonly drops: DropCounters
  private readonly load: LoadSource
  private readonly docs: DocSet
  private readonly init: HeartbeatServiceInit
  private readonly peersById = new Map<string, PeerRecord>()
  private readonly digestListeners = new Set<(peer: string) => void>()
  private seq = 0n
  private startedAtMonoMs: number | undefined
  private timer: TimerHandle | undefined
  private unsubscribe: (() => void) | undefined
  /** Our digest, recomputed only after a document changed. */
  private digestCache: Uint8Array | undefined
  private unsubscribeDocs: (() => void) | undefined
  /** Consecutive heartbeats per peer whose digest differed from ours. */
  private readonly mismatches = new Map<string, number>()
  /** Peers whose clock is off by more than maxClockSkewMs (warned once per episode). */
  private readonly skewed = new Set<string>()
  /** Peers started with another trust root than ours (warned once per episode). */
  private readonly otherRoots = new Set<string>()
  private readonly trustRoot: Uint8Array
  private readonly incarnation: bigint
  private readonly maxClockSkewMs: number
  sent = 0

  constructor (components: HeartbeatServiceComponents, init: HeartbeatServiceInit) {
    this.mesh = components.mesh
    this.clock = components.clock
    this.log = components.logger.child({ component: 'heartbeat' })
    this.drops = components.drops
    this.load = components.load
    this.docs = components.docs
    this.init = init
    if (!(init.heartbeatIntervalMs > 0 && init.heartbeatIntervalMs < init.suspectAfterMs && init.suspectAfterMs < init.deadAfterMs)) {
      throw new RangeError('heartbeat needs 0 < heartbeatIntervalMs < suspectAfterMs < deadAfterMs')
    }
    const incarnation = init.incarnation ?? 0
    if (!(Number.isSafeInteger(incarnation) && incarnation >= 0)) throw new RangeError(`incarnation must be an integer ≥ 0, got ${incarnation}`)
    this.incarnation = BigInt(incarnation)
    this.trustRoot = trustRootDigest(init.trustRoot ?? [])
    this.maxClockSkewMs = init.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
    if (!(this.maxClockSkewMs > 0)) throw new RangeError(`maxClockSkewMs must be > 0, got ${this.maxClockSkewMs}`)
  }

  start (): void {
    if (this.unsubscribe !== undefined) return
    this.startedAtMonoMs = this.clock.monoMs()
    this.unsubscribe = this.mesh.subscribe(this.init.topic, m => this.onMessage(m))
    this.unsubscribeDocs = this.docs.onUpdate(() => { this.digestCache = undefined })
    this.tick()
  }

  stop (): void {
    this.clock.clearTimer(this.timer)
    this.timer = undefined
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.unsubscribeDocs?.()
    this.unsubscribeDocs = undefined
  }

  /** Our state digest (cached until a document changes). */
  private digest (): Uint8Array {
    this.digestCache ??= stateDigest(this.docs)
    return this.digestCache
  }

  /** Called with a peer whose documents seem to differ from ours for two heartbeats in a row. */
  onDigestMismatch (listener: (peer: string) => void): () => void {
    this.digestListeners.add(listener)
    return () => this.digestListeners.delete(listener)
  }

  health (peer: string): Health | undefined {
    const r = this.peersById.get(peer)
    return r === undefined ? undefined : healthOf(this.init, r.lastMs, this.clock.nowMs(), r.load.cpuPercent)
  }

  /** Every peer heard from, with its health now. */
  peers (): PeerHealthView[] {
    const now = this.clock.nowMs()
    return [...this.peersById].map(([peer, r]) => ({
      peer,
      health: healthOf(this.init, r.lastMs, now, r.load.cpuPercent),
      lastHeartbeatMs: r.lastMs,
      silentMs: now - r.lastMs,
      seq: Number(r.seq),
      incarnation: Number(r.incarnation),
      clockSkewMs: r.skewMs,
      load: r.load
    })).sort((a, b) => (a.peer < b.peer ? -1 : 1))
  }

  /** Peers not DEAD whose clock differs from ours by more than maxClockSkewMs, the furthest first. */
  clockSkews (): ClockSkew[] {
    const now = this.clock.nowMs()
    return [...this.peersById]
      .filter(([p, r]) => this.skewed.has(p) && healthOf(this.init, r.lastMs, now, r.load.cpuPercent) !== 'DEAD')
      .map(([peer, r]) => ({ peer, skewMs: r.skewMs }))
      .sort((a, b) => Math.abs(b.skewMs) - Math.abs(a.skewMs))
  }

  /**
   * Peers not DEAD that were started with another trust root (trust.operators) than this node:
   * settings one of the two accepts the other ignores. Older peers that send none are not judged.
   */
  otherTrustRoots (): string[] {
    const now = this.clock.nowMs()
    return [...this.otherRoots].filter(p => {
      const r = this.peersById.get(p)
      return r !== undefined && healthOf(this.init, r.lastMs, now, r.load.cpuPercent) !== 'DEAD'
    }).sort()
  }

  /** The bound clockSkews() applies. */
  get clockSkewBoundMs (): number {
    return this.maxClockSkewMs
  }

  /** How long this service has been listening (0 before start): a peer not heard in longer than deadAfterMs is dead to it. */
  listeningForMs (): number {
    return this.startedAtMonoMs === undefined ? 0 : this.clock.monoMs() - this.startedAtMonoMs
  }

  /** Stop tracking a peer (a node removed from the cluster); a heartbeat from it later tracks it again. */
  forget (peer: string): void {
    this.peersById.delete(peer)
    this.mismatches.delete(peer)
    this.skewed.delete(peer)
    this.otherRoots.delete(peer)
  }

  private tick (): void {
    this.publish().catch((err: unknown) => this.log.debug({ err }, 'heartbeat publish failed'))
    this.timer = this.clock.setTimer(() => this.tick(), this.init.heartbeatIntervalMs)
  }

  private async publish (): Promise<void> {
    const load = this.load.sample()
    this.seq++
    const bytes = Heartbeat.encode({
      version: HEARTBEAT_VERSION,
      nodeId: this.mesh.selfId,
      seq: this.seq,
      sentAtMs: BigInt(Math.max(0, Math.floor(this.clock.nowMs()))),
      ...load,
      stateDigest: this.digest() as Uint8Array<ArrayBuffer>,
      incarnation: this.incarnation,
      trustRootDigest: this.trustRoot as Uint8Array<ArrayBuffer>
    })
    await this.mesh.publish(this.init.topic, bytes)
    this.sent++
  }

  private onMessage (m: MeshMessage): void {
    if (m.data.byteLength > MAX_HEARTBEAT_BYTES) {
      this.drops.record(m.from, 'oversized', `heartbeat ${m.data.byteLength} bytes`)
      return
    }
    let hb: Heartbeat
    try {
      hb = Heartbeat.decode(m.data)
    } catch {
      this.drops.record(m.from, 'malformed', 'heartbeat')
      return
    }
    if (hb.version !== HEARTBEAT_VERSION) {
      this.drops.record(m.from, 'version', `heartbeat version ${hb.version}`)
      return
    }
    if (hb.nodeId !== m.from) {
      this.drops.record(m.from, 'spoofed', `heartbeat claims ${hb.nodeId.slice(0, 64)}`)
      return
    }
    const finite = [hb.cpuPercent, hb.memoryPercent, hb.diskPercent, hb.gpuPercent, hb.gpuMemoryPercent].every(v => Number.isFinite(v) && v >= 0 && v <= 100)
    if (!finite) {
      this.drops.record(m.from, 'malformed', 'heartbeat load out of range')
      return
    }
    const prev = this.peersById.get(m.from)
    const now = this.clock.nowMs()
    // a duplicate, reordered or replayed heartbeat is ignored (not counted: gossip does this)
    if (!isNewerHeartbeat(prev, hb, prev !== undefined && healthOf(this.init, prev.lastMs, now, prev.load.cpuPercent) === 'DEAD')) return
    if (prev !== undefined && hb.incarnation < prev.incarnation) {
      this.log.warn({ peer: m.from, incarnation: Number(hb.incarnation), was: Number(prev.incarnation) }, 'a peer came back with a lower incarnation (its data dir restored from an older copy?); accepted because it was dead')
    }
    if (prev === undefined && this.peersById.size >= (this.init.maxPeers ?? 4096)) this.forgetMostSilent()
    const load: LoadSample = {
      cpuPercent: hb.cpuPercent, memoryPercent: hb.memoryPercent, diskPercent: hb.diskPercent, gpuPercent: hb.gpuPercent,
      gpuMemoryPercent: hb.gpuMemoryPercent, selfplayJobs: hb.selfplayJobs, trainingJobs: hb.trainingJobs
    }
    const skewMs = Number(hb.sentAtMs) - Math.floor(now)
    this.peersById.set(m.from, { lastMs: now, incarnation: hb.incarnation, seq: hb.seq, sentAtMs: hb.sentAtMs, skewMs, load, digest: hb.stateDigest, trustRoot: hb.trustRootDigest })
    this.checkSkew(m.from, skewMs)
    this.checkTrustRoot(m.from, hb.trustRootDigest)
    this.checkDigest(m.from, hb.stateDigest)
  }

  /** Warn once when a peer's clock goes past the bound, and say when it is back within it. */
  private checkSkew (peer: string, skewMs: number): void {
    const off = Math.abs(skewMs) > this.maxClockSkewMs
    if (off === this.skewed.has(peer)) return
    if (off) {
      this.skewed.add(peer)
      this.log.warn({ peer, skewMs, maxClockSkewMs: this.maxClockSkewMs },
        `the clock of ${peer} is ${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs > 0 ? 'ahead of' : 'behind'} this node's (more than health.maxClockSkewMs); check NTP on both machines`)
    } else {
      this.skewed.delete(peer)
      this.log.info({ peer, skewMs }, 'the clock of a peer is back within health.maxClockSkewMs')
    }
  }

  /** Warn once when a peer runs with another trust root, and say when it runs with ours again. */
  private checkTrustRoot (peer: string, digest: Uint8Array): void {
    if (digest.byteLength === 0) return // a node older than the field: not judged
    const other = !sameBytes(digest, this.trustRoot)
    if (other === this.otherRoots.has(peer)) return
    if (other) {
      this.otherRoots.add(peer)
      this.log.warn({ peer }, `${peer} was started with another trust root (trust.operators) than this node: cluster settings one of them accepts the other ignores; give every node the same trust.operators`)
    } else {
      this.otherRoots.delete(peer)
      this.log.info({ peer }, `${peer} runs with this node's trust root again`)
    }
  }

  private checkDigest (peer: string, digest: Uint8Array): void {
    if (sameBytes(digest, this.digest())) {
      this.mismatches.delete(peer)
      return
    }
    const n = (this.mismatches.get(peer) ?? 0) + 1
    this.mismatches.set(peer, n)
    if (n >= 2) {
      this.mismatches.set(peer, 0)
      for (const l of this.digestListeners) l(peer)
    }
  }

  private forgetMostSilent (): void {
    let worst: string | undefined
    let worstMs = Infinity
    for (const [p, r] of this.peersById) if (r.lastMs < worstMs) { worst = p; worstMs = r.lastMs }
    if (worst !== undefined) this.forget(worst)
  }
}

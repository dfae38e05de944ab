/**
 * Heartbeats: liveness and volatile load on their own topic, outside the document (so they add
 * nothing to it). Each node publishes one every `heartbeatIntervalMs`; every node applies the
 * same failure-detector rule (`health.ts`) to the last one it received from each peer.
 */
import { createHash } from 'node:crypto'
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { DocSet } from '../state/docs.js'
import { Heartbeat } from './gen/riftmesh.js'
import type { Mesh, MeshMessage } from './mesh.js'
import type { DropCounters } from './drops.js'
import { healthOf, type Health, type HealthRule } from './health.js'

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
  load: LoadSample
}

export interface HeartbeatServiceInit extends HealthRule {
  topic: string
  heartbeatIntervalMs: number
  /** Most peers tracked (the longest silent forgotten first). @default 4096 */
  maxPeers?: number
}

export interface HeartbeatServiceComponents {
  mesh: Mesh
  clock: Clock
  logger: Logger
  drops: DropCounters
  load: LoadSource
  docs: DocSet
}

interface PeerRecord { lastMs: number, seq: bigint, sentAtMs: bigint, load: LoadSample, digest: Uint8Array }

/** First 8 bytes of sha256 over every document's name and state vector. */
export function stateDigest (docs: DocSet): Uint8Array {
  const h = createHash('sha256')
  for (const name of docs.names()) {
    h.update(name)
    h.update(docs.stateVector(name))
  }
  return new Uint8Array(h.digest().subarray(0, 8))
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
  private timer: TimerHandle | undefined
  private unsubscribe: (() => void) | undefined
  /** Our digest, recomputed only after a document changed. */
  private digestCache: Uint8Array | undefined
  private unsubscribeDocs: (() => void) | undefined
  /** Consecutive heartbeats per peer whose digest differed from ours. */
  private readonly mismatches = new Map<string, number>()
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
  }

  start (): void {
    if (this.unsubscribe !== undefined) return
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
      load: r.load
    })).sort((a, b) => (a.peer < b.peer ? -1 : 1))
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
      stateDigest: this.digest() as Uint8Array<ArrayBuffer>
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
    // A duplicate or reordered heartbeat (seq and send time not newer) is ignored; a lower seq
    // with a newer send time is the peer restarted, its seq counting from 1 again.
    if (prev !== undefined && hb.seq <= prev.seq && hb.sentAtMs <= prev.sentAtMs) return
    if (prev === undefined && this.peersById.size >= (this.init.maxPeers ?? 4096)) this.forgetMostSilent()
    const load: LoadSample = {
      cpuPercent: hb.cpuPercent, memoryPercent: hb.memoryPercent, diskPercent: hb.diskPercent, gpuPercent: hb.gpuPercent,
      gpuMemoryPercent: hb.gpuMemoryPercent, selfplayJobs: hb.selfplayJobs, trainingJobs: hb.trainingJobs
    }
    this.peersById.set(m.from, { lastMs: this.clock.nowMs(), seq: hb.seq, sentAtMs: hb.sentAtMs, load, digest: hb.stateDigest })
    this.checkDigest(m.from, hb.stateDigest)
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
    if (worst !== undefined) {
      this.peersById.delete(worst)
      this.mismatches.delete(worst)
    }
  }
}

/**
 * Replicator: keeps this node's documents converged with the mesh.
 *  - Local updates, once durable (DocStore.onPersisted), are coalesced per document over a short
 *    window (`Y.mergeUpdatesV2`) and published on the doc topic. One too large for gossip is
 *    announced instead (`tooLarge`), and receivers fetch it by sync.
 *  - Remote updates are validated and applied; bad ones are counted per peer.
 *  - Anti-entropy (`/riftmesh/sync/1.0.0`) runs with every newly connected peer, periodically with
 *    a random peer, and on request (a heartbeat digest that differs, a too-large notice).
 *  - A peer whose sync names another cluster is hung up on (`Mesh.hangUp`), with one warning.
 */
import * as Y from 'yjs'
import { timeoutSignal, type Clock, type TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import { errorMessage } from '../core/errors.js'
import { OncePerCause, type Cause } from '../core/once-per-cause.js'
import { bucketIdOfDoc, type DocName, type DocUpdate } from '../state/docs.js'
import type { ClusterState } from '../state/cluster-state.js'
import { DocUpdate as DocUpdateMsg } from './gen/riftmesh.js'
import type { Mesh, MeshMessage } from './mesh.js'
import type { DropCounters } from './drops.js'
import { ClusterMismatchError, SYNC_PROTOCOL, applyRemote, runSyncInitiator, runSyncResponder, type RetiredDocs, type SyncLimits, type SyncStats } from './sync-protocol.js'

export const DOC_MESSAGE_VERSION = 1

/** Where durable local updates come from (DocStore in a node). */
export interface UpdateSource {
  onPersisted(listener: (u: DocUpdate) => void): () => void
  /** The final state of a job bucket this node retired, as a diff against a peer's state vector (DocStore keeps the last few). */
  retiredFinal?(name: DocName, theirStateVector: Uint8Array): Promise<Uint8Array | undefined>
}

export interface ReplicatorInit {
  /** Gossip topic of document updates, e.g. `riftmesh/<cluster>/doc/1`. */
  topic: string
  /**
   * Cluster name checked in every sync exchange (peers of another cluster are refused).
   * @default the `<cluster>` part of `topic`
   */
  cluster?: string
  /** @default 30 */
  coalesceWindowMs?: number
  /** Longest a local update waits in the coalescing buffer. @default 200 */
  maxCoalesceDelayMs?: number
  /** @default 1 MiB */
  maxGossipMessageBytes?: number
  /** @default 64 MiB */
  maxStreamMessageBytes?: number
  /** @default 10_000 */
  antiEntropyIntervalMs?: number
  /** @default 10_000 */
  syncTimeoutMs?: number
  /** Shortest gap between two requested syncs with the same peer. @default 1_000 */
  minSyncGapMs?: number
  /**
   * Test-only switch: no anti-entropy at all (no sync on connect, no periodic sync, no
   * responder). Lets tests and the simulator show that convergence depends on it.
   * @default true
   */
  antiEntropy?: boolean
}

export interface ReplicatorComponents {
  mesh: Mesh
  state: ClusterState
  updates: UpdateSource
  clock: Clock
  rng: Rng
  logger: Logger
  drops: DropCounters
}

export interface ReplicatorCounters {
  published: number
  publishedBytes: number
  publishFailures: number
  received: number
  applied: number
  syncsStarted: number
  syncsFailed: number
  syncsServed: number
  tooLargeNotices: number
  /** Hang-ups on peers of another cluster. */
  foreignClusterHangUps: number
  /** Job buckets held here that a peer had retired (their final state merged, retired here in turn). */
  bucketsRetiredByPeers: number
}

export class Replicator {
  private readonly mesh: Mesh
  private readonly state: ClusterState
  private readonly clock: Clock
  private readonly rng: Rng
  private readonly log: Logger
  /** Documents too large to send, warned once per peer while it lasts. */
  private readonly tooLarge: OncePerCause
  private readonly drops: DropCounters
  private readonly updates: UpdateSource
  private readonly topic: string
  private readonly cluster: string
  private readonly coalesceWindowMs: number
  private readonly maxCoalesceDelayMs: number
  private readonly maxGossipMessageBytes: number
  private readonly maxStreamMessageBytes: number
  private readonly antiEntropyIntervalMs: number
  private readonly syncTimeoutMs: number
  private readonly minSyncGapMs: number
  private readonly antiEntropy: boolean
  private pending = new Map<DocName, Uint8Array[]>()
  private pendingSinceMs: number | undefined
  /** When the last coalesced batch went out (leading-edge publishing). */
  private lastFlushMs = Number.NEGATIVE_INFINITY
  private flushTimer: TimerHandle | undefined
  private antiEntropyTimer: TimerHandle | undefined
  private readonly syncing = new Set<string>()
  private readonly lastSyncMs = new Map<string, number>()
  /** When this node last hung up on a peer of another cluster (both sync roles may find it at once). */
  private readonly lastHangUpMs = new Map<string, number>()
  private readonly cleanups: Array<() => void> = []
  private controller: AbortController | undefined
  readonly counters: ReplicatorCounters = {
    published: 0, publishedBytes: 0, publishFailures: 0, received: 0, applied: 0, syncsStarted: 0, syncsFailed: 0, syncsServed: 0, tooLargeNotices: 0, foreignClusterHangUps: 0, bucketsRetiredByPeers: 0
  }

  constructor (components: ReplicatorComponents, init: ReplicatorInit) {
    this.mesh = components.mesh
    this.state = components.state
    this.clock = components.clock
    this.rng = components.rng
    this.log = components.logger.child({ component: 'replicator' })
    this.tooLarge = new OncePerCause(this.log)
    this.drops = components.drops
    this.updates = components.updates
    this.topic = init.topic
    this.cluster = init.cluster ?? /^riftmesh\/([^/]+)\/doc\/\d+$/.exec(init.topic)?.[1] ?? init.topic
    this.coalesceWindowMs = init.coalesceWindowMs ?? 30
    this.maxCoalesceDelayMs = init.maxCoalesceDelayMs ?? 200
    this.maxGossipMessageBytes = init.maxGossipMessageBytes ?? 1024 * 1024
    this.maxStreamMessageBytes = init.maxStreamMessageBytes ?? 64 * 1024 * 1024
    this.antiEntropyIntervalMs = init.antiEntropyIntervalMs ?? 10_000
    this.syncTimeoutMs = init.syncTimeoutMs ?? 10_000
    this.minSyncGapMs = init.minSyncGapMs ?? 1_000
    this.antiEntropy = init.antiEntropy ?? true
    if (!(this.coalesceWindowMs >= 0)) throw new RangeError(`replicator coalesceWindowMs must be ≥ 0, got ${this.coalesceWindowMs}`)
    for (const [k, v] of Object.entries({ maxCoalesceDelayMs: this.maxCoalesceDelayMs, maxGossipMessageBytes: this.maxGossipMessageBytes, antiEntropyIntervalMs: this.antiEntropyIntervalMs, syncTimeoutMs: this.syncTimeoutMs })) {
      if (!Number.isFinite(v) || v < 1) throw new RangeError(`replicator ${k} must be ≥ 1, got ${v}`)
    }
  }

  /** Bucket retirement as the sync exchange reconciles it (see sync-protocol.ts). */
  private readonly retired: RetiredDocs = {
    final: async (doc, theirs) => await this.updates.retiredFinal?.(doc, theirs),
    retiredByPeer: (doc, peer) => {
      const bucketId = bucketIdOfDoc(doc)
      if (bucketId !== undefined && this.state.markRetiredElsewhere(bucketId)) {
        this.counters.bucketsRetiredByPeers++
        this.log.info({ peer, bucket: bucketId }, 'a peer retired a job bucket held here: its final state is merged, and it leaves this node once this node\'s own jobs in it end')
      }
    }
  }

  async start (): Promise<void> {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    this.cleanups.push(this.mesh.subscribe(this.topic, m => this.onMessage(m)))
    this.cleanups.push(this.updates.onPersisted(u => { if (u.origin === 'local') this.enqueue(u) }))
    if (this.antiEntropy) {
      await this.mesh.handle(SYNC_PROTOCOL, async (stream, peer) => {
        const t = timeoutSignal(this.clock, this.syncTimeoutMs, this.controller?.signal)
        try {
          const stats = await runSyncResponder(stream, this.state.docs, peer, this.drops, this.syncLimits(), t.signal)
          this.tooLarge.report(peer, tooLargeCause(peer, stats))
          this.counters.syncsServed++
        } catch (err) {
          if (err instanceof ClusterMismatchError) this.hangUpForeign(peer, err)
          throw err
        } finally {
          t.clear()
        }
      }, { maxFrameBytes: this.maxStreamMessageBytes, maxInboundStreams: 4 })
      this.cleanups.push(this.mesh.onPeer('connect', peer => this.requestSync(peer, 'connect')))
      this.scheduleAntiEntropy()
    }
  }

  async stop (): Promise<void> {
    if (this.controller === undefined) return
    this.clock.clearTimer(this.antiEntropyTimer)
    this.clock.clearTimer(this.flushTimer)
    await this.flush()
    this.controller.abort(new Error('replicator stopped'))
    this.controller = undefined
    for (const c of this.cleanups.splice(0)) c()
  }

  /** Run a sync with `peer` now unless one is running or ran within `minSyncGapMs`. */
  requestSync (peer: string, reason: string): void {
    if (!this.antiEntropy || this.controller === undefined) return
    const last = this.lastSyncMs.get(peer)
    if (this.syncing.has(peer) || (last !== undefined && this.clock.nowMs() - last < this.minSyncGapMs)) return
    this.syncWith(peer).catch((err: unknown) => this.log.debug({ err, peer, reason }, 'sync failed'))
  }

  /** One anti-entropy exchange with `peer`. */
  async syncWith (peer: string): Promise<SyncStats> {
    this.syncing.add(peer)
    this.lastSyncMs.set(peer, this.clock.nowMs())
    this.counters.syncsStarted++
    const t = timeoutSignal(this.clock, this.syncTimeoutMs, this.controller?.signal)
    try {
      const stream = await this.mesh.open(peer, SYNC_PROTOCOL, { maxFrameBytes: this.maxStreamMessageBytes, signal: t.signal })
      try {
        const stats = await runSyncInitiator(stream, this.state.docs, peer, this.drops, this.syncLimits(), t.signal)
        this.tooLarge.report(peer, tooLargeCause(peer, stats))
        return stats
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        if (err instanceof ClusterMismatchError) this.hangUpForeign(peer, err)
        throw err
      }
    } catch (err) {
      this.counters.syncsFailed++
      throw err
    } finally {
      t.clear()
      this.syncing.delete(peer)
      if (this.lastSyncMs.size > 4096) this.lastSyncMs.clear()
    }
  }

  /** Publish everything buffered now. */
  async flush (): Promise<void> {
    this.clock.clearTimer(this.flushTimer)
    this.flushTimer = undefined
    const batch = this.pending
    this.pending = new Map()
    this.pendingSinceMs = undefined
    for (const [doc, updates] of batch) {
      const merged = updates.length === 1 ? updates[0] as Uint8Array : Y.mergeUpdatesV2(updates)
      await this.publishUpdate(doc, merged)
    }
  }

  private async publishUpdate (doc: DocName, update: Uint8Array): Promise<void> {
    let bytes = DocUpdateMsg.encode({ version: DOC_MESSAGE_VERSION, doc, update: update as Uint8Array<ArrayBuffer>, tooLarge: false })
    if (bytes.byteLength > this.maxGossipMessageBytes) {
      bytes = DocUpdateMsg.encode({ version: DOC_MESSAGE_VERSION, doc, update: new Uint8Array(0), tooLarge: true })
      this.counters.tooLargeNotices++
    }
    try {
      await this.mesh.publish(this.topic, bytes)
      this.counters.published++
      this.counters.publishedBytes += bytes.byteLength
    } catch (err) {
      // anti-entropy will carry it; the update is durable locally
      this.counters.publishFailures++
      this.log.debug({ err: errorMessage(err), doc }, 'publish failed')
    }
  }

  /**
   * Buffer a durable local update. Leading edge: an update after a quiet window goes out at
   * once (no added latency for an isolated change); updates that follow within the window are
   * merged and sent together when it closes (bounded by maxCoalesceDelayMs).
   */
  private enqueue (u: DocUpdate): void {
    const list = this.pending.get(u.doc)
    if (list === undefined) this.pending.set(u.doc, [u.update])
    else list.push(u.update)
    const now = this.clock.nowMs()
    if (this.pendingSinceMs === undefined && now - this.lastFlushMs >= this.coalesceWindowMs) {
      this.lastFlushMs = now
      this.flush().catch((err: unknown) => this.log.error({ err }, 'flush failed'))
      return
    }
    this.pendingSinceMs ??= now
    const dueMs = Math.min(now + this.coalesceWindowMs, this.pendingSinceMs + this.maxCoalesceDelayMs)
    this.clock.clearTimer(this.flushTimer)
    this.flushTimer = this.clock.setTimer(() => {
      this.lastFlushMs = this.clock.nowMs()
      this.flush().catch((err: unknown) => this.log.error({ err }, 'flush failed'))
    }, dueMs - now)
  }

  private onMessage (m: MeshMessage): void {
    this.counters.received++
    if (m.data.byteLength > this.maxGossipMessageBytes) {
      this.drops.record(m.from, 'oversized', `${m.data.byteLength} bytes`)
      return
    }
    let msg: DocUpdateMsg
    try {
      msg = DocUpdateMsg.decode(m.data)
    } catch {
      this.drops.record(m.from, 'malformed', 'doc update')
      return
    }
    if (msg.version !== DOC_MESSAGE_VERSION) {
      this.drops.record(m.from, 'version', `doc update version ${msg.version}`)
      return
    }
    if (msg.tooLarge) {
      this.requestSync(m.from, 'too-large notice')
      return
    }
    if (applyRemote(this.state.docs, msg.doc, msg.update, m.from, this.drops)) this.counters.applied++
  }

  /**
   * A peer of another cluster connected: hang up on it (its STEP1 drop is already counted) and
   * say so once, with both names and the fix. Both sync roles may find it at once: once per
   * `minSyncGapMs` per peer.
   */
  private hangUpForeign (peer: string, err: ClusterMismatchError): void {
    const now = this.clock.monoMs()
    const last = this.lastHangUpMs.get(peer)
    if (last !== undefined && now - last < this.minSyncGapMs) return
    if (this.lastHangUpMs.size >= 4096) this.lastHangUpMs.clear()
    this.lastHangUpMs.set(peer, now)
    this.counters.foreignClusterHangUps++
    const detail = `the peer is in cluster ${JSON.stringify(err.peerCluster)}, this node in ${JSON.stringify(err.localCluster)}`
    this.log.warn({ peer, peerCluster: err.peerCluster, cluster: err.localCluster },
      `hanging up on ${peer}: ${detail}; nodes mesh only within one node.clusterName — give both the same node.clusterName, or join through a node of cluster ${JSON.stringify(err.localCluster)}`)
    this.mesh.hangUp?.(peer, { cause: 'cluster-name', detail })
      .catch((hangUpErr: unknown) => this.log.debug({ err: hangUpErr, peer }, 'hang-up failed'))
  }

  private scheduleAntiEntropy (): void {
    // jitter ±20 % so nodes do not sync in lockstep
    const delay = this.antiEntropyIntervalMs * (0.8 + 0.4 * this.rng.next())
    this.antiEntropyTimer = this.clock.setTimer(() => {
      const peer = this.rng.pick(this.mesh.connectedPeers())
      if (peer !== undefined) this.requestSync(peer, 'periodic')
      if (this.controller !== undefined) this.scheduleAntiEntropy()
    }, delay)
  }

  private syncLimits (): SyncLimits {
    return { maxFrameBytes: this.maxStreamMessageBytes, maxUpdates: 2 * this.state.docs.maxDocs + 2, cluster: this.cluster, retired: this.retired }
  }
}

/** Documents too large for one sync frame, said once per peer while it lasts (every anti-entropy round would repeat it). */
function tooLargeCause (peer: string, stats: SyncStats): Cause | null {
  return stats.skippedTooLarge > 0 ? { key: 'too-large', msg: 'documents too large for one sync frame were not sent', fields: { peer, docs: stats.skippedTooLarge } } : null
}

/**
 * One node of a real-mode run: the node's one composition (`composeNode`, as the binary runs
 * it) on the real Libp2pMesh over the memory transport (swarm key, noise, yamux, gossipsub, a
 * connection gater) and memory-level — the network path of a node, as in
 * test/support/memory-peer.ts. The runner connects the nodes (no PeerManager: the scenario's
 * topology is the dial list). The private key, the listen address and the database outlive a
 * crash, so a restart keeps the peer id and restores the documents from the same db.
 */
import { ed25519Signer } from '../../src/state/entry-sig.js'
import { MemoryLevel } from 'memory-level'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Clock } from '../../src/core/clock.js'
import type { Logger } from '../../src/core/logger.js'
import type { Rng } from '../../src/core/rng.js'
import type { ClusterState } from '../../src/state/cluster-state.js'
import type { RootDb } from '../../src/store/level.js'
import { Libp2pMesh } from '../../src/mesh/libp2p-mesh.js'
import type { LoadSource } from '../../src/mesh/heartbeat.js'
import { resolveConfig, type RiftmeshConfig } from '../../src/config/index.js'
import { composeNode, type ComposedNode } from '../../src/node/compose.js'
import { SIM_CPU_BOX } from '../node/sim-node.js'
import type { JobRunner } from '../../src/jobs/runner.js'

/** Node timings, already scaled to wall-clock ms. */
export interface RealNodeConfig {
  cluster: string
  heartbeatIntervalMs: number
  suspectAfterMs: number
  deadAfterMs: number
  antiEntropyIntervalMs: number
  coalesceWindowMs: number
  maxCoalesceDelayMs: number
  syncTimeoutMs: number
  minSyncGapMs: number
  gossipHeartbeatMs: number
  antiEntropy: boolean
}

/** The configuration of a real-mode node: the scaled timings as config keys; it takes no work and never stands (replication only). */
export function realNodeConfig (c: RealNodeConfig): RiftmeshConfig {
  return resolveConfig({
    flags: {
      'node.clusterName': c.cluster, 'node.capabilities': [], 'node.leaderEligible': false,
      'health.heartbeatIntervalMs': c.heartbeatIntervalMs, 'health.suspectAfterMs': c.suspectAfterMs, 'health.deadAfterMs': c.deadAfterMs,
      'mesh.antiEntropyIntervalMs': c.antiEntropyIntervalMs, 'mesh.coalesceWindowMs': c.coalesceWindowMs, 'mesh.maxCoalesceDelayMs': c.maxCoalesceDelayMs, 'mesh.syncTimeoutMs': c.syncTimeoutMs
    }
  }, { cwd: '/real', homeDir: null })
}

export interface RealNodeComponents {
  clock: Clock
  logger: Logger
  rng: Rng
  privateKey: PrivateKey
  swarmKey: Uint8Array
  gater: ConnectionGater
}

/** What a node's components counted, summed over its incarnations. */
export interface RealNodeTotals { received: number, published: number, publishedBytes: number, syncsStarted: number, heartbeatsSent: number, drops: number }

export type Running = ComposedNode<Libp2pMesh>

export type RealNodeStatus = 'up' | 'crashed' | 'paused'

const idleLoad: LoadSource = {
  sample: () => ({ cpuPercent: 5, memoryPercent: 20, diskPercent: 20, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 0, trainingJobs: 0 })
}

/** A real-mode node runs no jobs (it takes no work): a runner that has none. */
function noJobs (): JobRunner {
  return {
    jobPaths: () => { throw new Error('real-mode nodes run no jobs') },
    start: async () => { throw new Error('real-mode nodes run no jobs') },
    cancel: () => false,
    listAdoptable: async () => [],
    adopt: async () => { throw new Error('real-mode nodes run no jobs') },
    release: async () => {},
    get: () => undefined,
    list: () => [],
    runningCount: 0,
    onJobEnd: () => () => {},
    stop: async () => {}
  }
}

export class RealNode {
  readonly peerId: string
  /** `/memory/<name>/p2p/<peer id>`: what other nodes dial. */
  readonly dialAddr: string
  status: RealNodeStatus = 'crashed'
  incarnation = 0
  readonly totals: RealNodeTotals = { received: 0, published: 0, publishedBytes: 0, syncsStarted: 0, heartbeatsSent: 0, drops: 0 }
  private running: Running | undefined
  private nodeConfig: RiftmeshConfig | undefined
  private readonly db: RootDb
  private dbOpen = false
  private readonly listeners: Array<(n: RealNode) => void> = []

  constructor (readonly index: number, private readonly listenAddr: string, private readonly components: RealNodeComponents, private readonly config: RealNodeConfig) {
    this.peerId = peerIdFromPrivateKey(components.privateKey).toString()
    this.dialAddr = `${listenAddr}/p2p/${this.peerId}`
    this.db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as RootDb
  }

  get state (): ClusterState {
    if (this.running === undefined) throw new Error(`real node ${this.index} is not running`)
    return this.running.state
  }

  get isUp (): boolean {
    return this.status === 'up'
  }

  get parts (): Running | undefined {
    return this.running
  }

  /** A paused node keeps running; the runner cuts it off the network (see sim/real/README.md). */
  pause (): void {
    if (this.status === 'up') this.status = 'paused'
  }

  resume (): void {
    if (this.status === 'paused') this.status = 'up'
  }

  /** Called after every (re)start, e.g. to attach observers to the new state. */
  onStart (listener: (n: RealNode) => void): void {
    this.listeners.push(listener)
  }

  /** Start (or restart from the same db, key and address). Idempotent; a failed start stops what it started. */
  async start (): Promise<void> {
    if (this.running !== undefined) return
    this.incarnation++
    const c = this.config
    const logger = this.components.logger.child({ node: this.index })
    if (!this.dbOpen) { await this.db.open(); this.dbOpen = true }
    this.nodeConfig ??= realNodeConfig(c)
    const mesh = new Libp2pMesh({ logger }, {
      privateKey: this.components.privateKey, swarmKey: this.components.swarmKey, listen: [this.listenAddr], bootstrap: [],
      transport: 'memory', gossipHeartbeatMs: c.gossipHeartbeatMs, connectionGater: this.components.gater
    })
    this.running = await composeNode({
      config: this.nodeConfig, mesh, db: this.db, signer: ed25519Signer(this.components.privateKey.raw), incarnation: this.incarnation, host: `real-${this.index}`,
      runner: noJobs(), load: idleLoad, hardware: { current: () => SIM_CPU_BOX, onChange: () => () => {} },
      clock: this.components.clock, rng: this.components.rng.fork(`incarnation-${this.incarnation}`), logger
    }, { antiEntropy: c.antiEntropy, minSyncGapMs: c.minSyncGapMs })
    this.status = 'up'
    for (const l of this.listeners) l(this)
  }

  /**
   * Crash: the mesh goes first (peers see the connections close at once, and nothing queued is
   * published), then the node's components stop. The db, key and address are kept. Writes still
   * queued in the DocStore reach the db (a real crash would lose them; none was acknowledged).
   */
  async crash (): Promise<void> {
    const r = this.running
    if (r === undefined) return
    this.running = undefined
    this.status = 'crashed'
    r.heartbeat.stop()
    await r.mesh.stop()
    await r.stop()
    const t = this.totals
    t.received += r.replicator.counters.received
    t.published += r.replicator.counters.published
    t.publishedBytes += r.replicator.counters.publishedBytes
    t.syncsStarted += r.replicator.counters.syncsStarted
    t.heartbeatsSent += r.heartbeat.sent
    t.drops += r.drops.total()
    r.state.destroy()
  }

  /** Final stop: crash, then close the db. */
  async stop (): Promise<void> {
    await this.crash()
    if (this.dbOpen) { this.dbOpen = false; await this.db.close() }
  }
}

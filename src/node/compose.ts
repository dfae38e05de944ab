/**
 * The one composition of a node: everything a node runs above its platform — cluster state,
 * document store, local tables, replicator, heartbeats and the failure detector, the peer
 * manager, the election and its observer, this node's NodeInfo, the managers and their loops,
 * the lease watch — built, wired and started in one order, and stopped in the reverse order.
 *
 * The platform comes in as components: the mesh (libp2p, or the simulator's), the LevelDB root
 * (level on disk, or memory-level on a simulated disk), the clock, the Rng, the job runner
 * (processes, or simulated machines), the data dir's files, the load and hardware sources, the
 * signer and the data plane. `RiftNode` (the binary and the integration tests) and the
 * simulator's `SimNode` both build their node with `composeNode`; neither constructs any of
 * these components itself.
 */
import type { Clock } from '../core/clock.js'
import { timestampMs } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import type { RiftmeshConfig } from '../config/index.js'
import { ClusterState } from '../state/cluster-state.js'
import type { EntrySigner } from '../state/entry-sig.js'
import type { Hardware } from '../state/schema.js'
import { DocStore, type RestoreReport } from '../store/doc-store.js'
import type { RootDb } from '../store/level.js'
import { LocalTables } from '../store/tables.js'
import type { Mesh } from '../mesh/mesh.js'
import type { Libp2pMesh } from '../mesh/libp2p-mesh.js'
import { DropCounters } from '../mesh/drops.js'
import { Replicator } from '../mesh/replicator.js'
import { HeartbeatService, type LoadSource } from '../mesh/heartbeat.js'
import { ElectionService } from '../election/election.js'
import { ElectionObserver } from '../election/observer.js'
import { StateManager, type LoadReport } from '../managers/state-manager.js'
import type { DataPuller, DataScanner } from '../managers/sync-planner.js'
import type { JobRunner } from '../jobs/runner.js'
import { PeerManager } from './peer-manager.js'
import { SampledLoad, buildManagers, type DataDirFiles, type NodeManagers } from './managers.js'
import { LeaseWatch } from './metrics-lease.js'
import { keepNodeInfo, nodeInfoOf } from './node-info.js'

export function docTopic (cluster: string): string {
  return `riftmesh/${cluster}/doc/1`
}

export function heartbeatTopic (cluster: string): string {
  return `riftmesh/${cluster}/hb/1`
}

/** The mesh a node runs on: the Mesh interface plus its lifecycle and what it advertises. */
export interface NodeMesh extends Mesh {
  start: () => Promise<void> | void
  stop: () => Promise<void> | void
  /** The addresses this node advertises in its NodeInfo. */
  listenAddrs: () => string[]
  /** Called when the advertised addresses change (relay reservations); absent when they never do. */
  onAddrsChange?: (listener: (addrs: string[]) => void) => () => void
  /** Direct or relayed, per peer (sync prefers holders reached directly); absent: every peer counts as direct. */
  peerPath?: (peer: string) => string
}

/** Where the node's hardware comes from (probed, or fixed by a scenario). */
export interface HardwareSource {
  current: () => Hardware
  onChange: (listener: (hw: Hardware) => void) => () => void
}

/** The data plane: the scanner of the data dir and the transfer client (and server), started once the mesh is. */
export interface DataPlane {
  scanner: DataScanner
  client: DataPuller
  stop: () => Promise<void>
}

export interface NodeComponents<M extends NodeMesh = NodeMesh> {
  config: RiftmeshConfig
  mesh: M
  /**
   * The mesh's connection layer (dialing, addresses, identify): with it the node runs the
   * PeerManager and stands only once it has reached a peer it was told of. The simulated mesh
   * has none yet (every simulated node is connected by the scenario's topology).
   */
  dialer?: Libp2pMesh
  /** The LevelDB root (opened by the platform, closed by it after `stop`). */
  db: RootDb
  signer: EntrySigner
  /** This start's incarnation (heartbeats carry it). */
  incarnation: number
  /** The host name written in the NodeInfo. */
  host: string
  runner: JobRunner
  load: LoadSource
  hardware: HardwareSource
  /** The data dir as jobs see it: their outputs and inputs. @default the files under `node.dataDir` */
  files?: DataDirFiles
  /** Start the data plane (after the mesh); absent: no data sync. */
  dataPlane?: (drops: DropCounters) => Promise<DataPlane>
  clock: Clock
  rng: Rng
  logger: Logger
}

export interface NodeInit {
  /** Test switch: run without anti-entropy (convergence then depends on gossip alone). @default true */
  antiEntropy?: boolean
  /** The replicator's shortest gap between two syncs with a peer, for time-scaled runs (sim real mode). @default the replicator's */
  minSyncGapMs?: number
}

export interface ComposedNode<M extends NodeMesh = NodeMesh> {
  selfId: string
  incarnation: number
  mesh: M
  state: ClusterState
  store: DocStore
  restore: RestoreReport
  tables: LocalTables
  stateManager: StateManager
  loadReport: LoadReport
  drops: DropCounters
  replicator: Replicator
  heartbeat: HeartbeatService
  /** Absent when the platform has no connection layer (`dialer`). */
  peers: PeerManager | undefined
  election: ElectionService
  /** The election's transitions of every node as this one sees them (logged, counted, kept for the REPL). */
  electionEvents: ElectionObserver
  managers: NodeManagers
  lease: LeaseWatch
  load: SampledLoad
  dataPlane: DataPlane | undefined
  /** Stop everything in the reverse order of the start (the platform closes the db and the mesh's transport after). */
  stop: () => Promise<void>
  /**
   * What the death of the process stops, for the simulator's crash: every timer and listener at
   * once, nothing flushed, closed or written. (A real crash ends the process instead.)
   */
  halt: () => void
}

/** Build, wire and start a node on `c`'s platform; if the start fails halfway, what was started is stopped. */
export async function composeNode<M extends NodeMesh> (c: NodeComponents<M>, init: NodeInit = {}): Promise<ComposedNode<M>> {
  const steps: Array<() => Promise<void> | void> = []
  const stop = async (): Promise<void> => {
    for (const step of steps.splice(0).reverse()) {
      try {
        await step()
      } catch (err) {
        c.logger.error({ err }, 'stop step failed')
      }
    }
  }
  try {
    return await startNode(c, init, steps, stop)
  } catch (err) {
    await stop()
    throw err
  }
}

async function startNode<M extends NodeMesh> (c: NodeComponents<M>, init: NodeInit, steps: Array<() => Promise<void> | void>, stop: () => Promise<void>): Promise<ComposedNode<M>> {
  const { config: cfg, mesh, clock, rng, logger: log, db } = c
  // the node id is the signer's (libp2p knows its peer id only once started; checked then)
  const selfId = c.signer.id
  const drops = new DropCounters(log.child({ component: 'drops' }))
  const state = new ClusterState({ clock, logger: log, rng: rng.fork('state'), signer: c.signer }, {
    selfId, operators: cfg.trust.operators, voters: cfg.election.voters, bucketMaxJobs: cfg.jobs.bucketMaxJobs, bucketMaxAgeMs: cfg.jobs.bucketMaxAgeMs, retentionMs: cfg.jobs.retentionMs
  })
  const store = new DocStore({ db, state, clock, logger: log }, {
    compactAfterBytes: cfg.store.compactAfterBytes, syncWrites: cfg.store.syncWrites, retryMaxMs: cfg.store.persistRetryMaxMs, maxQueuedBytes: cfg.store.maxUnpersistedBytes
  })
  const restore = await store.start()
  steps.push(async () => await store.stop())
  log.info({ ...restore }, 'restored the cluster documents')
  const tables = new LocalTables(db, log, { reputationAlpha: cfg.store.reputationAlpha, ttlMs: cfg.store.peerCacheTtlMs, maxEntries: cfg.store.peerCacheMax })
  const stateManager = new StateManager({ tables, clock, logger: log }, {
    staleJobAgeMs: cfg.store.staleJobAgeMs, stalePeerAgeMs: cfg.store.stalePeerAgeMs, jobHistoryMax: cfg.store.jobHistoryMax, metricsHistoryMax: cfg.store.metricsHistoryMax
  })
  const loadReport = await stateManager.load()

  await mesh.start()
  steps.push(async () => await mesh.stop())
  if (mesh.selfId !== selfId) throw new Error(`the mesh runs as ${mesh.selfId}, but the node signs as ${selfId}`)
  const m = cfg.mesh
  const replicator = new Replicator({ mesh, state, updates: store, clock, rng: rng.fork('replicator'), logger: log, drops }, {
    topic: docTopic(cfg.node.clusterName),
    coalesceWindowMs: m.coalesceWindowMs,
    maxCoalesceDelayMs: m.maxCoalesceDelayMs,
    maxGossipMessageBytes: m.maxGossipMessageBytes,
    maxStreamMessageBytes: m.maxStreamMessageBytes,
    antiEntropyIntervalMs: m.antiEntropyIntervalMs,
    syncTimeoutMs: m.syncTimeoutMs,
    ...(init.antiEntropy === false ? { antiEntropy: false } : {}),
    ...(init.minSyncGapMs !== undefined ? { minSyncGapMs: init.minSyncGapMs } : {})
  })
  await replicator.start()
  steps.push(async () => await replicator.stop())
  const load = new SampledLoad(c.load)
  const h = cfg.health
  const heartbeat = new HeartbeatService({ mesh, clock, logger: log, drops, load, docs: state.docs }, {
    topic: heartbeatTopic(cfg.node.clusterName),
    heartbeatIntervalMs: h.heartbeatIntervalMs,
    suspectAfterMs: h.suspectAfterMs,
    deadAfterMs: h.deadAfterMs,
    cpuHighPercent: h.cpuHighPercent,
    cpuCriticalPercent: h.cpuCriticalPercent,
    stretchHigh: h.cpuStretch80,
    stretchCritical: h.cpuStretch95,
    incarnation: c.incarnation,
    maxClockSkewMs: h.maxClockSkewMs,
    trustRoot: cfg.trust.operators
  })
  heartbeat.onDigestMismatch(peer => replicator.requestSync(peer, 'digest mismatch'))
  heartbeat.start()
  steps.push(() => heartbeat.stop())
  let peers: PeerManager | undefined
  if (c.dialer !== undefined) {
    const pm = new PeerManager({ mesh: c.dialer, tables, state, clock, rng: rng.fork('peers'), logger: log, health: id => heartbeat.health(id) }, {
      bootstrap: cfg.node.bootstrap, targetPeers: Math.min(8, m.maxPeers)
    })
    pm.start()
    steps.push(() => pm.stop())
    peers = pm
  }

  const startedAt = timestampMs(clock)
  const publish = (): void => {
    state.setNodeInfo(nodeInfoOf(cfg, { selfId, host: c.host, startedAt, addrs: mesh.listenAddrs(), hardware: c.hardware.current() }))
  }
  publish()
  steps.push(c.hardware.onChange(hw => {
    log.info({ hardware: hw }, 'hardware changed')
    publish()
  }))
  // relayed addresses come and go with reservations: the others must dial the current ones
  if (mesh.onAddrsChange !== undefined) steps.push(mesh.onAddrsChange(() => publish()))
  steps.push(keepNodeInfo(state, clock, log, publish))

  const e = cfg.election
  const isAlive = (id: string): boolean => heartbeat.health(id) === 'ALIVE'
  const election = new ElectionService({ state, tables, clock, logger: log, isAlive, ...(peers !== undefined ? { mayStand: () => (peers as PeerManager).mayLead() } : {}) }, {
    voters: e.voters, mode: e.mode, leaseMs: e.leaseMs, renewIntervalMs: e.renewIntervalMs, driftMarginMs: e.driftMarginMs,
    backoffMinMs: e.backoffMinMs, backoffMaxMs: e.backoffMaxMs, eligibility: e.eligibility, preferredLeader: e.preferredLeader,
    selfEligible: cfg.node.leaderEligible
  })
  await election.start()
  steps.push(() => election.stop())
  // the failure detector has heard nobody for about a lease after a start: no quorum verdict before
  const electionEvents = new ElectionObserver({ election, state, clock, logger: log, isAlive }, { quorumGraceMs: e.leaseMs })
  electionEvents.start()
  steps.push(() => electionEvents.stop())
  election.onChange(ev => {
    stateManager.setLocalState({ role: ev.type, leader: election.currentLeader()?.nodeId ?? null })
      .catch((err: unknown) => log.warn({ err }, 'local state write failed'))
  })

  let dataPlane: DataPlane | undefined
  if (c.dataPlane !== undefined) {
    const dp = await c.dataPlane(drops)
    steps.push(async () => await dp.stop())
    dataPlane = dp
  }
  const peerPath = mesh.peerPath?.bind(mesh)
  const managers = buildManagers({
    config: cfg, state, health: heartbeat, load, leadership: election, tables, abStore: stateManager, runner: c.runner, clock, rng: rng.fork('managers'), logger: log,
    flush: async () => await store.flush(),
    retireBucket: async id => await store.retireBucket(id, timestampMs(clock)),
    peerHealth: id => heartbeat.health(id),
    hasGpu: () => c.hardware.current().hasGpu,
    capabilities: () => state.node(selfId)?.capabilities ?? [],
    ...(c.files !== undefined ? { files: c.files } : {}),
    // sync pulls from holders reached directly first; a relayed one (capped bytes) comes after, with the unconnected
    ...(peerPath !== undefined ? { connected: (id: string) => peerPath(id) === 'direct' } : {}),
    ...(dataPlane !== undefined ? { data: { scanner: dataPlane.scanner, client: dataPlane.client } } : {})
  })
  steps.push(async () => await managers.stop())
  await managers.start()

  const lease = new LeaseWatch({ state, clock })
  lease.start()
  steps.push(() => lease.stop())

  const halt = (): void => {
    heartbeat.stop()
    election.stop()
    electionEvents.stop()
    lease.stop()
    managers.loops.stop()
    managers.worker.stop().catch((err: unknown) => log.warn({ err }, 'worker stop failed'))
    peers?.stop()
    steps.splice(0)
    state.destroy()
  }
  return {
    selfId, incarnation: c.incarnation, mesh, state, store, restore, tables, stateManager, loadReport, drops, replicator, heartbeat, peers, election, electionEvents, managers, lease, load, dataPlane, stop, halt
  }
}

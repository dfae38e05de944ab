/**
 * RiftNode: builds and wires everything one node runs — store, cluster state, mesh, replicator,
 * heartbeats, peer manager, control socket — and starts and stops them in order. The one place
 * that knows every component; a component missing here fails at start, never later.
 */
import { join } from 'node:path'
import { hostname } from 'node:os'
import { statfs } from 'node:fs/promises'
import type { Clock } from '../core/clock.js'
import { SystemClock, timestampMs } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { systemRng, type Rng } from '../core/rng.js'
import type { RiftmeshConfig } from '../config/index.js'
import { DEFAULT_SWARM_KEY_FILE_NAME } from '../config/defaults.js'
import { ClusterState } from '../state/cluster-state.js'
import type { Hardware, NodeInfo } from '../state/schema.js'
import { DocStore, type RestoreReport } from '../store/doc-store.js'
import { levelFailure, openLevel, type RootDb } from '../store/level.js'
import { WriteGuard } from '../store/write-guard.js'
import { LocalTables } from '../store/tables.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Libp2pMesh } from '../mesh/libp2p-mesh.js'
import { RevocationGuard } from '../mesh/revocation-gater.js'
import { isRelayed } from '../mesh/addrs.js'
import { IDENTITY_FILE_NAME, loadOrCreateIdentity, loadSwarmKey } from '../mesh/keys.js'
import { bumpIncarnation } from '../mesh/incarnation.js'
import { DropCounters } from '../mesh/drops.js'
import { Replicator } from '../mesh/replicator.js'
import { HeartbeatService, type LoadSource } from '../mesh/heartbeat.js'
import { ControlServer, assertPrivateDir, controlSocketPath } from '../repl/control.js'
import { PeerManager } from './peer-manager.js'
import { prepareDataDir } from './data-dir.js'
import { OsLoadSource } from './load.js'
import { HardwareMonitor, defaultCapabilities } from '../managers/hardware.js'
import { StateManager, type LoadReport } from '../managers/state-manager.js'
import { controlHandlers } from './control-handlers.js'
import { ElectionService } from '../election/election.js'
import { ElectionObserver } from '../election/observer.js'
import { SampledLoad, buildManagers, type NodeManagers } from './managers.js'
import { startLimitsField } from '../managers/admission.js'
import { ProcessRunner } from '../jobs/runner.js'
import { ManifestScanner } from '../transfer/scanner.js'
import { TransferServer } from '../transfer/server.js'
import { TransferClient } from '../transfer/client.js'
import { hostsFromMultiaddrs } from '../transfer/fast-path.js'
import { NodeMetrics } from './metrics.js'
import { Registry } from 'prom-client'
import { LeaseWatch } from './metrics-lease.js'
import { metricsSnapshot } from './metrics-snapshot.js'
import { ed25519Signer } from '../state/entry-sig.js'

export const RIFTMESH_VERSION = '0.1.0'

export interface RiftNodeInit {
  config: RiftmeshConfig
  logger: Logger
  /** @default 'tcp' */
  transport?: 'tcp' | 'memory'
  clock?: Clock
  rng?: Rng
  load?: LoadSource
  /** Serve the control socket. @default true */
  control?: boolean
  /** Make a new identity even though the data dir holds an earlier node's state (`--new-identity`). @default false */
  newIdentity?: boolean
}

export function docTopic (cluster: string): string {
  return `riftmesh/${cluster}/doc/1`
}

export function heartbeatTopic (cluster: string): string {
  return `riftmesh/${cluster}/hb/1`
}

export interface Parts {
  db: RootDb
  /** Every database write passes it: says whether the store can persist, and recovers it. */
  guard: WriteGuard
  /** This start's incarnation (heartbeats carry it). */
  incarnation: number
  state: ClusterState
  store: DocStore
  tables: LocalTables
  mesh: Libp2pMesh
  drops: DropCounters
  replicator: Replicator
  heartbeat: HeartbeatService
  peers: PeerManager
  election: ElectionService
  /** The election's transitions of every node as this one sees them (logged, counted, kept for the REPL). */
  electionEvents: ElectionObserver
  managers: NodeManagers
  hardware: HardwareMonitor
  stateManager: StateManager
  loadReport: LoadReport
  control: ControlServer | undefined
  restore: RestoreReport
  transfer: { scanner: ManifestScanner, server: TransferServer, client: TransferClient }
  /** Observability: the leader's lease as seen here, Prometheus metrics and the metrics history. */
  observe: { lease: LeaseWatch, metrics: NodeMetrics }
}

export class RiftNode {
  readonly config: RiftmeshConfig
  private readonly log: Logger
  private readonly clock: Clock
  private readonly rng: Rng
  private parts: Parts | undefined
  private readonly stopSteps: Array<() => Promise<void> | void> = []
  swarmKeyCreated = false

  constructor (private readonly init: RiftNodeInit) {
    this.config = init.config
    this.log = init.logger
    this.clock = init.clock ?? new SystemClock()
    this.rng = init.rng ?? systemRng()
  }

  private get p (): Parts {
    if (this.parts === undefined) throw new Error('node is not started')
    return this.parts
  }

  get peerId (): string { return this.p.mesh.selfId }
  get state (): ClusterState { return this.p.state }
  get mesh (): Libp2pMesh { return this.p.mesh }
  get replicator (): Replicator { return this.p.replicator }
  get heartbeat (): HeartbeatService { return this.p.heartbeat }
  get drops (): DropCounters { return this.p.drops }
  get election (): ElectionService { return this.p.election }
  get store (): DocStore { return this.p.store }
  get tables (): LocalTables { return this.p.tables }
  get metrics (): NodeMetrics { return this.p.observe.metrics }
  get started (): boolean { return this.parts !== undefined }

  listenAddrs (): string[] {
    return this.p.mesh.listenAddrs()
  }

  async start (): Promise<void> {
    if (this.parts !== undefined) return
    try {
      this.parts = await this.startParts()
    } catch (err) {
      await this.runStopSteps()
      // a LevelDB read anywhere in the start (restore, local tables) can meet a damaged file
      throw levelFailure(err, join(this.config.node.dataDir, 'db')) ?? err
    }
  }

  async stop (): Promise<void> {
    if (this.parts === undefined) return
    this.parts = undefined
    await this.runStopSteps()
  }

  private async runStopSteps (): Promise<void> {
    for (const step of this.stopSteps.splice(0).reverse()) {
      try {
        await step()
      } catch (err) {
        this.log.error({ err }, 'stop step failed')
      }
    }
  }

  private async startParts (): Promise<Parts> {
    const cfg = this.config
    const dataDir = cfg.node.dataDir
    await prepareDataDir(dataDir)
    if (this.init.control !== false) await assertPrivateDir(dataDir)
    const { key } = await loadOrCreateIdentity(join(dataDir, IDENTITY_FILE_NAME), { newIdentity: this.init.newIdentity === true })
    const incarnation = await bumpIncarnation(dataDir, peerIdFromPrivateKey(key).toString())
    const defaultKeyPath = join(dataDir, DEFAULT_SWARM_KEY_FILE_NAME)
    // a node told whom to join needs that cluster's key: a new one would make it a cluster of one
    const swarm = await loadSwarmKey(cfg.node.swarmKeyFile, cfg.node.swarmKeyFile === defaultKeyPath ? (cfg.node.bootstrap.length === 0 ? 'create' : 'join') : 'require')
    this.swarmKeyCreated = swarm.created
    if (swarm.created) this.log.warn({ path: cfg.node.swarmKeyFile }, 'created a new swarm key: this is a new private network; give this file to every node that should join it')
    if (swarm.warning !== null) this.log.warn({ path: cfg.node.swarmKeyFile }, swarm.warning)

    const dbDir = join(dataDir, 'db')
    const guard = new WriteGuard({
      db: await openLevel(dbDir), clock: this.clock, logger: this.log, freeBytes: async () => await statfs(dbDir).then(f => f.bavail * f.bsize)
    })
    const db = guard.db
    this.stopSteps.push(async () => await db.close())
    const drops = new DropCounters(this.log.child({ component: 'drops' }))

    // one registry for libp2p's own metrics and ours, only when they are served
    const metricsRegistry = cfg.node.metricsPort > 0 ? new Registry() : undefined
    // revoked peers (the trust log in `state`) are refused at the connection and hung up on
    const revocation: RevocationGuard = new RevocationGuard({ isRevoked: id => state.isRevoked(id), connectedPeers: (): string[] => mesh.connectedPeers(), hangUp: async (id): Promise<void> => await mesh.hangUp(id), logger: this.log })
    const mesh = new Libp2pMesh({ logger: this.log, clock: this.clock }, {
      connectionGater: revocation.gater(),
      privateKey: key,
      swarmKey: swarm.key,
      listen: cfg.node.listen,
      bootstrap: cfg.node.bootstrap,
      announce: cfg.node.announce,
      noAnnounce: cfg.node.noAnnounce,
      mdns: cfg.node.mdns,
      upnp: cfg.node.upnp,
      ...(cfg.node.relay === 'auto' ? { relay: { reservations: cfg.node.relayReservations, maxReservations: cfg.node.relayMaxReservations, maxBytes: cfg.node.relayMaxBytes, maxDurationMs: cfg.node.relayMaxDurationMs } } : {}),
      transport: this.init.transport ?? 'tcp',
      maxGossipMessageBytes: cfg.mesh.maxGossipMessageBytes,
      maxConnections: cfg.mesh.maxPeers,
      ...(metricsRegistry !== undefined ? { metricsRegistry } : {})
    })
    // the peer id is known from the key before the network starts; the state needs it
    const selfId = peerIdFromPrivateKey(key).toString()
    const state = new ClusterState({ clock: this.clock, logger: this.log, rng: this.rng.fork('state'), signer: ed25519Signer(key.raw) }, {
      selfId, operators: cfg.trust.operators, voters: cfg.election.voters, bucketMaxJobs: cfg.jobs.bucketMaxJobs, bucketMaxAgeMs: cfg.jobs.bucketMaxAgeMs, retentionMs: cfg.jobs.retentionMs
    })
    const store = new DocStore({ db, state, clock: this.clock, logger: this.log }, {
      compactAfterBytes: cfg.store.compactAfterBytes, syncWrites: cfg.store.syncWrites, retryMaxMs: cfg.store.persistRetryMaxMs, maxQueuedBytes: cfg.store.maxUnpersistedBytes
    })
    const restore = await store.start()
    this.stopSteps.push(async () => await store.stop())
    this.log.info({ ...restore }, 'restored the cluster documents')
    const tables = new LocalTables(db, this.log, { reputationAlpha: cfg.store.reputationAlpha, ttlMs: cfg.store.peerCacheTtlMs, maxEntries: cfg.store.peerCacheMax })
    const stateManager = new StateManager({ tables, clock: this.clock, logger: this.log }, {
      staleJobAgeMs: cfg.store.staleJobAgeMs, stalePeerAgeMs: cfg.store.stalePeerAgeMs, jobHistoryMax: cfg.store.jobHistoryMax, metricsHistoryMax: cfg.store.metricsHistoryMax
    })
    const loadReport = await stateManager.load()
    const hardware = new HardwareMonitor({ clock: this.clock, logger: this.log }, { dataDir })
    await hardware.start()
    this.stopSteps.push(() => hardware.stop())

    await mesh.start()
    this.stopSteps.push(async () => await mesh.stop())
    this.stopSteps.push(state.onUpdate(u => { if (u.doc === 'control') revocation.check() }))
    const replicator = new Replicator({ mesh, state, updates: store, clock: this.clock, rng: this.rng.fork('replicator'), logger: this.log, drops }, {
      topic: docTopic(cfg.node.clusterName),
      coalesceWindowMs: cfg.mesh.coalesceWindowMs,
      maxCoalesceDelayMs: cfg.mesh.maxCoalesceDelayMs,
      maxGossipMessageBytes: cfg.mesh.maxGossipMessageBytes,
      maxStreamMessageBytes: cfg.mesh.maxStreamMessageBytes,
      antiEntropyIntervalMs: cfg.mesh.antiEntropyIntervalMs,
      syncTimeoutMs: cfg.mesh.syncTimeoutMs
    })
    await replicator.start()
    this.stopSteps.push(async () => await replicator.stop())
    const load = new SampledLoad(this.init.load ?? new OsLoadSource(dataDir, undefined, () => hardware.gpuLoad()))
    const heartbeat = new HeartbeatService({ mesh, clock: this.clock, logger: this.log, drops, load, docs: state.docs }, {
      topic: heartbeatTopic(cfg.node.clusterName),
      heartbeatIntervalMs: cfg.health.heartbeatIntervalMs,
      suspectAfterMs: cfg.health.suspectAfterMs,
      deadAfterMs: cfg.health.deadAfterMs,
      cpuHighPercent: cfg.health.cpuHighPercent,
      cpuCriticalPercent: cfg.health.cpuCriticalPercent,
      stretchHigh: cfg.health.cpuStretch80,
      stretchCritical: cfg.health.cpuStretch95,
      incarnation,
      maxClockSkewMs: cfg.health.maxClockSkewMs,
      trustRoot: cfg.trust.operators
    })
    heartbeat.onDigestMismatch(peer => replicator.requestSync(peer, 'digest mismatch'))
    heartbeat.start()
    this.stopSteps.push(() => heartbeat.stop())
    const peers = new PeerManager({ mesh, tables, state, clock: this.clock, rng: this.rng.fork('peers'), logger: this.log, health: id => heartbeat.health(id) }, {
      bootstrap: cfg.node.bootstrap, targetPeers: Math.min(8, cfg.mesh.maxPeers)
    })
    peers.start()
    this.stopSteps.push(() => peers.stop())

    const startedAt = timestampMs(this.clock)
    this.publishNodeInfo(state, mesh, selfId, hardware.current(), startedAt)
    const offHardware = hardware.onChange(hw => {
      this.log.info({ hardware: hw }, 'hardware changed')
      this.publishNodeInfo(state, mesh, selfId, hw, startedAt)
    })
    this.stopSteps.push(offHardware)
    // relayed addresses come and go with reservations: the others must dial the current ones
    this.stopSteps.push(mesh.onAddrsChange(() => this.publishNodeInfo(state, mesh, selfId, hardware.current(), startedAt)))
    this.stopSteps.push(this.keepNodeInfo(state, () => this.publishNodeInfo(state, mesh, selfId, hardware.current(), startedAt)))

    const e = cfg.election
    const isAlive = (id: string): boolean => heartbeat.health(id) === 'ALIVE'
    const election = new ElectionService({ state, tables, clock: this.clock, logger: this.log, isAlive, mayStand: () => peers.mayLead() }, {
      voters: e.voters, mode: e.mode, leaseMs: e.leaseMs, renewIntervalMs: e.renewIntervalMs, driftMarginMs: e.driftMarginMs,
      backoffMinMs: e.backoffMinMs, backoffMaxMs: e.backoffMaxMs, eligibility: e.eligibility, preferredLeader: e.preferredLeader,
      selfEligible: cfg.node.leaderEligible
    })
    await election.start()
    this.stopSteps.push(() => election.stop())
    // the failure detector has heard nobody for about a lease after a start: no quorum verdict before
    const electionEvents = new ElectionObserver({ election, state, clock: this.clock, logger: this.log, isAlive }, { quorumGraceMs: e.leaseMs })
    electionEvents.start()
    this.stopSteps.push(() => electionEvents.stop())
    election.onChange(e => {
      stateManager.setLocalState({ role: e.type, leader: election.currentLeader()?.nodeId ?? null })
        .catch((err: unknown) => this.log.warn({ err }, 'local state write failed'))
    })

    const runner = new ProcessRunner({ clock: this.clock, logger: this.log }, {
      dataDir, maxRuntimeMs: cfg.jobs.maxRuntimeMs, killGraceMs: cfg.jobs.killGraceMs, spawnRatePerMinute: cfg.jobs.spawnRatePerMinute,
      maxProcessesPerNode: cfg.jobs.maxProcessesPerNode, maxLogBytes: cfg.jobs.maxLogBytes
    })
    const transfer = await this.startTransfer(mesh, drops)
    const managers = buildManagers({
      config: cfg, state, health: heartbeat, load, leadership: election, tables, abStore: stateManager, runner, clock: this.clock, rng: this.rng.fork('managers'), logger: this.log,
      flush: async () => await store.flush(),
      retireBucket: async id => await store.retireBucket(id, timestampMs(this.clock)),
      peerHealth: id => heartbeat.health(id),
      hasGpu: () => hardware.current().hasGpu,
      capabilities: () => state.node(selfId)?.capabilities ?? [],
      // sync pulls from holders reached directly first; a relayed one (capped bytes) comes after, with the unconnected
      connected: id => mesh.peerPath(id) === 'direct',
      data: { scanner: transfer.scanner, client: transfer.client }
    })
    this.stopSteps.push(async () => await managers.stop())
    await managers.start()

    const lease = new LeaseWatch({ state, clock: this.clock })
    lease.start()
    this.stopSteps.push(() => lease.stop())
    const base = { db, guard, incarnation, state, store, tables, mesh, drops, replicator, heartbeat, peers, election, electionEvents, managers, hardware, stateManager, loadReport, restore, transfer }
    const metrics = new NodeMetrics({ snapshot: () => metricsSnapshot(base, lease), history: stateManager, clock: this.clock, logger: this.log }, {
      port: cfg.node.metricsPort, host: cfg.node.metricsHost, historyIntervalMs: cfg.node.metricsHistoryIntervalMs,
      ...(metricsRegistry !== undefined ? { registry: metricsRegistry } : {})
    })
    await metrics.start()
    this.stopSteps.push(async () => await metrics.stop())
    const parts: Parts = { ...base, control: undefined, observe: { lease, metrics } }
    if (this.init.control !== false) {
      const control = new ControlServer(controlSocketPath(dataDir), controlHandlers(this, parts, this.log, this.clock), this.log)
      await control.start()
      this.stopSteps.push(async () => await control.stop())
      parts.control = control
    }
    return parts
  }

  /**
   * The data plane: the scanner of the data dir (the catalog served and the local hashes), the
   * transfer server on `/riftmesh/transfer/1.0.0` (with its TCP side channel on the listen host
   * when the mesh runs on TCP) and the client that pulls.
   */
  private async startTransfer (mesh: Libp2pMesh, drops: DropCounters): Promise<Parts['transfer']> {
    const cfg = this.config
    const dataDir = cfg.node.dataDir
    const s = cfg.sync
    const scanner = new ManifestScanner({ clock: this.clock, logger: this.log }, { dataDir })
    const host = (this.init.transport ?? 'tcp') === 'tcp' && s.fastPath ? fastPathHost(cfg.node.listen) : undefined
    const server = new TransferServer({ mesh, catalog: scanner, clock: this.clock, logger: this.log, drops }, {
      dataDir, chunkBytes: s.chunkBytes, diskThreads: s.diskThreads, nativeSend: s.nativeBatch, ...(host !== undefined ? { fastPath: { host, encrypt: s.fastPathEncryption } } : {})
    })
    await server.start()
    this.stopSteps.push(async () => await server.stop())
    const client = new TransferClient({
      mesh, clock: this.clock, logger: this.log, hashes: scanner, drops, hostsOf: async peer => hostsFromMultiaddrs((await mesh.peerAddrs(peer)).filter(a => !isRelayed(a)))
    }, { dataDir, fsync: s.fsync, syncfs: s.syncfs, nativeReceive: s.nativeBatch, directIo: s.directIo, maxConcurrentTransfers: s.maxConcurrentTransfers, batchFiles: s.batchFiles, batchMaxFileBytes: s.batchMaxFileBytes, diskThreads: s.diskThreads })
    this.stopSteps.push(async () => await client.close())
    return { scanner, server, client }
  }

  /**
   * Write our NodeInfo again when it disappears from the document (`riftmesh nodes forget` on a
   * node that thought this one dead, during a partition): a live node stays in the table.
   */
  private keepNodeInfo (state: ClusterState, publish: () => void): () => void {
    let pending: ReturnType<Clock['setTimer']> | undefined
    const off = state.onUpdate(u => {
      if (u.doc !== 'control' || pending !== undefined || state.node(state.selfId) !== undefined) return
      pending = this.clock.setTimer(() => {
        pending = undefined
        if (state.node(state.selfId) !== undefined) return
        this.log.warn('this node was forgotten by a peer while running; writing its entry in the node table again')
        publish()
      }, 0)
    })
    return () => {
      off()
      this.clock.clearTimer(pending)
    }
  }

  /** Write this node's NodeInfo for this run (its start time and addresses change per start). */
  private publishNodeInfo (state: ClusterState, mesh: Libp2pMesh, selfId: string, hardware: Hardware, startedAt: number): void {
    const cfg = this.config
    const voters = cfg.election.voters
    const info: NodeInfo = {
      v: 1,
      nodeId: selfId,
      host: hostname().slice(0, 256),
      addrs: mesh.listenAddrs().slice(0, 64),
      version: RIFTMESH_VERSION,
      startedAt,
      hardware,
      capabilities: [...(cfg.node.capabilities ?? defaultCapabilities(hardware, cfg.scheduler.largeBoardMinVramGb))],
      flags: { voter: voters.includes(selfId), retired: false, leaderEligible: cfg.node.leaderEligible }
    }
    if (cfg.node.cpuPowerMultiplier !== 1) info.cpuPowerMultiplier = cfg.node.cpuPowerMultiplier
    // what its worker admits, for the dispatchers; only off the defaults (older nodes skip a NodeInfo with it)
    const admission = startLimitsField({ maxProcesses: cfg.jobs.maxProcessesPerNode, spawnRatePerMinute: cfg.jobs.spawnRatePerMinute })
    if (admission !== undefined) info.admission = admission
    state.setNodeInfo(info)
  }
}

/** The host of the first TCP listen address (the side channel listens there), if any. */
export function fastPathHost (listen: readonly string[]): string | undefined {
  for (const a of listen) {
    const m = /^\/(ip4|ip6)\/([^/]+)\/tcp\//.exec(a)
    if (m !== null) return m[2]
  }
  return undefined
}

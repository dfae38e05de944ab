/**
 * RiftNode: builds and wires everything one node runs — store, cluster state, mesh, replicator,
 * heartbeats, peer manager, control socket — and starts and stops them in order. The one place
 * that knows every component; a component missing here fails at start, never later.
 */
import { join } from 'node:path'
import { hostname } from 'node:os'
import { statfs } from 'node:fs/promises'
import type { Clock } from '../core/clock.js'
import { SystemClock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { systemRng, type Rng } from '../core/rng.js'
import type { RiftmeshConfig } from '../config/index.js'
import { DEFAULT_SWARM_KEY_FILE_NAME } from '../config/defaults.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { DocStore } from '../store/doc-store.js'
import { levelFailure, openLevel, type RootDb } from '../store/level.js'
import { WriteGuard } from '../store/write-guard.js'
import type { LocalTables } from '../store/tables.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Libp2pMesh } from '../mesh/libp2p-mesh.js'
import { RevocationGuard } from '../mesh/revocation-gater.js'
import { isRelayed } from '../mesh/addrs.js'
import { IDENTITY_FILE_NAME, loadOrCreateIdentity, loadSwarmKey } from '../mesh/keys.js'
import { bumpIncarnation } from '../mesh/incarnation.js'
import type { DropCounters } from '../mesh/drops.js'
import type { Replicator } from '../mesh/replicator.js'
import type { HeartbeatService, LoadSource } from '../mesh/heartbeat.js'
import { ControlServer, assertPrivateDir, controlSocketPath } from '../repl/control.js'
import { controlHandlers } from './control-handlers.js'
import type { PeerManager } from './peer-manager.js'
import { prepareDataDir } from './data-dir.js'
import { OsLoadSource } from './load.js'
import { HardwareMonitor } from '../managers/hardware.js'
import type { ElectionService } from '../election/election.js'
import { ProcessRunner } from '../jobs/runner.js'
import { ManifestScanner } from '../transfer/scanner.js'
import { TransferServer } from '../transfer/server.js'
import { TransferClient } from '../transfer/client.js'
import { hostsFromMultiaddrs } from '../transfer/fast-path.js'
import { NodeMetrics } from './metrics.js'
import { Registry } from 'prom-client'
import type { LeaseWatch } from './metrics-lease.js'
import { metricsSnapshot } from './metrics-snapshot.js'
import { ed25519Signer } from '../state/entry-sig.js'
import { composeNode, type ComposedNode } from './compose.js'

export { RIFTMESH_VERSION } from './node-info.js'
export { docTopic, heartbeatTopic } from './compose.js'

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

/** A running node: its composition (compose.ts) plus what only the binary's platform has. */
export interface Parts extends Omit<ComposedNode<Libp2pMesh>, 'peers' | 'stop' | 'halt' | 'lease' | 'dataPlane'> {
  db: RootDb
  /** Every database write passes it: says whether the store can persist, and recovers it. */
  guard: WriteGuard
  /** On libp2p the node always runs its PeerManager. */
  peers: PeerManager
  hardware: HardwareMonitor
  control: ControlServer | undefined
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

    // one registry for libp2p's own metrics and ours, only when they are served
    const metricsRegistry = cfg.node.metricsPort > 0 ? new Registry() : undefined
    // revoked peers (the trust log in the node's state) are refused at the connection and hung up on
    let node: ComposedNode<Libp2pMesh> | undefined
    const revocation: RevocationGuard = new RevocationGuard({ isRevoked: id => node?.state.isRevoked(id) ?? false, connectedPeers: (): string[] => mesh.connectedPeers(), hangUp: async (id): Promise<void> => await mesh.hangUp(id), logger: this.log })
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
    const hardware = new HardwareMonitor({ clock: this.clock, logger: this.log }, { dataDir })
    await hardware.start()
    this.stopSteps.push(() => hardware.stop())
    const runner = new ProcessRunner({ clock: this.clock, logger: this.log }, {
      dataDir, maxRuntimeMs: cfg.jobs.maxRuntimeMs, killGraceMs: cfg.jobs.killGraceMs, spawnRatePerMinute: cfg.jobs.spawnRatePerMinute,
      maxProcessesPerNode: cfg.jobs.maxProcessesPerNode, maxLogBytes: cfg.jobs.maxLogBytes
    })
    let transfer: Parts['transfer'] | undefined
    node = await composeNode({
      config: cfg, mesh, dialer: mesh, db, signer: ed25519Signer(key.raw), incarnation, host: hostname(), runner, hardware,
      load: this.init.load ?? new OsLoadSource(dataDir, undefined, () => hardware.gpuLoad()),
      dataPlane: async drops => {
        const t = await this.startTransfer(mesh, drops)
        transfer = t
        return { scanner: t.scanner, client: t.client, stop: async () => { await t.client.close(); await t.server.stop() } }
      },
      clock: this.clock, rng: this.rng, logger: this.log
    })
    const composed = node
    this.stopSteps.push(async () => await composed.stop())
    this.stopSteps.push(composed.state.onUpdate(u => { if (u.doc === 'control') revocation.check() }))

    if (composed.peers === undefined || transfer === undefined) throw new Error('the node started without its peer manager or data plane')
    const { stop: _stop, halt: _halt, lease, dataPlane: _dataPlane, ...running } = composed
    const base = { ...running, peers: composed.peers, db, guard, hardware, transfer }
    const metrics = new NodeMetrics({ snapshot: () => metricsSnapshot(base, lease), history: composed.stateManager, clock: this.clock, logger: this.log }, {
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
    const client = new TransferClient({
      mesh, clock: this.clock, logger: this.log, hashes: scanner, drops, hostsOf: async peer => hostsFromMultiaddrs((await mesh.peerAddrs(peer)).filter(a => !isRelayed(a)))
    }, { dataDir, fsync: s.fsync, syncfs: s.syncfs, nativeReceive: s.nativeBatch, directIo: s.directIo, maxConcurrentTransfers: s.maxConcurrentTransfers, batchFiles: s.batchFiles, batchMaxFileBytes: s.batchMaxFileBytes, diskThreads: s.diskThreads })
    return { scanner, server, client }
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

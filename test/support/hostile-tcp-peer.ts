/**
 * In-process peers on TCP, to reach a `riftmesh node` child process: an honest one (the real
 * Libp2pMesh, ClusterState, DocStore on memory-level, Replicator and HeartbeatService, like
 * `memory-peer.ts`) and a raw one (a bare Libp2pMesh with no riftmesh logic, whose `libp2p` is
 * used to send whatever bytes a test wants).
 */
import { MemoryLevel } from 'memory-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { SystemClock } from '../../src/core/clock.js'
import { silentLogger, type Logger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { DocStore } from '../../src/store/doc-store.js'
import type { RootDb } from '../../src/store/level.js'
import { Libp2pMesh } from '../../src/mesh/libp2p-mesh.js'
import { DropCounters } from '../../src/mesh/drops.js'
import { Replicator } from '../../src/mesh/replicator.js'
import { HeartbeatService } from '../../src/mesh/heartbeat.js'
import { docTopic, heartbeatTopic } from '../../src/node/node.js'
import { idleLoad } from './memory-peer.js'

const LOCALHOST = '/ip4/127.0.0.1/tcp/0'

export interface TcpPeer {
  mesh: Libp2pMesh
  state: ClusterState
  store: DocStore
  replicator: Replicator
  heartbeat: HeartbeatService
  drops: DropCounters
  stop: () => Promise<void>
}

export interface TcpPeerOptions {
  swarmKey: Uint8Array
  /** Cluster name of the topics. */
  cluster: string
  seed: number
  logger?: Logger
  /** @default 200 */
  heartbeatIntervalMs?: number
  /** Gossip size limit (mesh and replicator), as `mesh.maxGossipMessageBytes` of a node. @default 1 MiB */
  maxGossipMessageBytes?: number
}

/** A bare libp2p mesh (same stack as a node, no riftmesh logic) listening on 127.0.0.1. */
export async function startRawTcpMesh (swarmKey: Uint8Array, logger: Logger = silentLogger(), maxGossipMessageBytes?: number): Promise<Libp2pMesh> {
  const mesh = new Libp2pMesh({ logger }, {
    privateKey: await generateKeyPair('Ed25519'),
    swarmKey,
    listen: [LOCALHOST],
    bootstrap: [],
    transport: 'tcp',
    gossipHeartbeatMs: 200,
    ...(maxGossipMessageBytes !== undefined ? { maxGossipMessageBytes } : {})
  })
  await mesh.start()
  return mesh
}

/** An honest riftmesh peer on TCP: what a node runs on the network path, without a process or disk. */
export async function startHonestTcpPeer (opts: TcpPeerOptions): Promise<TcpPeer> {
  const logger = opts.logger ?? silentLogger()
  const clock = new SystemClock()
  const rng = new SeededRng(opts.seed)
  const mesh = await startRawTcpMesh(opts.swarmKey, logger, opts.maxGossipMessageBytes)
  const db = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' }) as unknown as RootDb
  await db.open()
  const state = new ClusterState({ clock, logger, rng: rng.fork('state') }, { selfId: mesh.selfId })
  const store = new DocStore({ db, state, logger }, { syncWrites: false })
  await store.start()
  const drops = new DropCounters(logger)
  const replicator = new Replicator({ mesh, state, updates: store, clock, rng: rng.fork('repl'), logger, drops }, {
    topic: docTopic(opts.cluster),
    coalesceWindowMs: 10,
    antiEntropyIntervalMs: 2_000,
    syncTimeoutMs: 5_000,
    ...(opts.maxGossipMessageBytes !== undefined ? { maxGossipMessageBytes: opts.maxGossipMessageBytes } : {})
  })
  await replicator.start()
  const heartbeat = new HeartbeatService({ mesh, clock, logger, drops, load: idleLoad, docs: state.docs }, {
    topic: heartbeatTopic(opts.cluster),
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 200,
    suspectAfterMs: 1_000,
    deadAfterMs: 2_000,
    cpuHighPercent: 80,
    cpuCriticalPercent: 95,
    stretchHigh: 1.2,
    stretchCritical: 1.4
  })
  heartbeat.onDigestMismatch(peer => replicator.requestSync(peer, 'digest'))
  heartbeat.start()
  return {
    mesh, state, store, replicator, heartbeat, drops,
    stop: async () => {
      heartbeat.stop()
      await replicator.stop()
      await mesh.stop()
      await store.stop()
      await db.close()
      state.destroy()
    }
  }
}

/**
 * In-process peers for tests and benchmarks: the real Libp2pMesh (on the memory transport, or
 * TCP on 127.0.0.1 to reach node processes), the real ClusterState, DocStore (on memory-level),
 * Replicator and HeartbeatService — everything a node runs on the network path, without a
 * process or a disk.
 */
import { ed25519Signer } from '../../src/state/entry-sig.js'
import { MemoryLevel } from 'memory-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { SystemClock } from '../../src/core/clock.js'
import { silentLogger, type Logger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { DocStore } from '../../src/store/doc-store.js'
import type { RootDb } from '../../src/store/level.js'
import { Libp2pMesh } from '../../src/mesh/libp2p-mesh.js'
import { DropCounters } from '../../src/mesh/drops.js'
import { Replicator, type ReplicatorInit } from '../../src/mesh/replicator.js'
import { HeartbeatService, type LoadSource } from '../../src/mesh/heartbeat.js'
import { newSwarmKey } from '../../src/mesh/keys.js'
import { docTopic, heartbeatTopic } from '../../src/node/node.js'

export const TEST_CLUSTER = 'test'
export const idleLoad: LoadSource = {
  sample: () => ({ cpuPercent: 1, memoryPercent: 10, diskPercent: 10, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 0, trainingJobs: 0 })
}

let nextAddr = 0

export interface MemoryPeer {
  mesh: Libp2pMesh
  state: ClusterState
  store: DocStore
  replicator: Replicator
  heartbeat: HeartbeatService
  drops: DropCounters
  addr: string
  stop: () => Promise<void>
}

export interface MemoryPeerOptions {
  swarmKey?: Uint8Array
  /** @default 'memory' */
  transport?: 'memory' | 'tcp'
  /** Cluster name of the topics. @default TEST_CLUSTER */
  cluster?: string
  /** Gossip size limit of the mesh and the replicator (a node's mesh.maxGossipMessageBytes). @default 1 MiB */
  maxGossipMessageBytes?: number
  seed?: number
  logger?: Logger
  replicator?: Partial<ReplicatorInit>
  heartbeatIntervalMs?: number
  connectionGater?: ConnectionGater
  /** Start the heartbeat service. @default true */
  heartbeats?: boolean
}

/** One swarm key shared by the peers of one test. */
export function testSwarmKey (): Uint8Array {
  return newSwarmKey()
}

/** A bare libp2p mesh: the same stack as a node, no riftmesh logic (tests send raw bytes through `libp2p`). */
export async function startBareMesh (opts: { privateKey?: PrivateKey, swarmKey: Uint8Array | null, transport: 'memory' | 'tcp', listen: string, logger?: Logger, maxGossipMessageBytes?: number, connectionGater?: ConnectionGater }): Promise<Libp2pMesh> {
  const mesh = new Libp2pMesh({ logger: opts.logger ?? silentLogger() }, {
    privateKey: opts.privateKey ?? await generateKeyPair('Ed25519'),
    swarmKey: opts.swarmKey,
    listen: [opts.listen],
    bootstrap: [],
    transport: opts.transport,
    gossipHeartbeatMs: 200,
    ...(opts.maxGossipMessageBytes !== undefined ? { maxGossipMessageBytes: opts.maxGossipMessageBytes } : {}),
    ...(opts.connectionGater !== undefined ? { connectionGater: opts.connectionGater } : {})
  })
  await mesh.start()
  return mesh
}

export async function startMemoryPeer (opts: MemoryPeerOptions = {}): Promise<MemoryPeer> {
  const logger = opts.logger ?? silentLogger()
  const clock = new SystemClock()
  const rng = new SeededRng(opts.seed ?? nextAddr + 1)
  const transport = opts.transport ?? 'memory'
  const cluster = opts.cluster ?? TEST_CLUSTER
  const addr = transport === 'memory' ? `/memory/riftmesh-test-${process.pid}-${nextAddr++}` : '/ip4/127.0.0.1/tcp/0'
  const privateKey = await generateKeyPair('Ed25519')
  const mesh = await startBareMesh({ privateKey, swarmKey: opts.swarmKey ?? null, transport, listen: addr, logger, maxGossipMessageBytes: opts.maxGossipMessageBytes, connectionGater: opts.connectionGater })
  const db = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' }) as unknown as RootDb
  await db.open()
  const state = new ClusterState({ clock, logger, rng: rng.fork('state'), signer: ed25519Signer(privateKey.raw) }, { selfId: mesh.selfId })
  const store = new DocStore({ db, state, clock, logger }, { syncWrites: false })
  await store.start()
  const drops = new DropCounters(logger)
  const replicator = new Replicator({ mesh, state, updates: store, clock, rng: rng.fork('repl'), logger, drops }, {
    topic: docTopic(cluster),
    coalesceWindowMs: 10,
    antiEntropyIntervalMs: 2_000,
    syncTimeoutMs: 5_000,
    ...(opts.maxGossipMessageBytes !== undefined ? { maxGossipMessageBytes: opts.maxGossipMessageBytes } : {}),
    ...opts.replicator
  })
  await replicator.start()
  const heartbeat = new HeartbeatService({ mesh, clock, logger, drops, load: idleLoad, docs: state.docs }, {
    topic: heartbeatTopic(cluster),
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 250,
    suspectAfterMs: 1_000,
    deadAfterMs: 2_000,
    cpuHighPercent: 80,
    cpuCriticalPercent: 95,
    stretchHigh: 1.2,
    stretchCritical: 1.4
  })
  heartbeat.onDigestMismatch(peer => replicator.requestSync(peer, 'digest'))
  if (opts.heartbeats !== false) heartbeat.start()
  const full = transport === 'memory' ? `${addr}/p2p/${mesh.selfId}` : mesh.listenAddrs()[0] as string
  return {
    mesh, state, store, replicator, heartbeat, drops, addr: full,
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

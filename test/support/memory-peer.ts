/**
 * In-process peers for tests and benchmarks: the real Libp2pMesh on the memory transport, the
 * real ClusterState, DocStore (on memory-level), Replicator and HeartbeatService — everything a
 * node runs on the network path, without processes or disk.
 */
import { MemoryLevel } from 'memory-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionGater } from '@libp2p/interface'
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

export async function startMemoryPeer (opts: MemoryPeerOptions = {}): Promise<MemoryPeer> {
  const logger = opts.logger ?? silentLogger()
  const clock = new SystemClock()
  const rng = new SeededRng(opts.seed ?? nextAddr + 1)
  const addr = `/memory/riftmesh-test-${process.pid}-${nextAddr++}`
  const mesh = new Libp2pMesh({ logger }, {
    privateKey: await generateKeyPair('Ed25519'),
    swarmKey: opts.swarmKey ?? null,
    listen: [addr],
    bootstrap: [],
    transport: 'memory',
    gossipHeartbeatMs: 200,
    ...(opts.connectionGater !== undefined ? { connectionGater: opts.connectionGater } : {})
  })
  await mesh.start()
  const db = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' }) as unknown as RootDb
  await db.open()
  const state = new ClusterState({ clock, logger, rng: rng.fork('state') }, { selfId: mesh.selfId })
  const store = new DocStore({ db, state, logger }, { syncWrites: false })
  await store.start()
  const drops = new DropCounters(logger)
  const replicator = new Replicator({ mesh, state, updates: store, clock, rng: rng.fork('repl'), logger, drops }, {
    topic: docTopic(TEST_CLUSTER), coalesceWindowMs: 10, antiEntropyIntervalMs: 2_000, syncTimeoutMs: 5_000, ...opts.replicator
  })
  await replicator.start()
  const heartbeat = new HeartbeatService({ mesh, clock, logger, drops, load: idleLoad, docs: state.docs }, {
    topic: heartbeatTopic(TEST_CLUSTER),
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
  const full = `${addr}/p2p/${mesh.selfId}`
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

/**
 * In-process peers on TCP, to reach a `riftmesh node` child process: an honest one (the real
 * Libp2pMesh, ClusterState, DocStore on memory-level, Replicator and HeartbeatService, like
 * `memory-peer.ts`) and a raw one (a bare Libp2pMesh with no riftmesh logic, whose `libp2p` is
 * used to send whatever bytes a test wants).
 */
import { silentLogger, type Logger } from '../../src/core/logger.js'
import type { Libp2pMesh } from '../../src/mesh/libp2p-mesh.js'
import { startBareMesh, startMemoryPeer, type MemoryPeer } from './memory-peer.js'

const LOCALHOST = '/ip4/127.0.0.1/tcp/0'

export type TcpPeer = MemoryPeer

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
  return await startBareMesh({ swarmKey, transport: 'tcp', listen: LOCALHOST, logger, maxGossipMessageBytes })
}

/** An honest riftmesh peer on TCP: what a node runs on the network path, without a process or disk. */
export async function startHonestTcpPeer (opts: TcpPeerOptions): Promise<TcpPeer> {
  return await startMemoryPeer({
    transport: 'tcp',
    swarmKey: opts.swarmKey,
    cluster: opts.cluster,
    seed: opts.seed,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 200,
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    ...(opts.maxGossipMessageBytes !== undefined ? { maxGossipMessageBytes: opts.maxGossipMessageBytes } : {})
  })
}

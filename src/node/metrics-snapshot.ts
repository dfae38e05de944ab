/** Reads a MetricsSnapshot from a running node's components (for NodeMetrics and the control ops). */
import type { ClusterState } from '../state/cluster-state.js'
import { TERMINAL_STATES, type JobState } from '../state/jobs.js'
import { DROP_REASONS } from '../mesh/drops.js'
import type { MetricsSnapshot } from './metrics.js'
import type { LeaseWatch } from './metrics-lease.js'
import type { Parts } from './node.js'
import type { PersistenceStatus } from '../store/doc-store.js'
import type { PersistenceState } from '../store/write-guard.js'
import type { ClockSkew } from '../mesh/heartbeat.js'

/** Whether this node's store persists, from the document store's queue and the database's write guard. */
export interface StoreHealth {
  persisting: boolean
  /** Why not (`ENOSPC`, …), else null. */
  code: string | null
  error: string | null
  /** How long it has not persisted, else null. */
  failingForMs: number | null
  /** Document updates waiting in memory to be written. */
  pendingUpdates: number
  /** When the document store tries again, else null. */
  retryInMs: number | null
}

export function storeHealth (docs: PersistenceStatus, db: PersistenceState, nowMs: number): StoreHealth {
  const since = [docs.failingSinceMs, db.sinceMs].filter((x): x is number => x !== null)
  return {
    persisting: docs.persisting && db.writable,
    code: docs.code ?? db.code,
    error: docs.error ?? db.error,
    failingForMs: since.length === 0 ? null : Math.max(0, nowMs - Math.min(...since)),
    pendingUpdates: docs.pendingUpdates,
    retryInMs: docs.retryInMs
  }
}

/** Peers whose clock is off by more than the bound (health.maxClockSkewMs), as the heartbeats show. */
export interface ClockHealth { maxSkewMs: number, skewed: ClockSkew[] }

/** Encoded size of every document, by name. */
export function documentBytes (state: ClusterState): Record<string, number> {
  const out: Record<string, number> = {}
  for (const name of state.docs.names()) out[name] = state.docs.diff(name).byteLength
  return out
}

/** Sizes summed per group: control, manifests, jobs (every job bucket together). */
export function documentBytesByGroup (state: ClusterState): Record<string, number> {
  const out: Record<string, number> = { control: 0, manifests: 0, jobs: 0 }
  for (const [name, n] of Object.entries(documentBytes(state))) {
    const group = name.startsWith('jobs/') ? 'jobs' : name
    out[group] = (out[group] ?? 0) + n
  }
  return out
}

/** Every job state, so each has a series (0 when no job is in it). */
export const JOB_STATES: readonly JobState[] = ['PENDING', 'RUNNING', ...TERMINAL_STATES]

export function jobsByState (state: ClusterState): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(JOB_STATES.map(s => [s, 0]))
  for (const j of state.jobs()) out[j.state] = (out[j.state] ?? 0) + 1
  return out
}

/** Most distinct protocols counted (a misbehaving peer cannot grow the label set without bound). */
export const MAX_PROTOCOL_LABELS = 64

/** libp2p's open connections by direction and streams by protocol. */
export function libp2pCounts (conns: ReadonlyArray<{ direction: string, streams: ReadonlyArray<{ protocol?: string }> }>): MetricsSnapshot['libp2p'] {
  const connectionsByDirection: Record<string, number> = { inbound: 0, outbound: 0 }
  const streamsByProtocol: Record<string, number> = {}
  for (const c of conns) {
    connectionsByDirection[c.direction] = (connectionsByDirection[c.direction] ?? 0) + 1
    for (const s of c.streams) {
      const known = s.protocol !== undefined && s.protocol !== '' ? s.protocol : 'negotiating'
      const protocol = known in streamsByProtocol || Object.keys(streamsByProtocol).length < MAX_PROTOCOL_LABELS ? known : 'other'
      streamsByProtocol[protocol] = (streamsByProtocol[protocol] ?? 0) + 1
    }
  }
  return { connectionsByDirection, streamsByProtocol }
}

export function metricsSnapshot (p: Omit<Parts, 'control' | 'observe'>, lease: LeaseWatch): MetricsSnapshot {
  const peers = p.heartbeat.peers()
  const conns = p.mesh.libp2p.getConnections()
  const leader = p.election.currentLeader()
  const sync = p.managers.sync?.status()
  const served = p.transfer.server.stats
  const pulled = p.transfer.client.stats
  const skews = p.heartbeat.clockSkews()
  return {
    peersAlive: peers.filter(x => x.health === 'ALIVE').length,
    peersTotal: peers.length,
    connections: conns.length,
    libp2p: libp2pCounts(conns),
    isLeader: p.election.isLeader(),
    leaderEpoch: leader?.epoch ?? null,
    highestEpoch: p.election.highestEpoch,
    leaseRemainingMs: leader === undefined ? null : lease.reading(leader.nodeId)?.remainingMs ?? null,
    electionEvents: p.electionEvents.counts(),
    jobsByState: jobsByState(p.state),
    syncBytesReceived: sync?.totals.bytesReceived ?? 0,
    syncFilesReceived: sync?.totals.filesReceived ?? 0,
    syncFailedPulls: sync?.totals.failedPulls ?? 0,
    transfer: {
      servedFiles: served.served,
      servedBytes: served.bytesServed,
      batches: { served: served.batches, pulled: pulled.batches },
      refusedByCode: { ...served.refused },
      hashMismatches: pulled.hashMismatches
    },
    documentBytes: documentBytesByGroup(p.state),
    droppedByReason: { ...Object.fromEntries(DROP_REASONS.map(r => [r, 0])), ...p.drops.byReason() },
    store: { persisting: p.store.persistence().persisting && p.guard.state().writable, pendingUpdates: p.store.persistence().pendingUpdates },
    clock: { skewedPeers: skews.length, maxSkewMs: Math.max(0, ...skews.map(x => Math.abs(x.skewMs))) }
  }
}

/**
 * NodeMetrics: the Prometheus endpoint over real HTTP, its text checked by a real exposition
 * parser, and the history samples appended to LevelDB on the (virtual) clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { StateManager } from '../../../src/managers/state-manager.js'
import { NodeMetrics, historyValues, type MetricsSnapshot } from '../../../src/node/metrics.js'
import { MAX_PROTOCOL_LABELS, libp2pCounts } from '../../../src/node/metrics-snapshot.js'
import { tempDir } from '../../helpers.js'

export interface PromFamily { name: string, help: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string> }> }
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[]

const snapshot: MetricsSnapshot = {
  peersAlive: 2,
  peersTotal: 3,
  connections: 2,
  libp2p: { connectionsByDirection: { inbound: 1, outbound: 1 }, streamsByProtocol: { '/meshsub/1.1.0': 2 } },
  isLeader: true,
  leaderEpoch: 7,
  highestEpoch: 7,
  leaseRemainingMs: 2_500,
  electionEvents: { 'leader-elected': 2, 'lease-expired': 1, 'stepped-down': 0, 'quorum-lost': 1, 'quorum-regained': 0 },
  jobsByState: { PENDING: 1, RUNNING: 4, COMPLETE: 0 },
  syncBytesReceived: 1_048_576,
  syncFilesReceived: 3,
  syncFailedPulls: 0,
  transfer: { servedFiles: 12, servedBytes: 4_096, batches: { served: 2, pulled: 1 }, refusedByCode: { BAD_PATH: 1, BUSY: 0 }, hashMismatches: 0 },
  documentBytes: { control: 900, manifests: 300, jobs: 5_000 },
  droppedByReason: { malformed: 2, spoofed: 0 },
  store: { persisting: false, pendingUpdates: 42 },
  clock: { skewedPeers: 1, maxSkewMs: 3_600_000 }
}

let cleanup: () => Promise<void>
let db: RootDb
let clock: VirtualClock
let history: StateManager
let metrics: NodeMetrics | undefined

beforeEach(async () => {
  let dir: string
  ({ dir, cleanup } = await tempDir('riftmesh-metrics-'))
  db = await openLevel(dir)
  clock = new VirtualClock(1_000_000)
  history = new StateManager({ tables: new LocalTables(db, silentLogger()), clock, logger: silentLogger() }, { metricsHistoryMax: 3 })
  await history.load()
})

afterEach(async () => {
  await metrics?.stop()
  metrics = undefined
  await db.close()
  await cleanup()
})

const value = (families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const m = families.find(f => f.name === name)?.metrics.find(x => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))
  return m?.value === undefined ? undefined : Number(m.value)
}

describe('NodeMetrics', () => {
  it('serves GET /metrics in the Prometheus text format with the node\'s numbers, and 404 elsewhere', async () => {
    metrics = new NodeMetrics({ snapshot: () => snapshot, history, clock, logger: silentLogger() }, { port: 0, historyIntervalMs: 0 })
    // port 0 serves nothing: pick a free port through a first server
    await metrics.start()
    expect(metrics.listeningPort).toBe(0)
    await metrics.stop()
    const { createServer } = await import('node:net')
    const probe = createServer()
    const port = await new Promise<number>(resolve => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
    await new Promise<void>(resolve => probe.close(() => resolve()))
    metrics = new NodeMetrics({ snapshot: () => snapshot, history, clock, logger: silentLogger() }, { port, historyIntervalMs: 0 })
    await metrics.start()
    const res = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const families = parseProm(await res.text())
    expect(value(families, 'riftmesh_peers_alive')).toBe(2)
    expect(value(families, 'riftmesh_peers_total')).toBe(3)
    expect(value(families, 'riftmesh_is_leader')).toBe(1)
    expect(value(families, 'riftmesh_libp2p_connections', { direction: 'inbound' })).toBe(1)
    expect(value(families, 'riftmesh_libp2p_streams', { protocol: '/meshsub/1.1.0' })).toBe(2)
    expect(value(families, 'riftmesh_epoch')).toBe(7)
    expect(value(families, 'riftmesh_lease_remaining_seconds')).toBe(2.5)
    expect(value(families, 'riftmesh_election_events_total', { type: 'leader-elected' })).toBe(2)
    expect(value(families, 'riftmesh_election_events_total', { type: 'quorum-lost' })).toBe(1)
    expect(value(families, 'riftmesh_election_events_total', { type: 'stepped-down' })).toBe(0)
    expect(families.find(f => f.name === 'riftmesh_election_events_total')?.type).toBe('COUNTER')
    expect(value(families, 'riftmesh_jobs', { state: 'RUNNING' })).toBe(4)
    expect(value(families, 'riftmesh_document_bytes', { doc: 'jobs' })).toBe(5_000)
    expect(value(families, 'riftmesh_sync_received_bytes_total')).toBe(1_048_576)
    expect(value(families, 'riftmesh_transfer_served_files_total')).toBe(12)
    expect(value(families, 'riftmesh_transfer_batches_total', { side: 'served' })).toBe(2)
    expect(value(families, 'riftmesh_transfer_batches_total', { side: 'pulled' })).toBe(1)
    expect(value(families, 'riftmesh_transfer_refused_total', { code: 'BAD_PATH' })).toBe(1)
    expect(value(families, 'riftmesh_dropped_messages_total', { reason: 'malformed' })).toBe(2)
    expect(families.find(f => f.name === 'riftmesh_dropped_messages_total')?.type).toBe('COUNTER')
    expect(value(families, 'riftmesh_store_persisting')).toBe(0)
    expect(value(families, 'riftmesh_store_pending_updates')).toBe(42)
    expect(value(families, 'riftmesh_peers_clock_skewed')).toBe(1)
    expect(value(families, 'riftmesh_clock_skew_max_seconds')).toBe(3_600)
    expect(families.some(f => f.name === 'riftmesh_process_resident_memory_bytes')).toBe(true)
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404)
  })

  it('appends a history sample every historyIntervalMs, keeping at most metricsHistoryMax', async () => {
    let alive = 0
    metrics = new NodeMetrics({ snapshot: () => ({ ...snapshot, peersAlive: ++alive }), history, clock, logger: silentLogger() }, { historyIntervalMs: 1_000 })
    await metrics.start()
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      await expect.poll(async () => (await history.metrics()).at(-1)?.values.peersAlive, { timeout: 2_000 }).toBe(i + 1)
    }
    const rows = await history.metrics()
    expect(rows.map(r => r.values.peersAlive)).toEqual([3, 4, 5])
    expect(rows[0]?.values).toMatchObject({ peersTotal: 3, isLeader: 1, epoch: 7, jobsRUNNING: 4, docBytes: 6_200, drops: 2, electionEvents: 4 })
  })

  it('flattens a snapshot into history values and refuses a bad port or interval', () => {
    expect(historyValues({ ...snapshot, isLeader: false, leaderEpoch: null, highestEpoch: 9 })).toMatchObject({ isLeader: 0, epoch: 9, syncBytes: 1_048_576 })
    const c = { snapshot: () => snapshot, history, clock, logger: silentLogger() }
    expect(() => new NodeMetrics(c, { port: 70_000 })).toThrow(/node\.metricsPort/)
    expect(() => new NodeMetrics(c, { historyIntervalMs: -1 })).toThrow(/node\.metricsHistoryIntervalMs/)
  })
})

describe('libp2pCounts', () => {
  it('counts connections by direction and streams by protocol, at most MAX_PROTOCOL_LABELS protocols then "other"', () => {
    const streams = Array.from({ length: MAX_PROTOCOL_LABELS + 5 }, (_, i) => ({ protocol: `/p/${i}` }))
    const c = libp2pCounts([
      { direction: 'inbound', streams: [{ protocol: '/meshsub/1.1.0' }, { protocol: '' }] },
      { direction: 'outbound', streams },
      { direction: 'outbound', streams: [{ protocol: '/meshsub/1.1.0' }] }
    ])
    expect(c.connectionsByDirection).toEqual({ inbound: 1, outbound: 2 })
    expect(c.streamsByProtocol['/meshsub/1.1.0']).toBe(2)
    expect(c.streamsByProtocol.negotiating).toBe(1)
    expect(Object.keys(c.streamsByProtocol)).toHaveLength(MAX_PROTOCOL_LABELS + 1)
    expect(c.streamsByProtocol.other).toBe(MAX_PROTOCOL_LABELS + 5 - (MAX_PROTOCOL_LABELS - 2))
  })
})

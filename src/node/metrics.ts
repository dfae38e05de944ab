/**
 * NodeMetrics: the node's numbers for operators. A snapshot function reads them from the live
 * components; prom-client gauges read the same snapshot at scrape time on `GET /metrics` (when
 * a port is set), and every `historyIntervalMs` a flat sample is appended to the metrics
 * history in LevelDB, which the REPL's `metrics()` reads back.
 */
import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { OncePerCause, causeKey } from '../core/once-per-cause.js'
import { ConfigError, ListenError, errorMessage } from '../core/errors.js'
import { DEFAULT_METRICS_HISTORY_INTERVAL_MS, DEFAULT_METRICS_HOST } from '../config/defaults.js'

/** What one scrape or history sample shows. */
export interface MetricsSnapshot {
  peersAlive: number
  peersTotal: number
  connections: number
  /** libp2p's own view: open connections by direction, open streams by protocol. */
  libp2p: { connectionsByDirection: Record<string, number>, streamsByProtocol: Record<string, number> }
  isLeader: boolean
  /** The known leader's epoch, or null with no leader. */
  leaderEpoch: number | null
  highestEpoch: number
  leaseRemainingMs: number | null
  /** Election transitions of any node this node saw since it started, by type (leader-elected, lease-expired, …). */
  electionEvents: Record<string, number>
  jobsByState: Record<string, number>
  syncBytesReceived: number
  syncFilesReceived: number
  syncFailedPulls: number
  /** The transfer layer: what this node served as a holder and how its own pulls went. */
  transfer: {
    servedFiles: number
    servedBytes: number
    /** BATCH requests: served as a holder, sent as a target. */
    batches: { served: number, pulled: number }
    /** Requests and batch items this node refused, by code. */
    refusedByCode: Record<string, number>
    /** Pulled files whose bytes did not hash to the expected sha256. */
    hashMismatches: number
  }
  /** Encoded size per document group (control, manifests, jobs). */
  documentBytes: Record<string, number>
  droppedByReason: Record<string, number>
  /** Whether document updates reach the disk (false: a full disk, say), and how many wait in memory. */
  store: { persisting: boolean, pendingUpdates: number }
  /** Peers whose clock differs from ours by more than health.maxClockSkewMs, and the largest such difference (0 with none). */
  clock: { skewedPeers: number, maxSkewMs: number }
}

export interface NodeMetricsComponents {
  snapshot: () => MetricsSnapshot
  /** Appends one history sample (StateManager.appendMetrics). */
  history: { appendMetrics: (values: Readonly<Record<string, number>>) => Promise<unknown> }
  clock: Clock
  logger: Logger
}

export interface NodeMetricsInit {
  /** Port of `GET /metrics`; 0 serves nothing. @default 0 */
  port?: number
  /** @default DEFAULT_METRICS_HOST ('127.0.0.1') */
  host?: string
  /** Between two history samples; 0 keeps none. @default DEFAULT_METRICS_HISTORY_INTERVAL_MS (60_000) */
  historyIntervalMs?: number
  /** The registry to serve (libp2p may already have put its own metrics in it). @default a new one */
  registry?: Registry
}

/** The snapshot as the flat record the history keeps (at most a few dozen values). */
export function historyValues (s: MetricsSnapshot): Record<string, number> {
  const out: Record<string, number> = {
    peersAlive: s.peersAlive,
    peersTotal: s.peersTotal,
    connections: s.connections,
    isLeader: s.isLeader ? 1 : 0,
    epoch: s.leaderEpoch ?? s.highestEpoch,
    syncBytes: s.syncBytesReceived,
    docBytes: Object.values(s.documentBytes).reduce((a, b) => a + b, 0),
    drops: Object.values(s.droppedByReason).reduce((a, b) => a + b, 0),
    electionEvents: Object.values(s.electionEvents).reduce((a, b) => a + b, 0)
  }
  for (const [state, n] of Object.entries(s.jobsByState)) out[`jobs${state}`] = n
  return out
}

/** The metrics endpoint could not listen on `host`:`port`: say why in riftmesh's own flags. */
export function metricsListenError (err: unknown, host: string, port: number): ListenError {
  const code = (err as NodeJS.ErrnoException).code
  const problem = code === 'EADDRINUSE'
    ? `port ${port} on ${host} is in use (another riftmesh node or program? pick another with --metrics-port ${port + 1 <= 65_535 ? port + 1 : 9464}, or 0 for no metrics)`
    : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
      ? `node.metricsHost ${host} is not an address of this machine (set --set node.metricsHost=127.0.0.1, or 0.0.0.0 for every interface)`
      : code === 'EACCES'
        ? `port ${port} needs privileges (ports below 1024 are reserved to root); pick one from 1024 up with --metrics-port`
        : `cannot serve metrics on ${host}:${port} (${errorMessage(err)})`
  return new ListenError('--metrics-port', String(port), problem, { cause: err })
}

export class NodeMetrics {
  readonly registry: Registry
  private readonly log: Logger
  /** A failing history sample or scrape is warned once per cause, not at every interval or scrape. */
  private readonly said: OncePerCause
  private readonly port: number
  private readonly host: string
  private readonly historyMs: number
  private server: Server | undefined
  private timer: TimerHandle | undefined
  private running = false
  private cached: { atMs: number, s: MetricsSnapshot } | undefined

  constructor (private readonly c: NodeMetricsComponents, init: NodeMetricsInit = {}) {
    this.log = c.logger.child({ component: 'metrics' })
    this.said = new OncePerCause(this.log)
    this.registry = init.registry ?? new Registry()
    this.port = init.port ?? 0
    this.host = init.host ?? DEFAULT_METRICS_HOST
    this.historyMs = init.historyIntervalMs ?? DEFAULT_METRICS_HISTORY_INTERVAL_MS
    if (!(Number.isInteger(this.port) && this.port >= 0 && this.port <= 65_535)) throw new ConfigError('node.metricsPort', 'a port 0–65535', `got ${this.port}`)
    if (!(Number.isInteger(this.historyMs) && this.historyMs >= 0)) throw new ConfigError('node.metricsHistoryIntervalMs', 'an integer ≥ 0', `got ${this.historyMs}`)
    this.define()
  }

  /** The port actually listened on (0 when not serving). */
  get listeningPort (): number {
    const a = this.server?.address()
    return typeof a === 'object' && a !== null ? a.port : 0
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    if (this.historyMs > 0) this.timer = this.c.clock.setTimer(() => this.sampleLoop(), this.historyMs)
    if (this.port === 0) return
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n')
        return
      }
      this.registry.metrics().then(text => {
        this.said.report('scrape', null)
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(text)
      }, (err: unknown) => {
        this.said.report('scrape', { key: causeKey(errorMessage(err)), msg: 'metrics scrape failed', fields: { err } })
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n')
      })
    })
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.port, this.host, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      await this.stop()
      throw metricsListenError(err, this.host, this.port)
    }
    this.server = server
    this.log.info({ host: this.host, port: this.listeningPort }, 'serving Prometheus metrics on /metrics')
  }

  async stop (): Promise<void> {
    this.running = false
    this.c.clock.clearTimer(this.timer)
    this.timer = undefined
    const server = this.server
    this.server = undefined
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }

  /** The values a history sample would hold now. */
  current (): Record<string, number> {
    return historyValues(this.c.snapshot())
  }

  /** Append one history sample now. */
  async sample (): Promise<void> {
    await this.c.history.appendMetrics(historyValues(this.c.snapshot()))
  }

  private sampleLoop (): void {
    this.sample().then(() => this.said.report('history', null),
      (err: unknown) => this.said.report('history', { key: causeKey(errorMessage(err)), msg: 'metrics history sample failed', fields: { err } }))
      .finally(() => { if (this.running) this.timer = this.c.clock.setTimer(() => this.sampleLoop(), this.historyMs) })
  }

  /** One snapshot per scrape, shared by every gauge's collect(). */
  private snap (): MetricsSnapshot {
    const now = this.c.clock.monoMs()
    if (this.cached === undefined || now - this.cached.atMs > 100) this.cached = { atMs: now, s: this.c.snapshot() }
    return this.cached.s
  }

  private define (): void {
    const registers = [this.registry]
    const snap = (): MetricsSnapshot => this.snap()
    const gauge = (name: string, help: string, read: (s: MetricsSnapshot) => number): void => {
      // eslint-disable-next-line no-new
      new Gauge({ name, help, registers, collect () { this.set(read(snap())) } })
    }
    const labelled = (name: string, help: string, label: string, read: (s: MetricsSnapshot) => Record<string, number>): void => {
      // eslint-disable-next-line no-new
      new Gauge({ name, help, labelNames: [label], registers, collect () { this.reset(); for (const [k, v] of Object.entries(read(snap()))) this.set({ [label]: k }, v) } })
    }
    const counter = (name: string, help: string, label: string | undefined, read: (s: MetricsSnapshot) => Record<string, number>): void => {
      // eslint-disable-next-line no-new
      new Counter({
        name, help, labelNames: label === undefined ? [] : [label], registers,
        collect () {
          this.reset()
          for (const [k, v] of Object.entries(read(snap()))) {
            if (label === undefined) this.inc(v)
            else this.inc({ [label]: k }, v)
          }
        }
      })
    }
    gauge('riftmesh_peers_alive', 'Peers whose heartbeats say ALIVE.', s => s.peersAlive)
    gauge('riftmesh_peers_total', 'Peers heard from (any health).', s => s.peersTotal)
    labelled('riftmesh_libp2p_connections', 'Open libp2p connections by direction.', 'direction', s => s.libp2p.connectionsByDirection)
    labelled('riftmesh_libp2p_streams', 'Open libp2p streams by protocol.', 'protocol', s => s.libp2p.streamsByProtocol)
    gauge('riftmesh_is_leader', '1 while this node holds a valid leader lease.', s => (s.isLeader ? 1 : 0))
    gauge('riftmesh_leader_known', '1 when this node knows a leader.', s => (s.leaderEpoch === null ? 0 : 1))
    gauge('riftmesh_epoch', 'Epoch of the known leader (else the highest epoch seen).', s => s.leaderEpoch ?? s.highestEpoch)
    counter('riftmesh_election_events_total', 'Election transitions of any node seen by this one, by type: leader-elected, lease-expired, stepped-down, quorum-lost, quorum-regained.', 'type', s => s.electionEvents)
    gauge('riftmesh_lease_remaining_seconds', 'Time left on the leader\'s lease as this node sees it (-1 without a leader).', s => (s.leaseRemainingMs === null ? -1 : s.leaseRemainingMs / 1_000))
    labelled('riftmesh_jobs', 'Jobs in the document by state.', 'state', s => s.jobsByState)
    labelled('riftmesh_document_bytes', 'Encoded size of the cluster documents by group.', 'doc', s => s.documentBytes)
    counter('riftmesh_sync_received_bytes_total', 'Bytes of data files pulled by sync.', undefined, s => ({ '': s.syncBytesReceived }))
    counter('riftmesh_sync_received_files_total', 'Data files pulled by sync.', undefined, s => ({ '': s.syncFilesReceived }))
    counter('riftmesh_sync_failed_pulls_total', 'Sync pulls that failed.', undefined, s => ({ '': s.syncFailedPulls }))
    counter('riftmesh_transfer_served_files_total', 'Files this node served to others.', undefined, s => ({ '': s.transfer.servedFiles }))
    counter('riftmesh_transfer_served_bytes_total', 'Bytes of files this node served to others.', undefined, s => ({ '': s.transfer.servedBytes }))
    counter('riftmesh_transfer_batches_total', 'BATCH requests (many small files each), served as a holder or pulled as a target.', 'side', s => s.transfer.batches)
    counter('riftmesh_transfer_refused_total', 'Transfer requests and batch items this node refused, by code.', 'code', s => s.transfer.refusedByCode)
    counter('riftmesh_transfer_hash_mismatches_total', 'Pulled files whose bytes did not hash to the expected sha256 (fetched again elsewhere).', undefined, s => ({ '': s.transfer.hashMismatches }))
    gauge('riftmesh_store_persisting', '1 while document updates are written to disk; 0 while writes fail (a full disk) and updates wait in memory.', s => (s.store.persisting ? 1 : 0))
    gauge('riftmesh_store_pending_updates', 'Document updates not yet durable (waiting in memory while writes fail).', s => s.store.pendingUpdates)
    gauge('riftmesh_peers_clock_skewed', 'Peers whose clock differs from this node\'s by more than health.maxClockSkewMs (from their heartbeats).', s => s.clock.skewedPeers)
    gauge('riftmesh_clock_skew_max_seconds', 'Largest clock difference to such a peer, in seconds (0 with none).', s => s.clock.maxSkewMs / 1_000)
    counter('riftmesh_dropped_messages_total', 'Messages dropped from peers, by reason.', 'reason', s => s.droppedByReason)
    collectDefaultMetrics({ register: this.registry, prefix: 'riftmesh_' })
  }
}

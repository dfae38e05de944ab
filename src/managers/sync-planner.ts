/**
 * SyncPlanner: this node's side of data sync. It publishes what it holds (a scan of the data dir
 * into its `manifests` entry, only when that changed) and pulls what its role wants from the
 * holders in the other manifests — the target always pulls. Decisions are the pure functions of
 * sync-plan.ts; this class owns the state machine and the I/O.
 *
 * States (REFERENCE "SyncPlanner"): IDLE → COLLECTING (holders' lists) → SYNCING (pulls) →
 * SYNCED; an error → RETRY with back-off 1 s → 30 s, then the next pass. One pass at a time
 * per node. A pass refused for a full disk stays IDLE with the reason in `status()`.
 */
import type { Clock } from '../core/clock.js'
import { timestampMs } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import { mapLimit } from '../core/map-limit.js'
import { OncePerCause, causeKey } from '../core/once-per-cause.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { Manifest } from '../state/schema.js'
import { toManifestEntry } from '../transfer/manifest.js'
import type { ScanResult, ScannedFile } from '../transfer/scanner.js'
import type { PullOptions, PullResult, WantedFile } from '../transfer/client.js'
import { connectedFirst, planSync, syncRetryDelayMs, type FileEntry, type HolderFiles, type SyncParams, type SyncPlan, type Wants } from './sync-plan.js'
import {
  DEFAULT_MANIFEST_CACHE_AGE_MS, DEFAULT_MANIFEST_MAX_ENTRIES, DEFAULT_MAX_FILES_PER_SYNC_JOB, DEFAULT_MAX_SYNC_JOBS_PER_NODE, DEFAULT_MTIME_TOLERANCE_MS,
  DEFAULT_SYNC_MAX_DISK_PERCENT, DEFAULT_SYNC_RETRY_BACKOFF_MAX_MS, DEFAULT_SYNC_RETRY_BACKOFF_MIN_MS
} from '../config/defaults.js'

export const SYNC_STATES = ['IDLE', 'COLLECTING', 'SYNCING', 'SYNCED', 'RETRY'] as const
export type SyncState = typeof SYNC_STATES[number]

/** The scanner as the planner uses it. */
export interface DataScanner {
  scan: () => Promise<ScanResult>
}

/** The transfer client as the planner uses it. */
export interface DataPuller {
  pullFromAny: (holders: readonly string[], file: WantedFile, options?: PullOptions) => Promise<PullResult>
  list: (peer: string, options?: { signal?: AbortSignal }) => Promise<ScannedFile[]>
}

/** A holder as the failure detector and the heartbeats see it. */
export interface HolderStatus {
  alive: boolean
  /** Load score; lower serves first. */
  load: number
  /** This node has a connection to it (connected holders serve first). @default true */
  connected?: boolean
}

export interface SyncPlannerComponents {
  state: ClusterState
  scanner: DataScanner
  client: DataPuller
  /** What this node should hold now (its role and its jobs). */
  wants: () => Wants
  holder: (nodeId: string) => HolderStatus
  /** This node's disk use, percent. */
  diskPercent: () => number
  clock: Clock
  logger: Logger
}

export interface SyncPlannerInit {
  /** @default DEFAULT_MANIFEST_MAX_ENTRIES */
  manifestMaxEntries?: number
  /** A holder's full list (for a truncated manifest) is reused this long. @default DEFAULT_MANIFEST_CACHE_AGE_MS */
  manifestCacheAgeMs?: number
  /** @default DEFAULT_MAX_FILES_PER_SYNC_JOB */
  maxFilesPerSyncJob?: number
  /** Jobs of a pass running at once (sync.maxSyncJobsPerNode). @default DEFAULT_MAX_SYNC_JOBS_PER_NODE */
  maxSyncJobsPerNode?: number
  /** @default DEFAULT_MTIME_TOLERANCE_MS */
  mtimeToleranceMs?: number
  /** @default DEFAULT_SYNC_MAX_DISK_PERCENT */
  maxDiskPercent?: number
  /** @default DEFAULT_SYNC_RETRY_BACKOFF_MIN_MS */
  retryBackoffMinMs?: number
  /** @default DEFAULT_SYNC_RETRY_BACKOFF_MAX_MS */
  retryBackoffMaxMs?: number
}

export interface SyncPassReport {
  state: SyncState
  planned: number
  plannedBytes: number
  received: number
  receivedBytes: number
  failed: number
  unavailable: number
  refused: string | null
}

export interface SyncStatus {
  state: SyncState
  /** Consecutive failed passes. */
  failures: number
  /** When the next pass may run after a failure (ms timestamp), or null. */
  retryAt: number | null
  lastError: string | null
  /** The last plan: files and bytes per source, unavailable files, refusal. */
  lastPlan: { files: number, bytes: number, sources: Record<string, number>, unavailable: number, refused: string | null } | null
  lastPassAt: number | null
  /** The pass running now: files done of planned. */
  current: { done: number, planned: number, bytesDone: number } | null
  totals: { passes: number, filesReceived: number, bytesReceived: number, resumed: number, hashMismatches: number, failedPulls: number, manifestsPublished: number }
  manifest: { files: number, bytes: number, publishedAt: number | null, truncated: boolean }
}

/** The parts of a manifest entry that change only when the data does (not its timestamp). */
function manifestKey (m: Manifest): string {
  return JSON.stringify([m.totalFiles, m.totalBytes, m.truncated, m.summary, m.files])
}

export class SyncPlanner {
  private readonly log: Logger
  private readonly params: SyncParams
  private readonly maxEntries: number
  private readonly cacheAgeMs: number
  private readonly backoffMin: number
  private readonly backoffMax: number
  private readonly maxJobs: number
  private st: SyncState = 'IDLE'
  private failures = 0
  private retryAtMono: number | null = null
  private retryAt: number | null = null
  private lastError: string | null = null
  private lastPlan: SyncStatus['lastPlan'] = null
  private lastPassAt: number | null = null
  private current: SyncStatus['current'] = null
  private running: Promise<SyncPassReport> | undefined
  private publishing: Promise<boolean> | undefined
  private lastPublishedKey: string | undefined
  private readonly lists = new Map<string, { atMono: number, generatedAt: number, files: FileEntry[] }>()
  private readonly totals: SyncStatus['totals'] = { passes: 0, filesReceived: 0, bytesReceived: 0, resumed: 0, hashMismatches: 0, failedPulls: 0, manifestsPublished: 0 }
  private manifestInfo: SyncStatus['manifest'] = { files: 0, bytes: 0, publishedAt: null, truncated: false }
  private readonly abort = new AbortController()
  /** A refused or failing pass is warned once per cause, not at every pass or retry. */
  private readonly trouble: OncePerCause

  constructor (private readonly c: SyncPlannerComponents, init: SyncPlannerInit = {}) {
    this.log = c.logger.child({ component: 'sync' })
    this.trouble = new OncePerCause(this.log)
    this.params = {
      maxFilesPerSyncJob: init.maxFilesPerSyncJob ?? DEFAULT_MAX_FILES_PER_SYNC_JOB,
      mtimeToleranceMs: init.mtimeToleranceMs ?? DEFAULT_MTIME_TOLERANCE_MS,
      maxDiskPercent: init.maxDiskPercent ?? DEFAULT_SYNC_MAX_DISK_PERCENT
    }
    this.maxEntries = init.manifestMaxEntries ?? DEFAULT_MANIFEST_MAX_ENTRIES
    this.cacheAgeMs = init.manifestCacheAgeMs ?? DEFAULT_MANIFEST_CACHE_AGE_MS
    this.backoffMin = init.retryBackoffMinMs ?? DEFAULT_SYNC_RETRY_BACKOFF_MIN_MS
    this.backoffMax = init.retryBackoffMaxMs ?? DEFAULT_SYNC_RETRY_BACKOFF_MAX_MS
    this.maxJobs = init.maxSyncJobsPerNode ?? DEFAULT_MAX_SYNC_JOBS_PER_NODE
    if (!Number.isInteger(this.maxJobs) || this.maxJobs < 1) throw new RangeError(`sync.maxSyncJobsPerNode: a whole number ≥ 1, got ${this.maxJobs}`)
  }

  get state (): SyncState {
    return this.st
  }

  status (): SyncStatus {
    return {
      state: this.st,
      failures: this.failures,
      retryAt: this.retryAt,
      lastError: this.lastError,
      lastPlan: this.lastPlan,
      lastPassAt: this.lastPassAt,
      current: this.current === null ? null : { ...this.current },
      totals: { ...this.totals },
      manifest: { ...this.manifestInfo }
    }
  }

  /** Stop: abort the pulls of a running pass and wait for it to end. */
  async stop (): Promise<void> {
    this.abort.abort()
    await this.running?.catch(() => undefined)
    await this.publishing?.catch(() => undefined)
  }

  /**
   * Scan the data dir and publish this node's manifest entry if its content changed.
   * Returns true when it wrote a new entry. Concurrent calls share one scan.
   */
  async publishManifest (): Promise<boolean> {
    if (this.publishing !== undefined) return await this.publishing
    this.publishing = this.doPublish().finally(() => { this.publishing = undefined })
    return await this.publishing
  }

  private async doPublish (): Promise<boolean> {
    const scan = await this.c.scanner.scan()
    const entry = toManifestEntry(scan, { nodeId: this.c.state.selfId, generatedAt: timestampMs(this.c.clock), maxEntries: this.maxEntries })
    const key = manifestKey(entry)
    const stored = this.c.state.manifest(this.c.state.selfId)
    if (key === this.lastPublishedKey || (stored !== undefined && manifestKey(stored) === key)) {
      this.lastPublishedKey = key
      return false
    }
    this.c.state.setManifest(entry)
    this.lastPublishedKey = key
    this.totals.manifestsPublished++
    this.manifestInfo = { files: entry.totalFiles, bytes: entry.totalBytes, publishedAt: entry.generatedAt, truncated: entry.truncated }
    this.log.debug({ files: entry.totalFiles, bytes: entry.totalBytes, truncated: entry.truncated }, 'manifest published')
    return true
  }

  /**
   * One sync pass, unless one is running (then its report) or a retry back-off is pending
   * (then null). Never throws: errors move the planner to RETRY.
   */
  async tick (): Promise<SyncPassReport | null> {
    if (this.running !== undefined) return await this.running
    if (this.abort.signal.aborted) return null
    if (this.retryAtMono !== null && this.c.clock.monoMs() < this.retryAtMono) return null
    this.running = this.pass().finally(() => { this.running = undefined })
    return await this.running
  }

  private async pass (): Promise<SyncPassReport> {
    const report: SyncPassReport = { state: 'IDLE', planned: 0, plannedBytes: 0, received: 0, receivedBytes: 0, failed: 0, unavailable: 0, refused: null }
    this.totals.passes++
    this.lastPassAt = timestampMs(this.c.clock)
    try {
      this.st = 'COLLECTING'
      const wants = this.c.wants()
      const scan = await this.c.scanner.scan()
      const holders = await this.collect(wants)
      const plan = planSync(scan.files, holders, wants, this.c.diskPercent(), this.params)
      this.recordPlan(plan)
      report.unavailable = plan.unavailable
      report.refused = plan.refused
      if (plan.refused !== null) {
        this.st = 'IDLE'
        this.trouble.report('refused', { key: causeKey(plan.refused), msg: `sync refused: ${plan.refused}`, fields: { reason: plan.refused } })
        return { ...report, state: this.st }
      }
      this.trouble.report('refused', null)
      report.planned = plan.groups.reduce((s, g) => s + g.files.length, 0)
      report.plannedBytes = plan.groups.reduce((s, g) => s + g.bytes, 0)
      if (report.planned === 0) {
        this.succeed()
        return { ...report, state: this.st }
      }
      this.st = 'SYNCING'
      this.current = { done: 0, planned: report.planned, bytesDone: 0 }
      const errors: string[] = []
      // one job (group) after another by default — one sync at a time per node — or up to
      // sync.maxSyncJobsPerNode at once, so that the next job's transfers run while the last one's
      // files are still being written and made durable; the client bounds the pulls either way
      const outcomes = await mapLimit(plan.groups, this.maxJobs, async group =>
        this.abort.signal.aborted ? [] : await Promise.allSettled(group.files.map(async f => await this.pullOne(f, group.source, holders))))
      for (const r of outcomes.flat()) {
        if (r.status === 'fulfilled') {
          report.received += r.value.alreadyPresent ? 0 : 1
          report.receivedBytes += r.value.bytesReceived
        } else {
          report.failed++
          errors.push(errorMessage(r.reason))
        }
      }
      this.current = null
      if (report.received > 0) await this.publishManifest().catch((err: unknown) => this.log.warn({ err }, 'manifest publish after sync failed'))
      if (this.abort.signal.aborted) {
        this.st = 'IDLE'
      } else if (report.failed > 0) {
        this.fail(`${report.failed} of ${report.planned} files failed: ${errors[0] ?? 'unknown error'}`)
      } else {
        this.succeed()
      }
      this.log.info({ ...report, state: this.st }, 'sync pass')
      return { ...report, state: this.st }
    } catch (err) {
      this.current = null
      this.fail(errorMessage(err))
      this.trouble.report('pass', { key: causeKey(errorMessage(err)), msg: 'sync pass failed', fields: { err } })
      return { ...report, state: this.st }
    }
  }

  private async pullOne (f: FileEntry, source: string, holders: readonly HolderFiles[]): Promise<PullResult> {
    // the planned source first, then every other alive holder of exactly this version
    const others = holders.filter(h => h.alive && h.nodeId !== source && h.files.some(x => x.path === f.path && x.sha256 === f.sha256))
      .sort((a, b) => connectedFirst(a, b) || a.load - b.load).map(h => h.nodeId)
    let last = 0
    try {
      const r = await this.c.client.pullFromAny([source, ...others], { path: f.path, sha256: f.sha256, size: f.size }, {
        signal: this.abort.signal,
        onProgress: p => {
          if (this.current !== null) this.current.bytesDone += p.bytesDone - last
          last = p.bytesDone
        }
      })
      if (this.current !== null) this.current.done++
      if (!r.alreadyPresent) {
        this.totals.filesReceived++
        this.totals.bytesReceived += r.bytesReceived
      }
      if (r.resumedFrom > 0) this.totals.resumed++
      this.totals.hashMismatches += r.failedHolders.filter(h => h.error.name === 'HashMismatchError').length
      return r
    } catch (err) {
      this.totals.failedPulls++
      throw err
    }
  }

  /** Holders: every other node's manifest files, or its full list when the manifest is truncated. */
  private async collect (wants: Wants): Promise<HolderFiles[]> {
    const out: HolderFiles[] = []
    const now = this.c.clock.monoMs()
    for (const m of this.c.state.manifests()) {
      if (m.nodeId === this.c.state.selfId) continue
      const h = this.c.holder(m.nodeId)
      let files: FileEntry[] = Object.entries(m.files).map(([path, f]) => ({ ...f, path }))
      if (m.truncated && h.alive && this.mayHoldWanted(m, wants)) {
        const cached = this.lists.get(m.nodeId)
        if (cached !== undefined && cached.generatedAt === m.generatedAt && now - cached.atMono < this.cacheAgeMs) {
          files = cached.files
        } else {
          try {
            files = (await this.c.client.list(m.nodeId, { signal: this.abort.signal })).map(f => ({
              path: f.path, size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256, kind: f.kind, config: f.config, gameCount: f.gameCount
            }))
            this.lists.set(m.nodeId, { atMono: now, generatedAt: m.generatedAt, files })
          } catch (err) {
            this.log.warn({ err, peer: m.nodeId }, 'full file list not available; using the published entries')
          }
        }
      }
      out.push({ nodeId: m.nodeId, files, alive: h.alive, load: h.load, ...(h.connected !== undefined ? { connected: h.connected } : {}) })
    }
    for (const id of this.lists.keys()) if (this.c.state.manifest(id) === undefined) this.lists.delete(id)
    return out
  }

  private mayHoldWanted (m: Manifest, wants: Wants): boolean {
    if (wants.modelPaths.size > 0) return true
    for (const c of wants.dataConfigs) if (m.summary[c] !== undefined) return true
    return false
  }

  private recordPlan (plan: SyncPlan): void {
    const sources: Record<string, number> = {}
    let files = 0
    let bytes = 0
    for (const g of plan.groups) {
      sources[g.source] = (sources[g.source] ?? 0) + g.files.length
      files += g.files.length
      bytes += g.bytes
    }
    this.lastPlan = { files, bytes, sources, unavailable: plan.unavailable, refused: plan.refused }
  }

  private succeed (): void {
    this.trouble.report('pass', null)
    this.st = 'SYNCED'
    this.failures = 0
    this.retryAt = null
    this.retryAtMono = null
    this.lastError = null
  }

  private fail (message: string): void {
    this.failures++
    const delay = syncRetryDelayMs(this.failures, this.backoffMin, this.backoffMax)
    this.st = 'RETRY'
    this.lastError = message
    this.retryAtMono = this.c.clock.monoMs() + delay
    this.retryAt = timestampMs(this.c.clock) + delay
  }
}

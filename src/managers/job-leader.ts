/**
 * The leader half of the JobManager: dispatches selfplay to fill every healthy node's target,
 * cleans up stale jobs (EXPIRED, LOST, re-dispatch with back-off, FAILED after the last
 * reassignment), and — on every node — retires finished job buckets into the local job history.
 * Without a leader for a while a node keeps itself busy with leaderless selfplay of its own.
 * Both honour self-play backpressure (operator pause, untrained backlog, training nodes' disk).
 */
import type { Clock } from '../core/clock.js'
import { DEFAULT_LEADERLESS_SELFPLAY_AFTER_MS, DEFAULT_SELFPLAY_GAMES_PER_JOB } from '../config/defaults.js'
import type { Logger } from '../core/logger.js'
import type { Health } from '../mesh/health.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { JobView } from '../state/jobs.js'
import {
  DEFAULT_CLEANUP_PARAMS, activeSelfplayByNode, planCleanup, planSelfplay, type CleanupAction, type CleanupParams, type ObservedJob
} from '../jobs/lifecycle.js'
import { selfplayModel } from '../jobs/engine-modes.js'
import type { ConfigKey } from '../state/schema.js'
import { admittedTarget, type AdmissionLedger, type NodeBudget } from './admission.js'
import type { NodeSelector } from './node-selector.js'
import type { SelfplayBackpressure } from './selfplay-backpressure.js'
import type { SelfplayScheduler } from './selfplay-scheduler.js'
import type { Leadership } from './training-coordinator.js'

/** Most selfplay jobs dispatched to one node per pass. @default 2 */
export const DEFAULT_MAX_SELFPLAY_PER_NODE_PER_PASS = 2
/** Most selfplay jobs dispatched per pass in all. @default 2_000 */
export const DEFAULT_MAX_SELFPLAY_PER_PASS = 2_000
/** Most jobs whose change times are tracked (the oldest forgotten first). */
export const MAX_OBSERVED_JOBS = 100_000

export interface JobLeaderComponents {
  state: ClusterState
  selector: NodeSelector
  scheduler: SelfplayScheduler
  leadership: Leadership
  health: (nodeId: string) => Health | undefined
  /** Retire one bucket durably into the job history. */
  retireBucket: (bucketId: string) => Promise<JobView[]>
  /**
   * What each node admits now: nothing is dispatched beyond it. Without one every node admits
   * what its target asks (the simulator's runner has no spawn rate).
   */
  admission?: AdmissionLedger
  clock: Clock
  logger: Logger
}

export interface JobLeaderInit {
  cleanup?: Partial<CleanupParams>
  selfplayGamesPerJob?: number
  maxSelfplayPerNodePerPass?: number
  maxSelfplayPerPass?: number
  leaderlessSelfplayAfterMs?: number
}

export interface LeaderPassReport {
  /** Later attempts cancelled because an earlier one completed after all. */
  superseded: number
  dispatched: number
  expired: number
  lost: number
  redispatched: number
  failed: number
  /** Selfplay jobs a node's target wanted that its admission budget held back (dispatched later instead of refused). */
  heldByAdmission: number
}

/**
 * Jobs pending or running on a revoked node are LOST now, not after the job heartbeat timeout:
 * its status entries no longer count, and it must not keep work of the cluster. Added to the
 * cleanup plan (replacing what the plan said of those jobs); their re-dispatch elsewhere follows
 * as for any lost job.
 */
export function withRevokedLosses (plan: readonly CleanupAction[], jobs: readonly JobView[], isRevoked: (nodeId: string) => boolean): CleanupAction[] {
  const lost: Array<CleanupAction & { kind: 'lost' }> = []
  for (const j of jobs) {
    if ((j.state === 'PENDING' || j.state === 'RUNNING') && isRevoked(j.dispatch.assignedNode)) {
      lost.push({ kind: 'lost', jobId: j.jobId, reason: `node ${j.dispatch.assignedNode} is revoked` })
    }
  }
  if (lost.length === 0) return [...plan]
  const ids = new Set(lost.map(a => a.jobId))
  return [...plan.filter(a => !ids.has(a.kind === 'redispatch' ? a.job.jobId : (a as { jobId: string }).jobId)), ...lost]
}

export class JobLeader {
  private readonly log: Logger
  private readonly p: CleanupParams
  private readonly gamesPerJob: number
  private readonly perNode: number
  private readonly perPass: number
  private readonly leaderlessAfterMs: number
  /** jobId → [change key, local mono ms it was first seen with that key] */
  private readonly observed = new Map<string, [string, number]>()
  private leaderSeenAtMs: number
  /** (config, mode) pairs whose no-model fallback was logged (once each). */
  private readonly fallbacksSaid = new Set<string>()
  /** The backpressure signals the last dispatch pass acted on (a change is logged once). */
  private backpressureSaid = ''
  totals: LeaderPassReport = { superseded: 0, dispatched: 0, expired: 0, lost: 0, redispatched: 0, failed: 0, heldByAdmission: 0 }

  constructor (private readonly c: JobLeaderComponents, init: JobLeaderInit = {}) {
    this.log = c.logger.child({ component: 'job-leader' })
    this.p = { ...DEFAULT_CLEANUP_PARAMS, ...init.cleanup }
    this.gamesPerJob = init.selfplayGamesPerJob ?? DEFAULT_SELFPLAY_GAMES_PER_JOB
    this.perNode = init.maxSelfplayPerNodePerPass ?? DEFAULT_MAX_SELFPLAY_PER_NODE_PER_PASS
    this.perPass = init.maxSelfplayPerPass ?? DEFAULT_MAX_SELFPLAY_PER_PASS
    this.leaderlessAfterMs = init.leaderlessSelfplayAfterMs ?? DEFAULT_LEADERLESS_SELFPLAY_AFTER_MS
    this.leaderSeenAtMs = c.clock.monoMs()
  }

  /** How long ago (local monotonic ms) each job last changed, as this node saw it. */
  observe (jobs: readonly JobView[]): ObservedJob[] {
    const now = this.c.clock.monoMs()
    const out: ObservedJob[] = []
    const live = new Set<string>()
    for (const job of jobs) {
      live.add(job.jobId)
      const key = `${job.state}|${job.status?.heartbeatAt ?? ''}|${job.verdicts.length}`
      const seen = this.observed.get(job.jobId)
      if (seen === undefined || seen[0] !== key) this.observed.set(job.jobId, [key, now])
      out.push({ job, quietMs: now - (this.observed.get(job.jobId) as [string, number])[1] })
    }
    for (const id of this.observed.keys()) if (!live.has(id)) this.observed.delete(id)
    while (this.observed.size > MAX_OBSERVED_JOBS) this.observed.delete(this.observed.keys().next().value as string)
    return out
  }

  /** The leader's cleanup pass (also observes jobs on followers, so a new leader knows how long they were quiet). */
  cleanup (): CleanupAction[] {
    const jobs = this.c.state.jobs()
    const observed = this.observe(jobs)
    const epoch = this.c.leadership.leaderEpoch()
    if (epoch === undefined) return []
    const successors = new Set<string>()
    for (const j of jobs) if (j.dispatch.previousJobId !== null) successors.add(j.dispatch.previousJobId)
    const isRevoked = (id: string): boolean => this.c.state.isRevoked(id)
    const actions = withRevokedLosses(planCleanup(observed, id => isRevoked(id) || this.c.health(id) === 'DEAD', successors, this.p), jobs, isRevoked)
    let paused: boolean | undefined // asked once a pass, only when a selfplay job would be re-run
    const holdSelfplay = (): boolean => (paused ??= this.selfplayBackpressure().active)
    for (const a of actions) this.apply(a, epoch, holdSelfplay)
    // observe our own verdicts now: a job's back-off runs from its LOST / EXPIRED verdict, not from the next pass
    if (actions.length > 0) this.observe(this.c.state.jobs())
    return actions
  }

  /** `holdSelfplay`: whether backpressure holds back re-running a selfplay job (planned again next pass). */
  private apply (a: CleanupAction, epoch: number, holdSelfplay: () => boolean): void {
    switch (a.kind) {
      case 'supersede':
        this.c.state.addVerdict({ jobId: a.jobId, verdict: 'CANCELLED', epoch, reason: a.reason })
        this.totals.superseded++
        break
      case 'expire':
        this.c.state.addVerdict({ jobId: a.jobId, verdict: 'EXPIRED', epoch, reason: a.reason })
        this.totals.expired++
        break
      case 'lost':
        this.c.state.addVerdict({ jobId: a.jobId, verdict: 'LOST', epoch, reason: a.reason })
        this.totals.lost++
        break
      case 'give-up':
        this.c.state.addVerdict({ jobId: a.jobId, verdict: 'FAILED', epoch, reason: a.reason })
        this.totals.failed++
        break
      case 'redispatch': {
        const d = a.job.dispatch
        if (d.type === 'selfplay' && holdSelfplay()) return
        const to = this.placeAgain(a.job)
        if (to === null) return
        const next = this.c.state.dispatchJob({
          type: d.type, config: d.config, engineMode: d.engineMode, spec: d.spec, assignedNode: to, dispatchEpoch: epoch, attempt: a.attempt, previousJobId: d.jobId
        })
        this.totals.redispatched++
        this.log.warn({ jobId: next.jobId, previous: d.jobId, node: to, attempt: a.attempt }, 're-dispatched a stale job')
        return
      }
    }
    this.log.info({ action: a.kind, jobId: a.jobId, reason: a.reason }, 'job cleanup')
  }

  /**
   * Another healthy node for a stale job: least loaded among those that can run its mode, not its
   * last node, and admitting a job now (none: the next pass tries again).
   */
  private placeAgain (j: JobView): string | null {
    const d = j.dispatch
    const nodes = d.type === 'selfplay'
      ? this.c.selector.nodesForEngineMode(d.engineMode ?? 'heuristic')
      : this.c.selector.cpuPrimaryNodes(1_000)
    const others = nodes.filter(n => n.info.nodeId !== d.assignedNode).map(n => n.info.nodeId)
    const budgets = this.c.admission?.budgets(others)
    return others.find(id => budgets === undefined || (budgets.get(id)?.admits ?? 0) > 0) ?? null
  }

  /** Self-play backpressure now, from this node's merged view (what a dispatch pass here would act on). */
  selfplayBackpressure (): SelfplayBackpressure {
    return this.c.scheduler.backpressure(this.c.selector.trainingNodes())
  }

  /** Log a change of backpressure once: when it starts, when its signals change, when it lifts. */
  private noteBackpressure (bp: SelfplayBackpressure): void {
    const key = bp.signals.join(',')
    if (key === this.backpressureSaid) return
    this.backpressureSaid = key
    if (bp.active) this.log.warn({ signals: bp.signals, cause: bp.cause }, `selfplay paused — ${bp.cause ?? ''}`)
    else this.log.info({ untrainedGames: bp.untrainedGames }, 'selfplay resumed: no backpressure')
  }

  /** Fill selfplay targets: the leader for every healthy node; a leaderless node for itself. Nothing new while backpressure holds. */
  dispatchSelfplay (): number {
    const epoch = this.c.leadership.leaderEpoch()
    if (this.c.leadership.currentLeader() !== undefined) this.leaderSeenAtMs = this.c.clock.monoMs()
    const leaderless = epoch === undefined && this.c.leadership.currentLeader() === undefined &&
      this.c.clock.monoMs() - this.leaderSeenAtMs >= this.leaderlessAfterMs
    if (epoch === undefined && !leaderless) {
      this.c.admission?.observe() // a node that leads later knows the recent starts
      return 0
    }
    const jobs = this.c.state.jobs()
    const active = activeSelfplayByNode(jobs)
    const selfId = this.c.state.selfId
    const views = this.c.selector.nodesForEngineMode('heuristic').filter(v => !leaderless || v.info.nodeId === selfId)
    const byId = new Map(views.map(v => [v.info.nodeId, v]))
    const backpressure = this.selfplayBackpressure()
    this.noteBackpressure(backpressure)
    const budgets = this.c.admission?.budgets(byId.keys(), jobs)
    const nodes = views.map(v => {
      const id = v.info.nodeId
      const n = active.get(id) ?? 0
      const target = this.c.scheduler.targetJobsForNode(v, n, backpressure)
      return { nodeId: id, active: n, target: budgets === undefined ? target : this.admitted(id, target, n, budgets.get(id)) }
    })
    const plan = planSelfplay(nodes, id => {
      const v = byId.get(id)
      return v === undefined ? null : this.c.scheduler.pickWeightedConfig(v.info)
    }, this.perNode, this.perPass)
    const dispatchEpoch = epoch ?? this.c.state.maxKnownEpoch()
    for (const p of plan) {
      const m = selfplayModel(p.engineMode, p.config, this.c.state.model(p.config as ConfigKey)?.path)
      if (m.fallback !== undefined && !this.fallbacksSaid.has(`${p.config}/${p.engineMode}`)) {
        if (this.fallbacksSaid.size >= MAX_OBSERVED_JOBS) this.fallbacksSaid.clear()
        this.fallbacksSaid.add(`${p.config}/${p.engineMode}`)
        this.log.info({ config: p.config, engineMode: p.engineMode }, m.fallback)
      }
      this.c.state.dispatchJob({
        type: 'selfplay', config: p.config as never, engineMode: m.engineMode, assignedNode: p.nodeId, dispatchEpoch, attempt: 1, previousJobId: null,
        spec: {
          games: this.gamesPerJob,
          modelPath: m.modelPath,
          ...(m.fallback !== undefined ? { requestedEngineMode: p.engineMode, engineFallback: m.fallback } : {}),
          ...(leaderless ? { leaderless: true } : {})
        }
      })
    }
    if (plan.length > 0) this.c.selector.invalidate()
    this.totals.dispatched += plan.length
    return plan.length
  }

  /** A node's target held to what it admits now; a hold is counted and logged at debug level. */
  private admitted (nodeId: string, target: number, active: number, budget: NodeBudget | undefined): number {
    const admits = budget?.admits ?? 0
    const capped = admittedTarget(target, active, admits)
    if (capped < target && active < target) {
      this.totals.heldByAdmission += target - Math.max(active, capped)
      this.log.debug({ node: nodeId, target, active, slots: budget?.slots, starts: budget?.starts, nextStartInMs: budget?.nextStartInMs }, 'selfplay held to what the node admits now')
    }
    return capped
  }

  /** Retire every bucket that may leave the document (sealed, all ended, quiet for the retention). */
  async retire (): Promise<number> {
    let n = 0
    for (const bucketId of this.c.state.retirableBuckets()) {
      await this.c.retireBucket(bucketId)
      n++
    }
    if (n > 0) this.log.info({ buckets: n }, 'retired finished job buckets into the job history')
    return n
  }

  /** Seal this node's own open buckets once they are old (so they can retire). */
  sealOld (): void {
    const self = this.c.state.selfId
    const now = this.c.clock.nowMs()
    for (const b of this.c.state.bucketViews()) {
      const m = b.meta
      if (m === undefined || m.sealed || m.dispatcher !== self) continue
      const oldest = Math.min(...b.jobs.map(j => j.dispatch.createdAt))
      if (b.jobs.length > 0 && now - oldest >= this.c.state.bucketMaxAgeMs && b.jobs.every(j => j.state !== 'PENDING' && j.state !== 'RUNNING')) this.c.state.sealBucket(b.bucketId)
    }
  }
}

/**
 * Job lifecycle decisions as pure functions: whether a worker admits a dispatch, what the
 * leader's cleanup does with stale jobs (EXPIRED, LOST, re-dispatch with back-off, give up), and
 * which selfplay jobs the leader dispatches to fill each node's target.
 *
 * Staleness is measured on the deciding node's own monotonic clock, from when it last saw the
 * job change (its state or its job heartbeat), never by comparing another node's wall clock.
 */
import {
  DEFAULT_DISPATCH_TIMEOUT_MS, DEFAULT_JOB_HEARTBEAT_TIMEOUT_MS, DEFAULT_MAX_REASSIGNMENTS, DEFAULT_REASSIGN_BACKOFF_FACTOR,
  DEFAULT_REASSIGN_BACKOFF_MAX_MS, DEFAULT_REASSIGN_BACKOFF_MS
} from '../config/defaults.js'
import type { JobView } from '../state/jobs.js'
import type { Capability, JobDispatch, JobType } from '../state/schema.js'

// ---- admission at the worker -------------------------------------------------------------------

/** The capability a node needs for each job type. */
export const CAPABILITY_FOR_TYPE: Readonly<Record<JobType, Capability | null>> = {
  selfplay: 'selfplay', training: 'training', gauntlet: 'gauntlet', tournament: 'tournament', export: 'export', sync: null
}

export interface AdmissionContext {
  selfId: string
  /** Highest dispatch epoch this node accepted (its fence). */
  fenceEpoch: number
  /** The dispatcher holds a majority for the dispatch's epoch (or it is our own leaderless job). */
  dispatcherHoldsEpoch: boolean
  capabilities: readonly Capability[]
  runningJobs: number
  maxProcesses: number
}

export type Admission = { ok: true } | { ok: false, reason: string }

/** Whether to run a dispatch assigned to this node (the fence itself is persisted by the caller). */
export function decideAdmission (d: JobDispatch, ctx: AdmissionContext): Admission {
  if (d.assignedNode !== ctx.selfId) return { ok: false, reason: 'assigned to another node' }
  if (d.dispatchEpoch < ctx.fenceEpoch) return { ok: false, reason: `dispatch epoch ${d.dispatchEpoch} is below epoch ${ctx.fenceEpoch} already accepted` }
  if (!ctx.dispatcherHoldsEpoch) return { ok: false, reason: `${d.dispatchedBy} does not hold epoch ${d.dispatchEpoch}` }
  const need = CAPABILITY_FOR_TYPE[d.type]
  if (need !== null && !ctx.capabilities.includes(need)) return { ok: false, reason: `this node has no ${need} capability` }
  if (ctx.runningJobs >= ctx.maxProcesses) return { ok: false, reason: `no capacity: ${ctx.runningJobs} of ${ctx.maxProcesses} job processes running` }
  return { ok: true }
}

/** A job this node started on its own without a leader (its fence still applies, no majority needed). */
export function isLeaderlessOwnJob (d: JobDispatch, selfId: string): boolean {
  return d.spec.leaderless === true && d.dispatchedBy === selfId && d.assignedNode === selfId
}

// ---- the leader's cleanup ----------------------------------------------------------------------

export interface CleanupParams {
  dispatchTimeoutMs: number
  jobHeartbeatTimeoutMs: number
  reassignBackoffMs: number
  reassignBackoffFactor: number
  reassignBackoffMaxMs: number
  maxReassignments: number
}

export const DEFAULT_CLEANUP_PARAMS: CleanupParams = {
  dispatchTimeoutMs: DEFAULT_DISPATCH_TIMEOUT_MS,
  jobHeartbeatTimeoutMs: DEFAULT_JOB_HEARTBEAT_TIMEOUT_MS,
  reassignBackoffMs: DEFAULT_REASSIGN_BACKOFF_MS,
  reassignBackoffFactor: DEFAULT_REASSIGN_BACKOFF_FACTOR,
  reassignBackoffMaxMs: DEFAULT_REASSIGN_BACKOFF_MAX_MS,
  maxReassignments: DEFAULT_MAX_REASSIGNMENTS
}

/** A job with how long ago (local monotonic ms) this node last saw it change. */
export interface ObservedJob {
  job: JobView
  quietMs: number
}

export type CleanupAction =
  | { kind: 'supersede', jobId: string, reason: string }
  | { kind: 'expire', jobId: string, reason: string }
  | { kind: 'lost', jobId: string, reason: string }
  | { kind: 'redispatch', job: JobView, attempt: number }
  | { kind: 'give-up', jobId: string, reason: string }

/** Reassignments a job's chain has had: a first dispatch is attempt 1 (attempt 0 counts as 1). */
export function reassignmentsOf (d: JobDispatch): number {
  return Math.max(0, d.attempt - 1)
}

/** 30 s, 60 s, 120 s, … capped at 300 s: the wait before reassignment number `n + 1`. */
export function reassignBackoffMs (n: number, p: CleanupParams = DEFAULT_CLEANUP_PARAMS): number {
  return Math.min(p.reassignBackoffMaxMs, p.reassignBackoffMs * p.reassignBackoffFactor ** Math.max(0, n))
}

/** Types whose lost jobs the JobManager re-dispatches (training and gauntlet: the TrainingCoordinator). */
export const REASSIGNABLE_TYPES: ReadonlySet<JobType> = new Set<JobType>(['selfplay', 'export', 'tournament', 'sync'])

/**
 * What the leader's cleanup does now: a PENDING job not started within the dispatch timeout
 * expires; a RUNNING job without a job heartbeat for the timeout (its node dead or hung) is
 * LOST; a LOST or EXPIRED job of a reassignable type is re-dispatched after the back-off, and
 * after `maxReassignments` it is given up (FAILED). `successors`: jobs already re-dispatched.
 */
export function planCleanup (
  jobs: readonly ObservedJob[], isDead: (nodeId: string) => boolean, successors: ReadonlySet<string>, p: CleanupParams = DEFAULT_CLEANUP_PARAMS
): CleanupAction[] {
  const cancels = supersededJobs(jobs.map(o => o.job))
  const out: CleanupAction[] = cancels.map(s => ({
    kind: 'supersede' as const, jobId: s.jobId, reason: `superseded: an earlier attempt, ${s.by}, completed (it reported after being cut off)`
  }))
  const superseded = new Set(cancels.map(a => a.jobId))
  for (const { job, quietMs } of jobs) {
    const d = job.dispatch
    if (superseded.has(job.jobId)) continue
    if (job.state === 'PENDING' && quietMs >= p.dispatchTimeoutMs) {
      out.push({ kind: 'expire', jobId: job.jobId, reason: `not started within ${Math.round(p.dispatchTimeoutMs / 1000)} s` })
    } else if (job.state === 'RUNNING' && quietMs >= p.jobHeartbeatTimeoutMs) {
      const why = isDead(d.assignedNode) ? `node ${d.assignedNode} is dead` : `no job heartbeat from ${d.assignedNode}`
      out.push({ kind: 'lost', jobId: job.jobId, reason: `${why} for ${Math.round(quietMs / 1000)} s` })
    } else if ((job.state === 'LOST' || job.state === 'EXPIRED') && REASSIGNABLE_TYPES.has(d.type) && !successors.has(job.jobId)) {
      const n = reassignmentsOf(d)
      if (n >= p.maxReassignments) {
        if (!job.verdicts.some(v => v.verdict === 'FAILED')) out.push({ kind: 'give-up', jobId: job.jobId, reason: `${job.state} after ${n} reassignments` })
      } else if (quietMs >= reassignBackoffMs(n, p)) {
        out.push({ kind: 'redispatch', job, attempt: Math.max(1, d.attempt) + 1 })
      }
    }
  }
  return out
}

/** Most links followed back through a job's re-dispatch chain. */
export const MAX_CHAIN_HOPS = 32
const COMPLETED: ReadonlySet<string> = new Set(['COMPLETE', 'PROMOTED', 'ARCHIVED'])

/**
 * Re-dispatched jobs still pending or running although an earlier attempt of their chain has
 * completed: that attempt was cut off (marked LOST, its job re-run elsewhere), finished anyway
 * and reported once the partition healed. At-least-once is the price while the two are apart;
 * once the leader knows, the later attempt is cancelled rather than done twice.
 */
export function supersededJobs (jobs: readonly JobView[]): Array<{ jobId: string, by: string }> {
  const byId = new Map(jobs.map(j => [j.jobId, j]))
  const out: Array<{ jobId: string, by: string }> = []
  for (const j of jobs) {
    if (j.state !== 'PENDING' && j.state !== 'RUNNING') continue
    for (let p = j.dispatch.previousJobId, hops = 0; p !== null && hops < MAX_CHAIN_HOPS; hops++) {
      const prev = byId.get(p)
      if (prev === undefined) break
      if (COMPLETED.has(prev.state)) {
        out.push({ jobId: j.jobId, by: prev.jobId })
        break
      }
      p = prev.dispatch.previousJobId
    }
  }
  return out
}

// ---- selfplay dispatch -------------------------------------------------------------------------

export interface SelfplayNode {
  nodeId: string
  /** The node's target number of selfplay jobs now. */
  target: number
  /** Its selfplay jobs pending or running. */
  active: number
}

export interface SelfplayDispatch { nodeId: string, config: string, engineMode: string }

/**
 * Fill each node's selfplay deficit (target − active), at most `maxPerNode` per pass and
 * `budget` in all, choosing each job's config with `pick` (weighted by priority).
 */
export function planSelfplay (
  nodes: readonly SelfplayNode[], pick: (nodeId: string) => { config: string, engineMode: string } | null, maxPerNode: number, budget: number
): SelfplayDispatch[] {
  const out: SelfplayDispatch[] = []
  for (const n of nodes) {
    const want = Math.min(maxPerNode, n.target - n.active)
    for (let i = 0; i < want && out.length < budget; i++) {
      const c = pick(n.nodeId)
      if (c === null) break
      out.push({ nodeId: n.nodeId, config: c.config, engineMode: c.engineMode })
    }
    if (out.length >= budget) break
  }
  return out
}

/** Selfplay jobs pending or running per assigned node. */
export function activeSelfplayByNode (jobs: readonly JobView[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const j of jobs) {
    if (j.dispatch.type !== 'selfplay' || (j.state !== 'PENDING' && j.state !== 'RUNNING')) continue
    out.set(j.dispatch.assignedNode, (out.get(j.dispatch.assignedNode) ?? 0) + 1)
  }
  return out
}

/**
 * Admission budgets: how many more jobs each node will start now, as a dispatcher sees it, so
 * that the leader never dispatches beyond what a node admits (a job the node would refuse for
 * its spawn rate or process cap is not dispatched; REFUSED stays for real refusals).
 *
 * Each node advertises its limits in its NodeInfo (`admission`: its `jobs.maxProcessesPerNode`
 * and `jobs.spawnRatePerMinute`; absent means the defaults). What it uses of them the document
 * says: its pending and running jobs hold process slots; every job it started counts in its spawn
 * window. The dispatcher times the window on its own monotonic clock, from when it first saw each
 * job started — never earlier than the node started it — so it frees a start no sooner than the
 * node does. A dispatched job not yet seen started (in flight) holds a slot and a start.
 */
import type { Clock } from '../core/clock.js'
import { DEFAULT_MAX_PROCESSES_PER_NODE, DEFAULT_SPAWN_RATE_PER_MINUTE } from '../config/defaults.js'
import { SPAWN_RATE_WINDOW_MS } from '../jobs/runner.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { JobView } from '../state/jobs.js'

/** Most jobs whose first-seen-started time is kept (the oldest forgotten first). */
export const MAX_TRACKED_STARTS = 100_000

/** A node's job-start limits (what it advertises; the defaults for a node older than that). */
export interface StartLimits {
  maxProcesses: number
  spawnRatePerMinute: number
}

export const DEFAULT_START_LIMITS: StartLimits = { maxProcesses: DEFAULT_MAX_PROCESSES_PER_NODE, spawnRatePerMinute: DEFAULT_SPAWN_RATE_PER_MINUTE }

/** What one job costs its node now, from the dispatcher's view. */
export interface JobCharge {
  /** Holds a process slot: pending (in flight) or running. */
  slot: boolean
  /** Its start in the node's spawn window: 'in-flight' (not seen started yet), the local ms it was first seen started, or null (never started). */
  start: 'in-flight' | number | null
}

/** The charge of a job: `seenStartedAtMs` is when this node first saw it started (undefined: not yet, so it counts as in flight). */
export function jobCharge (job: JobView, seenStartedAtMs: number | undefined): JobCharge {
  if (job.state === 'PENDING') return { slot: true, start: 'in-flight' }
  // a status other than REFUSED means the node tried a start (a failed spawn counts in its window too)
  const started = job.status !== undefined && job.status.state !== 'REFUSED'
  return { slot: job.state === 'RUNNING', start: started ? (seenStartedAtMs ?? 'in-flight') : null }
}

export interface NodeBudget {
  /** Process slots free. */
  slots: number
  /** Starts left in the spawn window now. */
  starts: number
  /** Jobs the node admits now: the smaller of the two, never below 0. */
  admits: number
  /** When it admits none: local ms until a start frees up by the window (null: only a job ending frees a slot, or it admits now). */
  nextStartInMs: number | null
}

/**
 * The budget of one node now (pure): its limits minus the slots and window starts its jobs hold.
 * A start seen at `t` leaves the window at `t + windowMs`.
 */
export function nodeBudget (limits: StartLimits, charges: readonly JobCharge[], nowMs: number, windowMs = SPAWN_RATE_WINDOW_MS): NodeBudget {
  let slotsUsed = 0
  let startsUsed = 0
  let oldestStart = Number.POSITIVE_INFINITY
  for (const c of charges) {
    if (c.slot) slotsUsed++
    if (c.start === 'in-flight') startsUsed++
    else if (c.start !== null && nowMs - c.start < windowMs) {
      startsUsed++
      oldestStart = Math.min(oldestStart, c.start)
    }
  }
  const slots = Math.max(0, limits.maxProcesses - slotsUsed)
  const starts = Math.max(0, limits.spawnRatePerMinute - startsUsed)
  const admits = Math.min(slots, starts)
  const nextStartInMs = admits > 0 || starts > 0 || !Number.isFinite(oldestStart) ? null : oldestStart + windowMs - nowMs
  return { slots, starts, admits, nextStartInMs }
}

/** A selfplay target held to what the node admits: no more new jobs than `admits` above `active`. */
export function admittedTarget (target: number, active: number, admits: number): number {
  return Math.min(target, active + Math.max(0, admits))
}

/** The budgets of every node named in `jobs` or `nodeIds` (pure). */
export function nodeBudgets (
  jobs: readonly JobView[], seenStartedAt: (jobId: string) => number | undefined, limitsOf: (nodeId: string) => StartLimits,
  nodeIds: Iterable<string>, nowMs: number, windowMs = SPAWN_RATE_WINDOW_MS
): Map<string, NodeBudget> {
  const charges = new Map<string, JobCharge[]>()
  for (const id of nodeIds) charges.set(id, [])
  for (const j of jobs) {
    const list = charges.get(j.dispatch.assignedNode) ?? []
    list.push(jobCharge(j, seenStartedAt(j.jobId)))
    charges.set(j.dispatch.assignedNode, list)
  }
  const out = new Map<string, NodeBudget>()
  for (const [id, list] of charges) out.set(id, nodeBudget(limitsOf(id), list, nowMs, windowMs))
  return out
}

export interface AdmissionLedgerComponents {
  state: Pick<ClusterState, 'jobs' | 'node'>
  clock: Clock
}

/**
 * Tracks when this node first saw each job started (on its monotonic clock) and answers the
 * budgets from the document. Every node keeps it up to date (a new leader then knows the recent
 * starts); a job seen for the first time already started counts as started now (conservative).
 */
export class AdmissionLedger {
  private readonly seenStarted = new Map<string, number>()

  constructor (private readonly c: AdmissionLedgerComponents) {}

  /** Note the jobs seen started; forget those that left the document. */
  observe (jobs: readonly JobView[] = this.c.state.jobs()): void {
    const now = this.c.clock.monoMs()
    const live = new Set<string>()
    for (const j of jobs) {
      live.add(j.jobId)
      if (j.status !== undefined && !this.seenStarted.has(j.jobId)) this.seenStarted.set(j.jobId, now)
    }
    for (const id of this.seenStarted.keys()) if (!live.has(id)) this.seenStarted.delete(id)
    while (this.seenStarted.size > MAX_TRACKED_STARTS) this.seenStarted.delete(this.seenStarted.keys().next().value as string)
  }

  /** The limits a node advertises, or the defaults for one that does not (at the defaults, or older than the field). */
  limits (nodeId: string): StartLimits {
    return this.c.state.node(nodeId)?.admission ?? DEFAULT_START_LIMITS
  }

  /** Every node's budget now (observes `jobs` first); `nodeIds` adds nodes without jobs. */
  budgets (nodeIds: Iterable<string> = [], jobs: readonly JobView[] = this.c.state.jobs()): Map<string, NodeBudget> {
    this.observe(jobs)
    return nodeBudgets(jobs, id => this.seenStarted.get(id), id => this.limits(id), nodeIds, this.c.clock.monoMs())
  }
}

/** The NodeInfo `admission` field for these limits: undefined at the defaults (so older nodes still read the entry). */
export function startLimitsField (limits: StartLimits): StartLimits | undefined {
  const d = DEFAULT_START_LIMITS
  return limits.maxProcesses === d.maxProcesses && limits.spawnRatePerMinute === d.spawnRatePerMinute ? undefined : { ...limits }
}

/**
 * The job ledger invariants, watched by the omniscient observer:
 *  - job-once: no dispatch is ever started twice — on one machine (across restarts of its node)
 *    or on two machines;
 *  - job-ledger: no accepted job is lost — at the end, every job that was started has, on every
 *    live node, a final state that matches what really happened to its process (or its process
 *    still runs and the record says RUNNING); a retired record was final by construction;
 *  - job-superseded: work is not done twice once the partition that caused it is over — a
 *    re-dispatched job (its `previousJobId` chain) may run beside its predecessor while they are
 *    apart, but once a leader's view holds both the successor and a COMPLETE predecessor, the
 *    successor must not go on to complete more than `SUPERSEDE_GRACE_MS` later (the leader
 *    cancels it). The grace runs from the first sample at which one leader sees both, not from
 *    when some leader first saw the predecessor complete: a leader cut off with the predecessor
 *    (which then loses its lease or crashes) sees it complete before the majority's leader even
 *    dispatches the successor, and no leader can cancel a re-run it does not know is one.
 */
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { SimMachine } from './node/sim-jobs.js'
import type { CheckResult } from './simulation.js'
import { isTerminal } from '../src/state/jobs.js'

/** Sampling period of what leaders see, and the grace a leader has to cancel superseded work. */
export const JOB_SAMPLE_MS = 1_000
export const SUPERSEDE_GRACE_MS = 10_000
/** Most links followed back through a job's re-dispatch chain. */
const MAX_CHAIN_HOPS = 32
const COMPLETED: ReadonlySet<string> = new Set(['COMPLETE', 'PROMOTED', 'ARCHIVED'])

export class JobMonitor {
  /** jobId → machine index that started it. */
  private readonly startedOn = new Map<string, number>()
  /** successor jobId → when a leader first saw it beside a completed predecessor of its chain, and which. */
  private readonly supersededSeenByLeader = new Map<string, { atMs: number, by: string }>()
  private readonly violations = new Map<string, string>()
  started = 0

  constructor (
    private readonly nodes: readonly SimNode[],
    private readonly machines: readonly SimMachine[],
    private readonly sched: Scheduler,
    private readonly fail: (check: string, detail: string) => void
  ) {}

  onStart (machine: number, jobId: string): void {
    this.started++
    this.sched.trace(`machine ${machine} starts job ${jobId}`)
    const prev = this.startedOn.get(jobId)
    if (prev !== undefined) this.violate('job-once', `job ${jobId} started on machine ${machine} after it had started on machine ${prev}`)
    this.startedOn.set(jobId, machine)
  }

  /** Note which re-runs a current leader sees beside a completed predecessor (the simulation calls this every JOB_SAMPLE_MS). */
  sample (): void {
    for (const n of this.nodes) {
      if (!n.isUp || n.parts?.election?.isLeader() !== true) continue
      const jobs = n.state.jobs()
      const byId = new Map(jobs.map(j => [j.jobId, j]))
      for (const j of jobs) {
        if (j.dispatch.previousJobId === null || this.supersededSeenByLeader.has(j.jobId)) continue
        for (let p: string | null = j.dispatch.previousJobId, hops = 0; p !== null && hops < MAX_CHAIN_HOPS; hops++) {
          const prev = byId.get(p)
          if (prev === undefined) break
          if (COMPLETED.has(prev.state)) {
            this.supersededSeenByLeader.set(j.jobId, { atMs: this.sched.nowMs, by: p })
            break
          }
          p = prev.dispatch.previousJobId
        }
      }
    }
  }

  /** Re-runs that completed well after a leader knew an earlier attempt of theirs had. */
  private checkSuperseded (): void {
    for (const [jobId, seen] of this.supersededSeenByLeader) {
      const m = this.startedOn.get(jobId)
      const ended = m === undefined ? undefined : this.machines[m]?.get(jobId)?.ended
      if (ended === undefined || ended.exitCode !== 0 || ended.error !== undefined || ended.cancelReason !== undefined) continue
      if (ended.endedAt > seen.atMs + SUPERSEDE_GRACE_MS) {
        this.violate('job-superseded', `job ${jobId} completed at ${(ended.endedAt / 1000).toFixed(1)} s although a leader saw it beside its completed predecessor ${seen.by} at ${(seen.atMs / 1000).toFixed(1)} s`)
        return
      }
    }
  }

  finish (): void {
    this.checkSuperseded()
    for (const [jobId, m] of this.startedOn) {
      const proc = this.machines[m]?.get(jobId)
      if (proc === undefined) continue
      for (const n of this.nodes) {
        if (!n.isUp) continue
        const j = n.state.job(jobId)
        if (j === undefined) {
          if (!n.state.bucketViews().some(b => jobId.startsWith(`${b.bucketId}.`))) continue // retired: final by construction
          this.violate('job-ledger', `node ${n.index} has the bucket of ${jobId} but not its record`)
          return
        }
        if (proc.ended === undefined) {
          if (j.state !== 'RUNNING' && !isTerminal(j.state)) this.violate('job-ledger', `job ${jobId} still runs on machine ${m} but node ${n.index} says ${j.state}`)
          continue
        }
        if (!isTerminal(j.state)) {
          this.violate('job-ledger', `job ${jobId} ended on machine ${m} at ${(proc.ended.endedAt / 1000).toFixed(1)} s but node ${n.index} still says ${j.state}`)
          return
        }
        const ok = proc.ended.exitCode === 0 && proc.ended.error === undefined && proc.ended.cancelReason === undefined
        if (ok && !['COMPLETE', 'PROMOTED', 'ARCHIVED'].includes(j.state)) this.violate('job-ledger', `job ${jobId} completed on machine ${m} but node ${n.index} says ${j.state}`)
        if (!ok && j.state === 'COMPLETE') this.violate('job-ledger', `job ${jobId} did not complete on machine ${m} but node ${n.index} says COMPLETE`)
      }
    }
  }

  private violate (check: string, detail: string): void {
    if (this.violations.has(check)) return
    this.violations.set(check, detail)
    this.fail(check, detail)
  }

  results (): CheckResult[] {
    return ['job-once', 'job-ledger', 'job-superseded'].map(name => ({ name, ok: !this.violations.has(name), detail: this.violations.get(name) ?? null }))
  }

  summary (): { started: number, completed: number, failed: number, running: number } {
    let completed = 0
    let failed = 0
    let running = 0
    for (const [jobId, m] of this.startedOn) {
      const p = this.machines[m]?.get(jobId)
      if (p?.ended === undefined) running++
      else if (p.ended.exitCode === 0 && p.ended.error === undefined && p.ended.cancelReason === undefined) completed++
      else failed++
    }
    return { started: this.started, completed, failed, running }
  }
}

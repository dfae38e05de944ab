/**
 * The job ledger invariants, watched by the omniscient observer:
 *  - job-once: no dispatch is ever started twice — on one machine (across restarts of its node)
 *    or on two machines;
 *  - job-ledger: no accepted job is lost — at the end, every job that was started has, on every
 *    live node, a final state that matches what really happened to its process (or its process
 *    still runs and the record says RUNNING); a retired record was final by construction;
 *  - job-superseded: work is not done twice once the partition that caused it is over — a
 *    re-dispatched job (its `previousJobId` chain) may run beside its predecessor while they are
 *    apart, but once a leader has seen the predecessor COMPLETE, the successor must not go on to
 *    complete more than `supersedeGraceMs` later (the leader cancels it).
 */
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { SimMachine } from './node/sim-jobs.js'
import type { CheckResult } from './simulation.js'
import { isTerminal } from '../src/state/jobs.js'

/** Sampling period of what leaders see, and the grace a leader has to cancel superseded work. */
export const JOB_SAMPLE_MS = 1_000
export const SUPERSEDE_GRACE_MS = 10_000

export class JobMonitor {
  /** jobId → machine index that started it. */
  private readonly startedOn = new Map<string, number>()
  /** jobId → virtual ms a leader first saw it completed. */
  private readonly completeSeenByLeader = new Map<string, number>()
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

  /** Note which jobs a current leader sees completed (the simulation calls this every JOB_SAMPLE_MS). */
  sample (): void {
    for (const n of this.nodes) {
      if (!n.isUp || n.parts?.election?.isLeader() !== true) continue
      for (const j of n.state.jobs()) {
        if ((j.state === 'COMPLETE' || j.state === 'PROMOTED' || j.state === 'ARCHIVED') && !this.completeSeenByLeader.has(j.jobId)) this.completeSeenByLeader.set(j.jobId, this.sched.nowMs)
      }
    }
  }

  /** Successors that completed well after a leader knew their predecessor had. */
  private checkSuperseded (): void {
    const ref = this.nodes.find(n => n.isUp)
    if (ref === undefined) return
    const byId = new Map(ref.state.jobs().map(j => [j.jobId, j]))
    for (const j of byId.values()) {
      const m = this.startedOn.get(j.jobId)
      const ended = m === undefined ? undefined : this.machines[m]?.get(j.jobId)?.ended
      if (ended === undefined || ended.exitCode !== 0 || ended.error !== undefined || ended.cancelReason !== undefined) continue
      for (let p = j.dispatch.previousJobId, hops = 0; p !== null && hops < 16; hops++) {
        const seen = this.completeSeenByLeader.get(p)
        if (seen !== undefined && ended.endedAt > seen + SUPERSEDE_GRACE_MS) {
          this.violate('job-superseded', `job ${j.jobId} completed at ${(ended.endedAt / 1000).toFixed(1)} s although a leader saw its predecessor ${p} completed at ${(seen / 1000).toFixed(1)} s`)
          return
        }
        p = byId.get(p)?.dispatch.previousJobId ?? null
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

/**
 * The job ledger invariants, watched by the omniscient observer:
 *  - job-once: no dispatch is ever started twice — on one machine (across restarts of its node)
 *    or on two machines;
 *  - job-ledger: no accepted job is lost — at the end, every job that was started has, on every
 *    live node, a final state that matches what really happened to its process (or its process
 *    still runs and the record says RUNNING); a retired record was final by construction.
 */
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { SimMachine } from './node/sim-jobs.js'
import type { CheckResult } from './simulation.js'
import { isTerminal } from '../src/state/jobs.js'

export class JobMonitor {
  /** jobId → machine index that started it. */
  private readonly startedOn = new Map<string, number>()
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

  finish (): void {
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
    return ['job-once', 'job-ledger'].map(name => ({ name, ok: !this.violations.has(name), detail: this.violations.get(name) ?? null }))
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

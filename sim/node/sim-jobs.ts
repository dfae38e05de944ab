/**
 * Simulated job processes: a `SimMachine` per node holds the processes (they outlive a crash
 * of the node's riftmesh process, as the real supervisor-per-job does, and die with a power
 * loss), and `SimJobRunner` is the JobRunner the real JobWorker drives in the simulator. Jobs
 * run for a duration on the scheduler's time and complete with outputs by job type.
 */
import type { Scheduler, SimEvent } from '../core/scheduler.js'
import type { JobTypeName } from '../../src/core/vocabulary.js'
import type { JobResult, JobRunner, RunningJob } from '../../src/jobs/runner.js'
import type { JobStartSpec } from '../../src/jobs/runner-config.js'
import type { JobPaths } from '../../src/jobs/records.js'
import { JobLimitError } from '../../src/jobs/errors.js'

export interface SimJobTimings {
  durationMs: Partial<Record<JobTypeName, number>>
  /** Outputs a completed job reports, by type. */
  outputs: (jobId: string, type: JobTypeName) => string[]
}

interface Proc {
  jobId: string
  type: JobTypeName
  pid: number
  startedAt: number
  ended: JobResult | undefined
  /** process.json still on disk (not released). */
  recorded: boolean
  timer: SimEvent | undefined
}

/** The processes of one simulated machine. */
export class SimMachine {
  private readonly procs = new Map<string, Proc>()
  private nextPid = 100
  private readonly endListeners = new Set<(r: JobResult) => void>()
  /** Every job id ever started on this machine, and how many times. */
  readonly starts = new Map<string, number>()

  constructor (readonly index: number, private readonly sched: Scheduler, private readonly timings: SimJobTimings, private readonly onStart: (jobId: string, argv: readonly string[]) => void) {}

  start (jobId: string, type: JobTypeName, argv: readonly string[] = []): Proc {
    this.starts.set(jobId, (this.starts.get(jobId) ?? 0) + 1)
    this.onStart(jobId, argv)
    const p: Proc = { jobId, type, pid: this.nextPid++, startedAt: this.sched.nowMs, ended: undefined, recorded: true, timer: undefined }
    p.timer = this.sched.after(this.timings.durationMs[type] ?? 5000, `job-end ${jobId}`, () => { this.end(p, 0, null) })
    this.procs.set(jobId, p)
    return p
  }

  end (p: Proc, exitCode: number | null, signal: string | null, error?: string): void {
    if (p.ended !== undefined) return
    if (p.timer !== undefined) this.sched.cancel(p.timer)
    p.ended = {
      jobId: p.jobId, type: p.type, pid: p.pid, startedAt: Math.floor(p.startedAt), endedAt: Math.floor(this.sched.nowMs), exitCode, signal,
      exitKnown: error === undefined, logTail: '', adopted: false, workDir: `/sim/${p.jobId}`, outputDir: `/sim/${p.jobId}/out`,
      ...(signal !== null ? { cancelReason: 'cancelled' } : {}), ...(error !== undefined ? { error } : {})
    }
    for (const l of this.endListeners) l(p.ended)
  }

  cancel (jobId: string): boolean {
    const p = this.procs.get(jobId)
    if (p === undefined || p.ended !== undefined) return false
    this.end(p, null, 'SIGTERM')
    return true
  }

  /** A power loss kills every process (their records stay on disk). */
  powerLoss (): void {
    for (const p of this.procs.values()) if (p.ended === undefined) this.end(p, null, null, 'ended while the node was down / exit code unknown (power loss)')
  }

  get (jobId: string): Proc | undefined {
    return this.procs.get(jobId)
  }

  recorded (): Proc[] {
    return [...this.procs.values()].filter(p => p.recorded)
  }

  release (jobId: string): void {
    const p = this.procs.get(jobId)
    if (p !== undefined) p.recorded = false
  }

  outputsOf (jobId: string, type: JobTypeName): string[] {
    return this.timings.outputs(jobId, type)
  }

  onEnd (l: (r: JobResult) => void): () => void {
    this.endListeners.add(l)
    return () => this.endListeners.delete(l)
  }
}

/** The JobRunner of one node incarnation over its machine. */
export class SimJobRunner implements JobRunner {
  private readonly watched = new Map<string, RunningJob>()
  private readonly listeners = new Set<(r: JobResult) => void>()
  private readonly off: () => void
  private stopped = false

  constructor (private readonly machine: SimMachine, private readonly maxProcesses: number) {
    this.off = machine.onEnd(r => {
      if (this.stopped || !this.watched.has(r.jobId)) return
      this.watched.delete(r.jobId)
      for (const l of this.listeners) l(r)
    })
  }

  jobPaths (jobId: string): JobPaths {
    const w = `/sim/${jobId}`
    return { workDir: w, outputDir: `${w}/out`, processFile: `${w}/process.json`, exitFile: `${w}/exit.json`, launchFile: `${w}/launch.json`, supervisorFile: `${w}/s.cjs`, stdoutLog: `${w}/stdout.log`, stderrLog: `${w}/stderr.log`, supervisorLog: `${w}/supervisor.log` }
  }

  async start (spec: JobStartSpec): Promise<RunningJob> {
    if (this.watched.size >= this.maxProcesses) throw new JobLimitError(spec.jobId, 'maxProcessesPerNode', this.watched.size)
    const existing = this.machine.get(spec.jobId)
    if (existing?.recorded === true) throw new Error(`job ${spec.jobId} was started before: adopt it instead`)
    const p = this.machine.start(spec.jobId, spec.type, spec.argv)
    return this.watch(p.jobId, p.type, p.pid, p.startedAt, false)
  }

  private watch (jobId: string, type: JobTypeName, pid: number, startedAt: number, adopted: boolean): RunningJob {
    const job: RunningJob = { jobId, type, pid, pgid: pid, jobPid: pid, startedAt: Math.floor(startedAt), workDir: `/sim/${jobId}`, outputDir: `/sim/${jobId}/out`, adopted, done: new Promise(() => {}) }
    this.watched.set(jobId, job)
    return job
  }

  cancel (jobId: string): boolean {
    return this.machine.cancel(jobId)
  }

  async listAdoptable (): Promise<string[]> {
    return this.machine.recorded().map(p => `/sim/${p.jobId}`)
  }

  async adopt (workDir: string): Promise<{ status: 'running', job: RunningJob } | { status: 'ended', result: JobResult }> {
    const jobId = workDir.slice('/sim/'.length)
    const p = this.machine.get(jobId)
    if (p === undefined) throw new Error(`no process record in ${workDir}`)
    if (p.ended !== undefined) return { status: 'ended', result: { ...p.ended, adopted: true } }
    return { status: 'running', job: this.watch(p.jobId, p.type, p.pid, p.startedAt, true) }
  }

  async release (jobId: string): Promise<void> {
    this.machine.release(jobId)
  }

  get (jobId: string): RunningJob | undefined {
    return this.watched.get(jobId)
  }

  list (): RunningJob[] {
    return [...this.watched.values()]
  }

  get runningCount (): number {
    return this.watched.size
  }

  onJobEnd (listener: (result: JobResult) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.off()
    this.watched.clear()
  }
}

/**
 * ProcessRunner: runs job processes on this node and tells when they end.
 *
 * Each job runs under a small supervisor (see supervisor.ts) that leads the job's own process
 * group, in `<dataDir>/jobs/<jobId>/` as cwd, with stdout/stderr appended to size-limited log
 * files there and an explicit environment (an allow-list of the node's variables plus the job's).
 * The runner enforces, per node, a spawn rate (sliding window) and a cap on running processes,
 * and per job a maximum runtime. Cancelling sends SIGTERM to the group, then SIGKILL after
 * `killGraceMs` — both scheduled on the injected Clock.
 *
 * Jobs outlive the node process: `stop()` only stops watching (unless `killJobs`), and a new
 * runner `adopt`s each work dir that still has a process.json. A process is the job's only if
 * its pid is alive AND its start time matches the record, so a recycled pid is never adopted or
 * signalled. An adopted process is not our child: it is watched by polling, and its exit status
 * comes from the exit.json its supervisor writes; without one it is reported as unknown.
 *
 * POSIX only (process groups; start times on Linux and darwin).
 */
import type { ChildProcess } from 'node:child_process'
import { opendir, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { timeoutSignal, timestampMs, type Clock, type TimerHandle } from '../core/clock.js'
import { NotStartedError, errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import type { JobTypeName } from '../core/vocabulary.js'
import { jobEnv } from './env.js'
import { AdoptError, JobLimitError, JobSpecError, SpawnError } from './errors.js'
import { launchSupervised, type ExitInfo } from './launch.js'
import { canReadStartTime, probeProcess, signalGroup, type ProcessProbe } from './proc.js'
import { PROCESS_FILE, jobPaths, processRecordSchema, readRecord, workPaths, type JobPaths, type ProcessRecord } from './records.js'
import { buildResult, type EndSeen, type JobResult } from './results.js'
import {
  checkJobSpec, isSafeJobId, resolveRunnerInit, type JobStartSpec, type ProcessRunnerInit, type RunnerSettings
} from './runner-config.js'

export type { JobResult } from './results.js'
export type { JobStartSpec, ProcessRunnerInit } from './runner-config.js'
export {
  DEFAULT_ADOPT_POLL_INTERVAL_MS, DEFAULT_LOG_TAIL_BYTES, DEFAULT_MAX_ADOPT_SCAN, DEFAULT_SPAWN_TIMEOUT_MS,
  DEFAULT_SUPERVISOR_CLOSE_GRACE_MS
} from './runner-config.js'

/** Width of the spawn-rate window. */
export const SPAWN_RATE_WINDOW_MS = 60_000
/** Extra wait of `stop({ killJobs: true })` beyond the kill grace and two polls. */
export const STOP_MARGIN_MS = 5_000
/** Log an adopted job's failing probe once every this many failures. */
const PROBE_FAILURE_LOG_EVERY = 30
export const MAX_RUNTIME_REASON = 'max runtime'
export const STOPPING_REASON = 'node stopping'
export const DEFAULT_CANCEL_REASON = 'cancelled'

export interface ProcessRunnerComponents {
  clock: Clock
  logger: Logger
}

export interface RunningJob {
  jobId: string
  type: JobTypeName
  /** Pid of the group leader (the job's supervisor); also the process group id. */
  pid: number
  pgid: number
  /** Pid of the job's own process; null for an adopted job. */
  jobPid: number | null
  /** Wall-clock ms the job was started (by this or an earlier runner). */
  startedAt: number
  workDir: string
  outputDir: string
  adopted: boolean
  /** The result when the job ends; null when this runner stopped watching it (it may still run). */
  done: Promise<JobResult | null>
}

export type AdoptOutcome =
  | { status: 'running', job: RunningJob }
  /** The job's process is gone (or its pid now belongs to another process): it ended while unwatched. */
  | { status: 'ended', result: JobResult }

export interface StopOptions {
  /** Cancel every job and wait for them to end, instead of leaving them running for re-adoption. */
  killJobs?: boolean
}

/**
 * What the JobManager needs from a runner; `ProcessRunner` is the real one, the simulator and
 * tests may bring a fake.
 */
export interface JobRunner {
  jobPaths: (jobId: string, outputDir?: string) => JobPaths
  start: (spec: JobStartSpec, options?: { signal?: AbortSignal }) => Promise<RunningJob>
  cancel: (jobId: string, reason?: string) => boolean
  adopt: (workDir: string, options?: { signal?: AbortSignal }) => Promise<AdoptOutcome>
  listAdoptable: (options?: { signal?: AbortSignal }) => Promise<string[]>
  release: (jobId: string, options?: { signal?: AbortSignal }) => Promise<void>
  get: (jobId: string) => RunningJob | undefined
  list: () => RunningJob[]
  readonly runningCount: number
  onJobEnd: (listener: (result: JobResult) => void) => () => void
  stop: (options?: StopOptions) => Promise<void>
}

interface Entry {
  job: RunningJob
  record: ProcessRecord
  paths: JobPaths
  child: ChildProcess | undefined
  cancelReason: string | undefined
  runtimeTimer: TimerHandle | undefined
  killTimer: TimerHandle | undefined
  pollTimer: TimerHandle | undefined
  probeFailures: number
  resolve: (r: JobResult | null) => void
}

function sameProcess (probe: ProcessProbe, record: ProcessRecord): boolean {
  return probe.state === 'alive' && probe.startTime === record.processStartTime
}

export class ProcessRunner implements JobRunner {
  private readonly clock: Clock
  private readonly log: Logger
  private readonly settings: RunnerSettings
  private readonly entries = new Map<string, Entry>()
  private readonly starting = new Set<string>()
  private readonly inflight = new Set<Promise<unknown>>()
  /** Monotonic times of the spawns in the current window (at most spawnRatePerMinute). */
  private readonly spawnTimes: number[] = []
  private readonly listeners = new Set<(r: JobResult) => void>()
  private stopping: Promise<void> | undefined

  constructor (components: ProcessRunnerComponents, init: ProcessRunnerInit) {
    this.clock = components.clock
    this.log = components.logger.child({ component: 'process-runner' })
    this.settings = resolveRunnerInit(init)
  }

  /** Where a job's files are (the JobManager needs workDir/outputDir to expand the template). */
  jobPaths (jobId: string, outputDir?: string): JobPaths {
    if (!isSafeJobId(jobId)) throw new JobSpecError(jobId, 'job id is not a safe directory name')
    return jobPaths(this.settings.dataDir, jobId, outputDir)
  }

  /** Processes running now (started and adopted). */
  get runningCount (): number {
    return this.entries.size
  }

  get (jobId: string): RunningJob | undefined {
    return this.entries.get(jobId)?.job
  }

  list (): RunningJob[] {
    return [...this.entries.values()].map(e => e.job)
  }

  /** Hear of every job that ends while watched (not of the ones `adopt` finds already ended). */
  onJobEnd (listener: (result: JobResult) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Start a job. Rejects with `JobLimitError` (rate or cap reached: nothing was spawned),
   * `JobSpecError` (bad spec, already running), `SpawnError` (could not start), or
   * `NotStartedError` after `stop()`.
   */
  async start (spec: JobStartSpec, options: { signal?: AbortSignal } = {}): Promise<RunningJob> {
    if (this.stopping !== undefined) throw new NotStartedError('process-runner')
    options.signal?.throwIfAborted()
    const maxRuntimeMs = checkJobSpec(spec, this.settings.maxRuntimeMs)
    const { jobId } = spec
    if (this.entries.has(jobId) || this.starting.has(jobId)) throw new JobSpecError(jobId, 'is already running on this node')
    if (this.entries.size + this.starting.size >= this.settings.maxProcessesPerNode) {
      throw new JobLimitError(jobId, 'maxProcessesPerNode', this.settings.maxProcessesPerNode)
    }
    const now = this.clock.monoMs()
    while (this.spawnTimes.length > 0 && (this.spawnTimes[0] ?? 0) <= now - SPAWN_RATE_WINDOW_MS) this.spawnTimes.shift()
    if (this.spawnTimes.length >= this.settings.spawnRatePerMinute) throw new JobLimitError(jobId, 'spawnRatePerMinute', this.settings.spawnRatePerMinute)
    this.spawnTimes.push(now) // an attempt counts, whether or not it succeeds
    this.starting.add(jobId)
    const work = this.launch(spec, maxRuntimeMs)
    this.inflight.add(work)
    try {
      return await work
    } finally {
      this.inflight.delete(work)
      this.starting.delete(jobId)
    }
  }

  private async launch (spec: JobStartSpec, maxRuntimeMs: number): Promise<RunningJob> {
    const paths = this.jobPaths(spec.jobId, spec.outputDir)
    await this.refuseIfLeftRunning(spec.jobId, paths)
    const facts = {
      RIFTMESH_JOB_ID: spec.jobId,
      RIFTMESH_JOB_TYPE: spec.type,
      RIFTMESH_WORK_DIR: paths.workDir,
      RIFTMESH_OUTPUT_DIR: paths.outputDir
    }
    const startedAt = timestampMs(this.clock)
    const launched = await launchSupervised({
      jobId: spec.jobId,
      paths,
      argv: spec.argv,
      jobEnv: jobEnv(this.settings.baseEnv, spec.env, facts),
      supervisorEnv: { ...this.settings.baseEnv },
      maxLogBytes: this.settings.maxLogBytes,
      tailBytes: this.settings.logTailBytes,
      closeGraceMs: this.settings.supervisorCloseGraceMs,
      spawnTimeoutMs: this.settings.spawnTimeoutMs,
      record: (pid, startTime) => ({
        v: 1, jobId: spec.jobId, type: spec.type, pid, pgid: pid, processStartTime: startTime,
        platform: process.platform, startedAt, maxRuntimeMs, outputDir: paths.outputDir
      })
    }, { clock: this.clock, log: this.log })
    const entry = this.register(launched.record, paths, launched.child, launched.jobPid)
    launched.exited
      .then(async exit => { await this.onOwnExit(entry, exit) })
      .catch((err: unknown) => this.log.error({ err, jobId: spec.jobId }, 'handling a job exit failed'))
    entry.runtimeTimer = this.clock.setTimer(() => this.cancel(spec.jobId, MAX_RUNTIME_REASON), maxRuntimeMs)
    this.log.info({ jobId: spec.jobId, type: spec.type, pid: launched.record.pid, jobPid: launched.jobPid }, 'job started')
    return entry.job
  }

  /** A job of this id left running by an earlier runner must be adopted, not started twice. */
  private async refuseIfLeftRunning (jobId: string, paths: JobPaths): Promise<void> {
    let record: ProcessRecord | undefined
    try {
      record = await readRecord(paths.processFile, processRecordSchema)
    } catch (err) {
      this.log.warn({ err, jobId }, 'unreadable old process record; replacing it')
      return
    }
    if (record === undefined || record.platform !== process.platform || !canReadStartTime()) return
    let probe: ProcessProbe
    try {
      probe = await probeProcess(record.pid, this.clock)
    } catch (err) {
      throw new SpawnError(jobId, `cannot check the process of an earlier start: ${errorMessage(err)}`, undefined, { cause: err })
    }
    if (sameProcess(probe, record)) {
      throw new JobSpecError(jobId, `is still running from an earlier start (pid ${record.pid}); adopt it instead`)
    }
  }

  private register (record: ProcessRecord, paths: JobPaths, child: ChildProcess | undefined, jobPid: number | null): Entry {
    let resolve: (r: JobResult | null) => void = () => {}
    const done = new Promise<JobResult | null>(r => { resolve = r })
    const entry: Entry = {
      job: {
        jobId: record.jobId,
        type: record.type,
        pid: record.pid,
        pgid: record.pgid,
        jobPid,
        startedAt: record.startedAt,
        workDir: paths.workDir,
        outputDir: paths.outputDir,
        adopted: child === undefined,
        done
      },
      record,
      paths,
      child,
      cancelReason: undefined,
      runtimeTimer: undefined,
      killTimer: undefined,
      pollTimer: undefined,
      probeFailures: 0,
      resolve
    }
    this.entries.set(record.jobId, entry)
    return entry
  }

  /**
   * Cancel a job: SIGTERM to its process group now, SIGKILL after `killGraceMs`. Returns false
   * for a job this runner does not watch. A second cancel keeps the first reason and timer.
   */
  cancel (jobId: string, reason: string = DEFAULT_CANCEL_REASON): boolean {
    const entry = this.entries.get(jobId)
    if (entry === undefined) return false
    if (entry.cancelReason !== undefined) return true
    entry.cancelReason = reason
    this.log.info({ jobId, reason, pgid: entry.record.pgid }, 'cancelling job')
    this.signal(entry, 'SIGTERM')
    entry.killTimer = this.clock.setTimer(() => {
      entry.killTimer = undefined
      this.log.warn({ jobId, graceMs: this.settings.killGraceMs }, 'job still running after SIGTERM; sending SIGKILL')
      this.signal(entry, 'SIGKILL')
    }, this.settings.killGraceMs)
    return true
  }

  private signal (entry: Entry, sig: NodeJS.Signals): void {
    const { jobId, pgid } = entry.record
    if (entry.child !== undefined) {
      // Our child: until its exit is handled, its pid cannot be reused.
      const outcome = signalGroup(pgid, sig)
      if (outcome !== 'sent') this.log.debug({ jobId, pgid, sig, outcome }, 'signal not delivered')
      return
    }
    // Adopted: make sure the pid is still the job's before signalling its group.
    probeProcess(entry.record.pid, this.clock)
      .then(async probe => {
        if (this.entries.get(jobId) !== entry) return
        if (!sameProcess(probe, entry.record)) {
          await this.endAdopted(entry)
          return
        }
        const outcome = signalGroup(pgid, sig)
        if (outcome !== 'sent') this.log.debug({ jobId, pgid, sig, outcome }, 'signal not delivered')
      })
      .catch((err: unknown) => this.log.warn({ err, jobId, sig }, 'cannot signal adopted job'))
  }

  private async onOwnExit (entry: Entry, exit: ExitInfo): Promise<void> {
    if (this.entries.get(entry.record.jobId) !== entry) return // no longer watched (stop)
    this.clearTimers(entry)
    const { jobId, pgid } = entry.record
    if (signalGroup(pgid, 0) === 'sent') {
      signalGroup(pgid, 'SIGKILL')
      this.log.warn({ jobId, pgid }, 'job left processes in its group; killed them')
    }
    const result = await this.result(entry.record, entry.paths, entry.cancelReason, false, {
      exit,
      endedAt: timestampMs(this.clock),
      unknownReason: 'the supervisor left no exit record'
    })
    this.finish(entry, result)
  }

  private async endAdopted (entry: Entry): Promise<void> {
    if (this.entries.get(entry.record.jobId) !== entry) return
    this.clearTimers(entry)
    this.entries.delete(entry.record.jobId) // no second end while the result is read
    const result = await this.result(entry.record, entry.paths, entry.cancelReason, true, {
      endedAt: timestampMs(this.clock),
      unknownReason: 'ended with no exit record / exit code unknown'
    })
    this.finish(entry, result)
  }

  private finish (entry: Entry, result: JobResult): void {
    if (this.entries.get(entry.record.jobId) === entry) this.entries.delete(entry.record.jobId)
    entry.resolve(result)
    this.log.info({ jobId: result.jobId, exitCode: result.exitCode, signal: result.signal, cancelReason: result.cancelReason, error: result.error }, 'job ended')
    for (const listener of this.listeners) {
      try {
        listener(result)
      } catch (err) {
        this.log.error({ err, jobId: result.jobId }, 'job end listener threw')
      }
    }
  }

  private async result (record: ProcessRecord, paths: JobPaths, cancelReason: string | undefined, adopted: boolean, seen: EndSeen): Promise<JobResult> {
    return await buildResult({ record, paths, cancelReason, adopted, logTailBytes: this.settings.logTailBytes, log: this.log }, seen)
  }

  private clearTimers (entry: Entry): void {
    this.clock.clearTimer(entry.runtimeTimer)
    this.clock.clearTimer(entry.killTimer)
    this.clock.clearTimer(entry.pollTimer)
    entry.runtimeTimer = entry.killTimer = entry.pollTimer = undefined
  }

  /**
   * Take over a job left running by an earlier runner (or report it ended). Throws `AdoptError`
   * when the work dir has no readable process record or this platform cannot check start times.
   * An adopted job is never refused for the process cap (it runs already) but counts toward it
   * for later starts; its max runtime counts from its recorded start. The end of a job found
   * already ended is only returned here, not sent to `onJobEnd` listeners.
   */
  async adopt (workDir: string, options: { signal?: AbortSignal } = {}): Promise<AdoptOutcome> {
    if (this.stopping !== undefined) throw new NotStartedError('process-runner')
    options.signal?.throwIfAborted()
    let record: ProcessRecord | undefined
    try {
      record = await readRecord(join(workDir, PROCESS_FILE), processRecordSchema)
    } catch (err) {
      throw new AdoptError(workDir, `unreadable process record: ${errorMessage(err)}`, { cause: err })
    }
    if (record === undefined) throw new AdoptError(workDir, `no ${PROCESS_FILE}`)
    if (basename(workDir) !== record.jobId) throw new AdoptError(workDir, `process record is for job ${record.jobId}, not this dir`)
    const existing = this.entries.get(record.jobId)
    if (existing !== undefined) return { status: 'running', job: existing.job }
    if (!canReadStartTime() || record.platform !== process.platform) {
      throw new AdoptError(workDir, `cannot verify process start times (platform ${process.platform}, record from ${record.platform})`)
    }
    let probe: ProcessProbe
    try {
      probe = await probeProcess(record.pid, this.clock)
    } catch (err) {
      throw new AdoptError(workDir, errorMessage(err), { cause: err })
    }
    const paths = workPaths(workDir, record.outputDir)
    if (sameProcess(probe, record)) {
      if (this.stopping !== undefined) throw new NotStartedError('process-runner')
      const already = this.entries.get(record.jobId)
      if (already !== undefined) return { status: 'running', job: already.job }
      const entry = this.register(record, paths, undefined, null)
      this.schedulePoll(entry)
      const remainingMs = record.startedAt + record.maxRuntimeMs - this.clock.nowMs()
      entry.runtimeTimer = this.clock.setTimer(() => this.cancel(record.jobId, MAX_RUNTIME_REASON), Math.max(0, remainingMs))
      this.log.info({ jobId: record.jobId, pid: record.pid, remainingMs }, 'adopted running job')
      return { status: 'running', job: entry.job }
    }
    const why = probe.state === 'alive'
      ? `pid ${record.pid} now belongs to another process (start time differs)`
      : `process ${record.pid} is ${probe.state === 'zombie' ? 'a zombie' : 'gone'}`
    const result = await this.result(record, paths, undefined, true, {
      endedAt: timestampMs(this.clock),
      unknownReason: `ended while the node was down / exit code unknown (${why})`
    })
    this.log.info({ jobId: record.jobId, why, exitKnown: result.exitKnown }, 'job ended while unwatched')
    return { status: 'ended', result }
  }

  private schedulePoll (entry: Entry): void {
    entry.pollTimer = this.clock.setTimer(() => {
      entry.pollTimer = undefined
      this.pollOnce(entry).catch((err: unknown) => this.log.error({ err, jobId: entry.record.jobId }, 'adopted job poll failed'))
    }, this.settings.adoptPollIntervalMs)
  }

  private async pollOnce (entry: Entry): Promise<void> {
    const { jobId, pid } = entry.record
    if (this.entries.get(jobId) !== entry) return
    let probe: ProcessProbe
    try {
      probe = await probeProcess(pid, this.clock)
    } catch (err) {
      // Keep watching: declaring it ended on a failed probe could run the job twice.
      if (entry.probeFailures++ % PROBE_FAILURE_LOG_EVERY === 0) this.log.warn({ err, jobId, failures: entry.probeFailures }, 'cannot probe adopted job')
      if (this.entries.get(jobId) === entry) this.schedulePoll(entry)
      return
    }
    if (this.entries.get(jobId) !== entry) return
    if (sameProcess(probe, entry.record)) {
      this.schedulePoll(entry)
      return
    }
    await this.endAdopted(entry)
  }

  /** Work dirs under `<dataDir>/jobs` with a process.json that this runner does not watch, sorted. */
  async listAdoptable (options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const root = join(this.settings.dataDir, 'jobs')
    let dir
    try {
      dir = await opendir(root)
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return []
      throw err
    }
    const out: string[] = []
    let seen = 0
    for await (const d of dir) {
      options.signal?.throwIfAborted()
      if (++seen > this.settings.maxAdoptScan) {
        this.log.warn({ root, maxAdoptScan: this.settings.maxAdoptScan }, 'too many job dirs; the rest are not looked at')
        break
      }
      if (!d.isDirectory() || !isSafeJobId(d.name) || this.entries.has(d.name)) continue
      const exists = await stat(join(root, d.name, PROCESS_FILE)).then(() => true, () => false)
      if (exists) out.push(join(root, d.name))
    }
    return out.sort()
  }

  /**
   * Forget an ended job's process record so no later runner adopts it again. The JobManager calls
   * this once the end is recorded; logs and outputs stay.
   */
  async release (jobId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (!isSafeJobId(jobId)) throw new JobSpecError(jobId, 'job id is not a safe directory name')
    if (this.entries.has(jobId) || this.starting.has(jobId)) throw new JobSpecError(jobId, 'is still running')
    await rm(this.jobPaths(jobId).processFile, { force: true })
  }

  /**
   * Stop watching. Jobs keep running (to be adopted by the next runner) and their `done`
   * resolves null — unless `killJobs`, which cancels them all and waits (bounded) for their end.
   * Idempotent; later `start`/`adopt` calls reject.
   */
  async stop (options: StopOptions = {}): Promise<void> {
    this.stopping ??= this.doStop(options)
    await this.stopping
  }

  private async doStop (options: StopOptions): Promise<void> {
    await Promise.allSettled([...this.inflight])
    if (options.killJobs === true && this.entries.size > 0) {
      const pending = [...this.entries.values()].map(e => e.job.done)
      for (const jobId of [...this.entries.keys()]) this.cancel(jobId, STOPPING_REASON)
      const t = timeoutSignal(this.clock, this.settings.killGraceMs + 2 * this.settings.adoptPollIntervalMs + STOP_MARGIN_MS)
      try {
        await new Promise<void>((resolve, reject) => {
          t.signal.addEventListener('abort', () => reject(t.signal.reason), { once: true })
          Promise.all(pending).then(() => resolve(), reject)
        })
      } catch (err) {
        this.log.warn({ err, left: this.entries.size }, 'jobs did not end in time while stopping')
      } finally {
        t.clear()
      }
    }
    for (const entry of [...this.entries.values()]) {
      this.clearTimers(entry)
      entry.child?.unref()
      this.entries.delete(entry.record.jobId)
      entry.resolve(null)
    }
    this.listeners.clear()
  }
}

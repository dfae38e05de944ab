/**
 * The worker half of the JobManager: runs the dispatches assigned to this node as real
 * processes and owns their status entries. A dispatch is admitted only through the epoch fence
 * (persisted before the job starts) and only once: the runner writes the job's process record
 * before the process starts, and at start-up every job left in the data dir is re-adopted (or
 * reported ended) before anything new runs. Cancel is a CANCELLED verdict from any node.
 */
import { readFile, stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { timestampMs, type Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { ConfigError, errorMessage } from '../core/errors.js'
import { EpochFence } from '../election/fence.js'
import { holdsEpoch } from '../election/rules.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { JobView } from '../state/jobs.js'
import { MAX_ERROR_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, type Capability, type JobStatus, type SettingValue } from '../state/schema.js'
import type { LocalTables } from '../store/tables.js'
import { SETTING_JOB_COMMANDS } from '../state/settings-registry.js'
import { expandTemplate, resolveCommandTemplate, templateValuesForJob, type CommandTemplateOverrides } from '../jobs/command-template.js'
import type { RunnerKind } from '../jobs/engine-modes.js'
import { resolveEngineMode } from '../jobs/engine-modes.js'
import { JobLimitError } from '../jobs/errors.js'
import { decideAdmission, isLeaderlessOwnJob } from '../jobs/lifecycle.js'
import type { JobResult, JobRunner, RunningJob } from '../jobs/runner.js'
import { DEFAULT_ADMISSION_WAIT_MS, DEFAULT_JOB_HEARTBEAT_INTERVAL_MS, DEFAULT_MAX_PROCESSES_PER_NODE } from '../config/defaults.js'

/** The setting with the users' command templates (by job type; selfplay may be split by runner). */
export { SETTING_JOB_COMMANDS }
/** Name of the file a workload writes its outputs into (in its output dir). */
export const OUTPUTS_FILE = 'outputs.json'
/** Largest outputs file read. */
export const MAX_OUTPUTS_FILE_BYTES = 256 * 1024

export interface JobWorkerComponents {
  state: ClusterState
  /** Resolves once the document's pending updates are durable. */
  flush: () => Promise<void>
  tables: LocalTables
  runner: JobRunner
  voters: () => readonly string[]
  clock: Clock
  logger: Logger
}

export interface JobWorkerInit {
  dataDir: string
  hasGpu: () => boolean
  capabilities: () => readonly Capability[]
  /** @default 32 */
  maxProcesses?: number
  /** @default 60_000 */
  jobHeartbeatIntervalMs?: number
  /** @default 30_000 */
  admissionWaitMs?: number
  /** What a finished job reported. @default reads `<outputDir>/outputs.json` */
  readOutputs?: (result: JobResult) => Promise<string[]>
  /** Which of these data-dir paths are missing here. @default checks the data dir */
  missingInputs?: (paths: readonly string[]) => Promise<string[]>
  /** How long a job waits for its input files (models) to arrive by sync before it is refused. @default 120_000 */
  inputWaitMs?: number
  /**
   * How long a job waits for a free process slot or spawn-rate budget (`jobs.maxProcessesPerNode`,
   * `jobs.spawnRatePerMinute`) before it is refused. Dispatchers stay within what the node
   * admits, so the wait covers only their late view. @default 120_000
   */
  capacityWaitMs?: number
}

/** How long a job waits for capacity by default (below the leader's dispatch timeout of 5 min). @default 120_000 */
export const DEFAULT_CAPACITY_WAIT_MS = 120_000

/** How long a job waits for its input files by default. @default 120_000 */
export const DEFAULT_INPUT_WAIT_MS = 120_000

/** The data-dir files a job reads and the sync must bring first (models of gauntlets, tournaments, exports). */
export function requiredInputs (spec: Readonly<Record<string, unknown>>): string[] {
  return ['modelPath', 'baselineModelPath', 'modelAPath', 'modelBPath']
    .map(k => spec[k])
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
}

/** Paths (relative to `dataDir`) that do not exist there; a path leaving the data dir counts as missing. */
export async function missingInDataDir (dataDir: string, paths: readonly string[]): Promise<string[]> {
  const root = resolve(dataDir)
  const out: string[] = []
  for (const p of paths) {
    const abs = resolve(root, p)
    if (!abs.startsWith(root + sep)) { out.push(p); continue }
    try {
      await stat(abs)
    } catch {
      out.push(p)
    }
  }
  return out
}

/** What a workload reported: the `outputs` list of `<outputDir>/outputs.json`, bounded. */
export async function readOutputs (outputDir: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(join(outputDir, OUTPUTS_FILE), 'utf8')
  } catch {
    return [] // a workload need not report outputs
  }
  if (text.length > MAX_OUTPUTS_FILE_BYTES) return ['error:outputs.json too large']
  try {
    const parsed = JSON.parse(text) as { outputs?: unknown }
    if (!Array.isArray(parsed.outputs)) return ['error:outputs.json has no outputs list']
    return parsed.outputs.filter((o): o is string => typeof o === 'string').slice(0, MAX_LIST_ITEMS).map(o => o.slice(0, MAX_TEXT_CHARS))
  } catch (err) {
    return [`error:outputs.json unreadable: ${errorMessage(err).slice(0, 200)}`]
  }
}

/**
 * The `jobCommands` setting as template overrides: `{type: argv}`, plus `"selfplay:hybrid"` /
 * `"selfplay:gpu"` for a selfplay template per runner (a setting is a flat record, so the runner
 * goes in the key). Entries that are not a non-empty list of strings are ignored.
 */
export function commandOverrides (v: SettingValue | undefined): CommandTemplateOverrides {
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return {}
  const out: Record<string, unknown> = {}
  const perRunner: Partial<Record<RunnerKind, string[]>> = {}
  for (const [key, argv] of Object.entries(v)) {
    if (!(Array.isArray(argv) && argv.length > 0 && argv.every(a => typeof a === 'string'))) continue
    const m = /^selfplay:(hybrid|gpu)$/.exec(key)
    if (m !== null) perRunner[m[1] as RunnerKind] = argv as string[]
    else out[key] = argv
  }
  if (Object.keys(perRunner).length > 0) {
    // a plain "selfplay" list still serves the runner without its own entry
    const plain = out.selfplay as string[] | undefined
    out.selfplay = plain === undefined ? perRunner : { hybrid: plain, gpu: plain, ...perRunner }
  }
  return out as CommandTemplateOverrides
}

export class JobWorker {
  private readonly log: Logger
  private readonly fence: EpochFence
  private readonly maxProcesses: number
  private readonly heartbeatMs: number
  private readonly admissionWaitMs: number
  /** Jobs this process decided on (started, refused, adopted); never decided twice. */
  private readonly handled = new Set<string>()
  private readonly firstSeen = new Map<string, number>()
  private readonly cancelled = new Set<string>()
  /** Jobs waiting for input files, with what they still miss (the SyncPlanner pulls these). */
  readonly waitingInputs = new Map<string, string[]>()
  /** Jobs waiting for a process slot or spawn budget: local mono ms since when. */
  private readonly waitingCapacity = new Map<string, number>()
  private readonly capacityWaitMs: number
  private offEnd: (() => void) | undefined
  private started = false
  /** `deferred`: times a job waited for capacity instead of being refused. */
  counters = { started: 0, refused: 0, completed: 0, failed: 0, adopted: 0, cancelled: 0, deferred: 0 }

  constructor (private readonly c: JobWorkerComponents, private readonly init: JobWorkerInit) {
    this.log = c.logger.child({ component: 'job-worker' })
    this.fence = new EpochFence(c.tables)
    this.maxProcesses = init.maxProcesses ?? DEFAULT_MAX_PROCESSES_PER_NODE
    this.heartbeatMs = init.jobHeartbeatIntervalMs ?? DEFAULT_JOB_HEARTBEAT_INTERVAL_MS
    this.admissionWaitMs = init.admissionWaitMs ?? DEFAULT_ADMISSION_WAIT_MS
    this.capacityWaitMs = init.capacityWaitMs ?? DEFAULT_CAPACITY_WAIT_MS
    if (!(Number.isInteger(this.capacityWaitMs) && this.capacityWaitMs >= 0)) throw new ConfigError('jobWorker.capacityWaitMs', 'an integer ≥ 0', `got ${String(this.capacityWaitMs)}`)
  }

  get jobHeartbeatIntervalMs (): number {
    return this.heartbeatMs
  }

  /** Load the fence and re-adopt every job left in the data dir, before anything new runs. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.fence.load()
    this.offEnd = this.c.runner.onJobEnd(r => { this.onEnd(r).catch((err: unknown) => this.log.error({ err, jobId: r.jobId }, 'recording a job end failed')) })
    for (const dir of await this.c.runner.listAdoptable()) {
      try {
        const outcome = await this.c.runner.adopt(dir)
        const jobId = outcome.status === 'running' ? outcome.job.jobId : outcome.result.jobId
        this.handled.add(jobId)
        this.counters.adopted++
        if (outcome.status === 'running') {
          this.log.info({ jobId, pid: outcome.job.pid }, 're-adopted a job that kept running while the node was down')
          this.writeRunning(outcome.job, this.c.state.job(jobId)?.status?.engineMode ?? null, [])
        } else {
          this.log.warn({ jobId, error: outcome.result.error }, 'a job ended while the node was down')
          await this.onEnd(outcome.result)
        }
      } catch (err) {
        this.log.error({ err, dir }, 'could not re-adopt a job')
      }
    }
  }

  async stop (): Promise<void> {
    this.offEnd?.()
    this.offEnd = undefined
    this.started = false
  }

  /** Decide on new dispatches assigned to us and act on cancellations; cheap when nothing changed. */
  async scan (): Promise<void> {
    if (!this.started) return
    const self = this.c.state.selfId
    const pending = new Set<string>()
    for (const j of this.c.state.jobs()) {
      if (j.dispatch.assignedNode !== self) continue
      if (j.state === 'PENDING') pending.add(j.jobId)
      if (this.c.runner.get(j.jobId) !== undefined) {
        if (j.state === 'CANCELLED' && !this.cancelled.has(j.jobId)) {
          this.cancelled.add(j.jobId)
          const reason = j.verdicts.find(v => v.verdict === 'CANCELLED')?.reason ?? 'cancelled'
          this.log.info({ jobId: j.jobId, reason }, 'cancelling a job')
          this.c.runner.cancel(j.jobId, reason)
          this.counters.cancelled++
        }
        continue
      }
      if (this.handled.has(j.jobId) || j.status !== undefined || j.state !== 'PENDING') continue
      await this.consider(j)
    }
    for (const id of this.waitingCapacity.keys()) if (!pending.has(id)) this.waitingCapacity.delete(id) // cancelled or expired meanwhile
  }

  /** Refresh the job heartbeat of every running job. */
  heartbeat (): void {
    for (const r of this.c.runner.list()) {
      const st = this.c.state.job(r.jobId)?.status
      if (st === undefined || st.state !== 'RUNNING') continue
      this.c.state.setJobStatus({ ...st, heartbeatAt: timestampMs(this.c.clock) })
    }
  }

  private async consider (j: JobView): Promise<void> {
    const d = j.dispatch
    const own = isLeaderlessOwnJob(d, this.c.state.selfId)
    const view = { candidacies: this.c.state.candidacies(), grants: this.c.state.grants(), leases: this.c.state.leases() }
    const holds = own || holdsEpoch(view, this.c.voters(), d.dispatchedBy, d.dispatchEpoch)
    const now = this.c.clock.monoMs()
    if (!holds) {
      // the grants may not have reached us yet: wait a little before refusing
      const first = this.firstSeen.get(j.jobId) ?? now
      this.firstSeen.set(j.jobId, first)
      if (now - first < this.admissionWaitMs) return
    }
    const missing = await (this.init.missingInputs ?? (async (ps: readonly string[]) => await missingInDataDir(this.init.dataDir, ps)))(requiredInputs(d.spec))
    if (holds && missing.length > 0) {
      // the sync brings the models a job needs; wait for them, then refuse
      const first = this.firstSeen.get(j.jobId) ?? now
      this.firstSeen.set(j.jobId, first)
      if (now - first < (this.init.inputWaitMs ?? DEFAULT_INPUT_WAIT_MS)) {
        this.waitingInputs.set(j.jobId, missing)
        return
      }
    }
    this.waitingInputs.delete(j.jobId)
    this.firstSeen.delete(j.jobId)
    if (holds && missing.length > 0) {
      this.handled.add(j.jobId)
      this.refuse(j, `input files did not arrive: ${missing.join(', ').slice(0, 500)}`)
      return
    }
    // capacity is checked apart: a full node makes a job wait, not fail
    const admission = decideAdmission(d, {
      selfId: this.c.state.selfId,
      fenceEpoch: this.fence.epoch,
      dispatcherHoldsEpoch: holds,
      capabilities: this.init.capabilities(),
      runningJobs: 0,
      maxProcesses: this.maxProcesses
    })
    if (admission.ok && this.c.runner.runningCount >= this.maxProcesses) {
      const reason = `no capacity: ${this.c.runner.runningCount} of ${this.maxProcesses} job processes running`
      const since = this.waitingCapacity.get(j.jobId) ?? now
      if (this.waitForCapacity(j, reason)) return
      this.handled.add(j.jobId)
      this.refuse(j, `${reason}; waited ${Math.round((now - since) / 1000)} s`)
      return
    }
    this.handled.add(j.jobId)
    if (!admission.ok) {
      this.refuse(j, admission.reason)
      return
    }
    if (!(await this.fence.admit(d.dispatchEpoch))) {
      this.refuse(j, `dispatch epoch ${d.dispatchEpoch} is below epoch ${this.fence.epoch} already accepted`)
      return
    }
    if (await this.run(j) === 'limit') this.handled.delete(j.jobId) // waits for the spawn window: tried again next scan
  }

  /**
   * Whether a job should keep waiting for a slot or spawn budget (it stays PENDING and is tried at
   * each scan); false once it waited `capacityWaitMs`, and the caller refuses it with `reason`.
   */
  private waitForCapacity (j: JobView, reason: string): boolean {
    const now = this.c.clock.monoMs()
    const since = this.waitingCapacity.get(j.jobId)
    if (since === undefined) {
      this.waitingCapacity.set(j.jobId, now)
      this.counters.deferred++
      this.log.debug({ jobId: j.jobId, reason }, 'job waits for capacity')
      return true
    }
    if (now - since < this.capacityWaitMs) return true
    this.waitingCapacity.delete(j.jobId)
    return false
  }

  /** Start a job; 'limit' when the runner's spawn rate or process cap holds it back and it may wait. */
  private async run (j: JobView): Promise<'limit' | undefined> {
    const d = j.dispatch
    const notes: string[] = []
    let engineMode: string | null = null
    try {
      let runnerKind: 'hybrid' | 'gpu' = 'hybrid'
      if (d.engineMode !== null) {
        const r = resolveEngineMode(d.engineMode, this.init.hasGpu())
        engineMode = r.mode
        runnerKind = r.runner
        if (r.fallback) notes.push(`fallback:${r.reason ?? `${d.engineMode} → ${r.mode}`}`)
      }
      const paths = this.c.runner.jobPaths(d.jobId)
      const template = resolveCommandTemplate(d.type, runnerKind, commandOverrides(this.c.state.setting(SETTING_JOB_COMMANDS)))
      const argv = expandTemplate(template, templateValuesForJob({
        jobId: d.jobId, type: d.type, config: d.config, engineMode: engineMode ?? undefined, runner: runnerKind,
        dataDir: this.init.dataDir, workDir: paths.workDir, outputDir: paths.outputDir, spec: d.spec
      }))
      const job = await this.c.runner.start({ jobId: d.jobId, type: d.type, argv })
      this.counters.started++
      this.waitingCapacity.delete(d.jobId)
      this.writeRunning(job, engineMode, notes)
      this.log.info({ jobId: d.jobId, type: d.type, pid: job.pid, engineMode }, 'job started')
    } catch (err) {
      if (err instanceof JobLimitError) {
        const waited = this.waitingCapacity.get(d.jobId)
        if (this.waitForCapacity(j, errorMessage(err))) return 'limit'
        this.refuse(j, `${errorMessage(err)}; waited ${Math.round((this.c.clock.monoMs() - (waited ?? this.c.clock.monoMs())) / 1000)} s`)
        return
      }
      this.counters.failed++
      this.log.warn({ err, jobId: d.jobId }, 'job could not start')
      this.writeStatus(j, { state: 'FAILED', pid: null, startedAt: null, heartbeatAt: null, endedAt: timestampMs(this.c.clock), exitCode: null, error: errorMessage(err), outputs: notes, engineMode })
    }
  }

  private refuse (j: JobView, reason: string): void {
    this.counters.refused++
    this.log.info({ jobId: j.jobId, reason }, 'dispatch refused')
    this.writeStatus(j, { state: 'REFUSED', pid: null, startedAt: null, heartbeatAt: null, endedAt: timestampMs(this.c.clock), exitCode: null, error: reason.slice(0, MAX_ERROR_CHARS), outputs: [], engineMode: null })
  }

  private writeRunning (job: RunningJob, engineMode: string | null, outputs: string[]): void {
    const now = timestampMs(this.c.clock)
    this.c.state.setJobStatus({
      v: 1, jobId: job.jobId, node: this.c.state.selfId, state: 'RUNNING', pid: job.pid, startedAt: Math.max(0, Math.floor(job.startedAt)),
      heartbeatAt: now, endedAt: null, exitCode: null, error: null, outputs, engineMode
    })
  }

  private writeStatus (j: JobView, s: Omit<JobStatus, 'v' | 'jobId' | 'node'>): void {
    this.c.state.setJobStatus({ v: 1, jobId: j.jobId, node: this.c.state.selfId, ...s })
  }

  private async onEnd (r: JobResult): Promise<void> {
    const prev = this.c.state.job(r.jobId)
    if (prev !== undefined && prev.dispatch.assignedNode === this.c.state.selfId) {
      const ok = r.exitCode === 0 && r.cancelReason === undefined && r.error === undefined
      const outputs = [...(prev.status?.outputs.filter(o => o.startsWith('fallback:')) ?? []), ...(ok ? await (this.init.readOutputs ?? (async (x: JobResult) => await readOutputs(x.outputDir)))(r) : [])].slice(0, MAX_LIST_ITEMS)
      const error = ok ? null : `${r.cancelReason ?? r.error ?? (r.signal !== null ? `killed by ${r.signal}` : `exit code ${String(r.exitCode)}`)}${r.logTail.length > 0 ? `\n${r.logTail}` : ''}`.slice(-MAX_ERROR_CHARS)
      this.c.state.setJobStatus({
        v: 1, jobId: r.jobId, node: this.c.state.selfId, state: ok ? 'COMPLETE' : 'FAILED', pid: r.pid, startedAt: Math.max(0, Math.floor(r.startedAt)),
        heartbeatAt: timestampMs(this.c.clock), endedAt: Math.max(0, Math.floor(r.endedAt)), exitCode: r.exitCode, error, outputs, engineMode: prev.status?.engineMode ?? null
      })
      if (ok) this.counters.completed++
      else this.counters.failed++
      this.log.info({ jobId: r.jobId, exitCode: r.exitCode, ok }, 'job ended')
    } else {
      this.log.warn({ jobId: r.jobId }, 'a job ended whose record is no longer in the document')
    }
    // the status is durable before the process record goes: a crash in between re-adopts, never re-runs
    await this.c.flush()
    await this.c.runner.release(r.jobId)
  }
}

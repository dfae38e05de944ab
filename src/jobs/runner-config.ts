/**
 * The ProcessRunner's settings (init, defaults, validation) and the job spec it accepts.
 * Defaults of the `jobs.*` keys come from config/defaults.ts; the runner's own ones are here.
 */
import { isAbsolute } from 'node:path'
import { ConfigError } from '../core/errors.js'
import { JOB_TYPE_NAMES, type JobTypeName } from '../core/vocabulary.js'
import {
  DEFAULT_KILL_GRACE_MS, DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_PROCESSES_PER_NODE, DEFAULT_MAX_RUNTIME_MS,
  DEFAULT_SPAWN_RATE_PER_MINUTE
} from '../config/defaults.js'
import { DEFAULT_ENV_ALLOW_LIST, ENV_NAME_PATTERN, baseEnv, checkJobEnv } from './env.js'
import { JobSpecError } from './errors.js'
import { JOB_ID_PATTERN } from './records.js'

/** runner.logTailBytes. @default 4_096 */
export const DEFAULT_LOG_TAIL_BYTES = 4_096
/** runner.adoptPollIntervalMs: how often an adopted process is checked. @default 2_000 */
export const DEFAULT_ADOPT_POLL_INTERVAL_MS = 2_000
/** runner.spawnTimeoutMs: longest wait for a supervisor to report the job started. @default 15_000 */
export const DEFAULT_SPAWN_TIMEOUT_MS = 15_000
/** runner.supervisorCloseGraceMs: wait for a finished job's pipes to close. @default 2_000 */
export const DEFAULT_SUPERVISOR_CLOSE_GRACE_MS = 2_000
/** runner.maxAdoptScan: most entries of `<dataDir>/jobs` looked at by `listAdoptable`. @default 10_000 */
export const DEFAULT_MAX_ADOPT_SCAN = 10_000
/** Most argv elements of a job (an expanded template has the same limit). */
export const MAX_ARGV = 256

export interface ProcessRunnerInit {
  /** The node's data dir; jobs run in `<dataDir>/jobs/<jobId>/`. Absolute. */
  dataDir: string
  /** Longest run per job type, merged over the defaults. @default DEFAULT_MAX_RUNTIME_MS */
  maxRuntimeMs?: Partial<Record<JobTypeName, number>>
  /** SIGTERM → SIGKILL delay on cancel. @default 10_000 */
  killGraceMs?: number
  /** Most spawns in any 60 s window. @default 5 */
  spawnRatePerMinute?: number
  /** Most job processes running (started or adopted) at once. @default 32 */
  maxProcessesPerNode?: number
  /** Largest stdout.log / stderr.log, each. @default 10_485_760 */
  maxLogBytes?: number
  /** Size of the log tail in a result. @default 4_096 */
  logTailBytes?: number
  /** The node's variables a job inherits. @default DEFAULT_ENV_ALLOW_LIST */
  envAllowList?: readonly string[]
  /** The node's environment to pick from. @default process.env */
  parentEnv?: Readonly<Record<string, string | undefined>>
  /** How often an adopted process is checked. @default 2_000 */
  adoptPollIntervalMs?: number
  /** Longest wait for a supervisor to report the job started. @default 15_000 */
  spawnTimeoutMs?: number
  /** Wait for a finished job's pipes to close (a leftover grandchild may hold them). @default 2_000 */
  supervisorCloseGraceMs?: number
  /** Most entries of `<dataDir>/jobs` looked at by `listAdoptable`. @default 10_000 */
  maxAdoptScan?: number
}

/** The init with defaults applied and checked. */
export interface RunnerSettings {
  dataDir: string
  maxRuntimeMs: Readonly<Record<JobTypeName, number>>
  killGraceMs: number
  spawnRatePerMinute: number
  maxProcessesPerNode: number
  maxLogBytes: number
  logTailBytes: number
  /** The allow-listed part of the node's environment. */
  baseEnv: Readonly<Record<string, string>>
  adoptPollIntervalMs: number
  spawnTimeoutMs: number
  supervisorCloseGraceMs: number
  maxAdoptScan: number
}

function positiveInt (key: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!(Number.isInteger(value) && value > 0 && value <= max)) throw new ConfigError(key, `an integer in 1..${max}`, `got ${String(value)}`)
  return value
}

/** Apply defaults and check every value; a bad one is a `ConfigError` naming its key. */
export function resolveRunnerInit (init: ProcessRunnerInit): RunnerSettings {
  if (typeof init.dataDir !== 'string' || !isAbsolute(init.dataDir)) throw new ConfigError('node.dataDir', 'an absolute path', `got ${String(init.dataDir)}`)
  const maxRuntimeMs = { ...DEFAULT_MAX_RUNTIME_MS, ...(init.maxRuntimeMs ?? {}) }
  for (const t of JOB_TYPE_NAMES) positiveInt(`jobs.maxRuntimeMs.${t}`, maxRuntimeMs[t])
  const allow = init.envAllowList ?? DEFAULT_ENV_ALLOW_LIST
  const badName = allow.find(n => !ENV_NAME_PATTERN.test(n))
  if (badName !== undefined) throw new ConfigError('runner.envAllowList', 'environment variable names', `got ${JSON.stringify(badName)}`)
  return {
    dataDir: init.dataDir,
    maxRuntimeMs,
    killGraceMs: positiveInt('jobs.killGraceMs', init.killGraceMs ?? DEFAULT_KILL_GRACE_MS),
    spawnRatePerMinute: positiveInt('jobs.spawnRatePerMinute', init.spawnRatePerMinute ?? DEFAULT_SPAWN_RATE_PER_MINUTE, 100_000),
    maxProcessesPerNode: positiveInt('jobs.maxProcessesPerNode', init.maxProcessesPerNode ?? DEFAULT_MAX_PROCESSES_PER_NODE, 100_000),
    maxLogBytes: positiveInt('jobs.maxLogBytes', init.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES),
    logTailBytes: positiveInt('runner.logTailBytes', init.logTailBytes ?? DEFAULT_LOG_TAIL_BYTES, 64 * 1024),
    baseEnv: baseEnv(init.parentEnv ?? process.env, allow),
    adoptPollIntervalMs: positiveInt('runner.adoptPollIntervalMs', init.adoptPollIntervalMs ?? DEFAULT_ADOPT_POLL_INTERVAL_MS),
    spawnTimeoutMs: positiveInt('runner.spawnTimeoutMs', init.spawnTimeoutMs ?? DEFAULT_SPAWN_TIMEOUT_MS),
    supervisorCloseGraceMs: positiveInt('runner.supervisorCloseGraceMs', init.supervisorCloseGraceMs ?? DEFAULT_SUPERVISOR_CLOSE_GRACE_MS),
    maxAdoptScan: positiveInt('runner.maxAdoptScan', init.maxAdoptScan ?? DEFAULT_MAX_ADOPT_SCAN)
  }
}

/** What to run. `argv` is final (see command-template.ts); argv[0] is looked up on the job's PATH. */
export interface JobStartSpec {
  jobId: string
  type: JobTypeName
  argv: readonly string[]
  /** The job's own variables, on top of the allow-listed ones. */
  env?: Readonly<Record<string, string>>
  /** Absolute output dir. @default `<workDir>/out` */
  outputDir?: string
  /** Overrides the per-type maximum runtime for this job. */
  maxRuntimeMs?: number
}

/** True for a job id usable as a work dir name. */
export function isSafeJobId (jobId: string): boolean {
  return JOB_ID_PATTERN.test(jobId) && jobId !== '.' && jobId !== '..'
}

/** Check a spec (a `JobSpecError` says what is wrong) and return its maximum runtime. */
export function checkJobSpec (spec: JobStartSpec, maxRuntimeMs: Readonly<Record<JobTypeName, number>>): number {
  const id = String(spec.jobId)
  if (!isSafeJobId(id)) throw new JobSpecError(id, 'job id is not a safe directory name')
  if (!(JOB_TYPE_NAMES as readonly string[]).includes(spec.type)) throw new JobSpecError(id, `unknown job type ${JSON.stringify(spec.type)}`)
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || spec.argv.length > MAX_ARGV) throw new JobSpecError(id, `argv must have 1..${MAX_ARGV} elements`)
  if (spec.argv.some(a => typeof a !== 'string' || a.includes('\0')) || spec.argv[0] === '') {
    throw new JobSpecError(id, 'argv elements must be strings without NUL, argv[0] non-empty')
  }
  const envProblem = spec.env === undefined ? undefined : checkJobEnv(spec.env)
  if (envProblem !== undefined) throw new JobSpecError(id, envProblem)
  if (spec.outputDir !== undefined && !isAbsolute(spec.outputDir)) throw new JobSpecError(id, `outputDir must be absolute, got ${spec.outputDir}`)
  const max = spec.maxRuntimeMs ?? maxRuntimeMs[spec.type]
  if (!(Number.isInteger(max) && max > 0)) throw new JobSpecError(id, `maxRuntimeMs must be a positive integer, got ${String(max)}`)
  return max
}

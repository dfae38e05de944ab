/**
 * Typed operating errors of the job layer, told apart by `.name` (and `.code`). The JobManager
 * turns them into a REFUSED or FAILED job record; none of them is a programmer error.
 */
import { RiftmeshError } from '../core/errors.js'

/** An engine mode name that is not one of `ENGINE_MODES`. */
export class UnknownEngineModeError extends RiftmeshError {
  readonly mode: string
  constructor (mode: string) {
    super(`unknown engine mode ${JSON.stringify(mode)}`, 'ERR_UNKNOWN_ENGINE_MODE')
    this.name = 'UnknownEngineModeError'
    this.mode = mode
  }
}

/**
 * A command template could not be expanded: an unknown placeholder, a placeholder without a
 * value, a malformed brace, or a template/value over its limit. `placeholder` names it when
 * there is one.
 */
export class TemplateError extends RiftmeshError {
  readonly placeholder: string | undefined
  constructor (message: string, placeholder?: string) {
    super(message, 'ERR_TEMPLATE')
    this.name = 'TemplateError'
    this.placeholder = placeholder
  }
}

/** A job spec the runner cannot run as given (bad job id, bad env var name, relative path, ...). */
export class JobSpecError extends RiftmeshError {
  readonly jobId: string
  constructor (jobId: string, message: string) {
    super(`job ${jobId}: ${message}`, 'ERR_JOB_SPEC')
    this.name = 'JobSpecError'
    this.jobId = jobId
  }
}

/** The node-level limits a start can hit. */
export type JobLimit = 'spawnRatePerMinute' | 'maxProcessesPerNode'

/** A start was refused because a node limit is reached; `limit` says which. Nothing was spawned. */
export class JobLimitError extends RiftmeshError {
  readonly jobId: string
  readonly limit: JobLimit
  readonly value: number
  constructor (jobId: string, limit: JobLimit, value: number) {
    const what = limit === 'spawnRatePerMinute'
      ? `spawn rate limit reached (${value} per minute)`
      : `process cap reached (${value} running)`
    super(`job ${jobId}: ${what}`, 'ERR_JOB_LIMIT')
    this.name = 'JobLimitError'
    this.jobId = jobId
    this.limit = limit
    this.value = value
  }
}

/**
 * The job's process could not be started (executable not found, not executable, the supervisor
 * did not report in time, the process record could not be written). `syscallCode` is the
 * errno name (ENOENT, EACCES, ...) when the OS gave one.
 */
export class SpawnError extends RiftmeshError {
  readonly jobId: string
  readonly syscallCode: string | undefined
  constructor (jobId: string, message: string, syscallCode?: string, options?: { cause?: unknown }) {
    super(`job ${jobId}: spawn failed: ${message}`, 'ERR_SPAWN', options)
    this.name = 'SpawnError'
    this.jobId = jobId
    this.syscallCode = syscallCode
  }
}

/** A work dir cannot be adopted: its process record is missing or unreadable, or the platform cannot check it. */
export class AdoptError extends RiftmeshError {
  readonly workDir: string
  constructor (workDir: string, message: string, options?: { cause?: unknown }) {
    super(`adopt ${workDir}: ${message}`, 'ERR_ADOPT', options)
    this.name = 'AdoptError'
    this.workDir = workDir
  }
}

/** The OS could not be asked about a process (unreadable /proc entry, `ps` failed or timed out). */
export class ProcessProbeError extends RiftmeshError {
  readonly pid: number
  constructor (pid: number, message: string, options?: { cause?: unknown }) {
    super(`cannot probe process ${pid}: ${message}`, 'ERR_PROCESS_PROBE', options)
    this.name = 'ProcessProbeError'
    this.pid = pid
  }
}

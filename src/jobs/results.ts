/**
 * How a job ended, put together from what is known: the supervisor's exit.json when there is one
 * (exact exit code or signal, log tails), else what the runner saw of the supervisor itself, else
 * nothing — then the result says the exit status is unknown and why.
 */
import { stat } from 'node:fs/promises'
import type { Logger } from '../core/logger.js'
import type { JobTypeName } from '../core/vocabulary.js'
import type { ExitInfo } from './launch.js'
import { exitRecordSchema, readFileTail, readRecord, type ExitRecord, type JobPaths, type ProcessRecord } from './records.js'

export interface JobResult {
  jobId: string
  type: JobTypeName
  /** Pid of the group leader (the supervisor). */
  pid: number
  startedAt: number
  /** When it ended: seen by this runner, or the time the supervisor wrote exit.json (adopted). */
  endedAt: number
  /** The job's exit code; null when it died of a signal or the code is unknown. */
  exitCode: number | null
  signal: string | null
  /** False when nothing recorded how the job ended (see `error`). */
  exitKnown: boolean
  /** Why the runner ended the job ('max runtime', 'node stopping', or the caller's reason). */
  cancelReason?: string
  /** What else is known to have gone wrong: the job could not be started, exit status unknown, ... */
  error?: string
  /** Last `logTailBytes` of stderr, or of stdout when stderr is empty. */
  logTail: string
  adopted: boolean
  workDir: string
  outputDir: string
}

/** How the end was seen, for a result without an exit record. */
export interface EndSeen {
  /** The supervisor's own exit status (only for our own children). */
  exit?: ExitInfo
  endedAt: number
  /** The error text when nothing tells the exit status. */
  unknownReason: string
}

export interface ResultContext {
  record: ProcessRecord
  paths: JobPaths
  cancelReason: string | undefined
  adopted: boolean
  logTailBytes: number
  log: Logger
}

async function readExit (ctx: ResultContext): Promise<{ rec: ExitRecord, mtimeMs: number } | undefined> {
  const { paths, record, log } = ctx
  try {
    const rec = await readRecord(paths.exitFile, exitRecordSchema)
    if (rec === undefined) return undefined
    if (rec.jobId !== record.jobId) {
      log.warn({ jobId: record.jobId, found: rec.jobId }, 'exit record names another job; ignored')
      return undefined
    }
    return { rec, mtimeMs: Math.floor((await stat(paths.exitFile)).mtimeMs) }
  } catch (err) {
    log.warn({ err, jobId: record.jobId }, 'unreadable exit record; ignored')
    return undefined
  }
}

async function fileTail (ctx: ResultContext, path: string): Promise<string> {
  return await readFileTail(path, ctx.logTailBytes).catch((err: unknown) => {
    ctx.log.warn({ err, path }, 'cannot read log tail')
    return ''
  })
}

/** The stderr tail, or the stdout tail when stderr has nothing, cut to `maxChars`. */
export function pickTail (stderr: string, stdout: string, maxChars: number): string {
  const t = stderr.trim() !== '' ? stderr : stdout
  return t.length > maxChars ? t.slice(t.length - maxChars) : t
}

/** The result of an ended job. Never throws: whatever cannot be read is reported as unknown. */
export async function buildResult (ctx: ResultContext, seen: EndSeen): Promise<JobResult> {
  const { record, paths, cancelReason } = ctx
  const base = {
    jobId: record.jobId,
    type: record.type,
    pid: record.pid,
    startedAt: record.startedAt,
    adopted: ctx.adopted,
    workDir: paths.workDir,
    outputDir: paths.outputDir,
    ...(cancelReason !== undefined ? { cancelReason } : {})
  }
  const found = await readExit(ctx)
  if (found !== undefined) {
    const { rec } = found
    return {
      ...base,
      endedAt: seen.exit !== undefined ? seen.endedAt : found.mtimeMs,
      exitCode: rec.exitCode,
      signal: rec.signal,
      exitKnown: rec.error === null,
      ...(rec.error !== null ? { error: rec.error } : {}),
      logTail: pickTail(rec.stderrTail, rec.stdoutTail, ctx.logTailBytes)
    }
  }
  const logTail = pickTail(await fileTail(ctx, paths.stderrLog), await fileTail(ctx, paths.stdoutLog), ctx.logTailBytes)
  const exit = seen.exit
  if (exit !== undefined && exit.signal !== null) {
    // The group was killed by a signal (our SIGKILL, or the OOM killer): the job went with it.
    return { ...base, endedAt: seen.endedAt, exitCode: null, signal: exit.signal, exitKnown: true, logTail }
  }
  if (exit !== undefined) {
    const error = `${seen.unknownReason}; exit code ${String(exit.code)} is the supervisor's`
    return { ...base, endedAt: seen.endedAt, exitCode: exit.code, signal: null, exitKnown: false, error, logTail }
  }
  return { ...base, endedAt: seen.endedAt, exitCode: null, signal: null, exitKnown: false, error: seen.unknownReason, logTail }
}

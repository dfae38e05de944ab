/**
 * The small files a job's work dir holds besides its logs, and how they are written and read:
 *   `<dataDir>/jobs/<jobId>/`   work dir (the job's cwd)
 *     process.json   who runs the job: written atomically by the runner before the job starts
 *     launch.json    what the supervisor must run (argv, env, log paths, limits)
 *     exit.json      how the job ended: written atomically by the supervisor when it ends
 *     stdout.log / stderr.log / supervisor.log, and `out/` (default output dir)
 * Every file read here is size-bounded and validated; a bad file is an error, never trusted.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { JOB_TYPE_NAMES } from '../core/vocabulary.js'

export const PROCESS_FILE = 'process.json'
export const EXIT_FILE = 'exit.json'
export const LAUNCH_FILE = 'launch.json'
export const SUPERVISOR_FILE = 'supervisor.cjs'
export const STDOUT_LOG = 'stdout.log'
export const STDERR_LOG = 'stderr.log'
export const SUPERVISOR_LOG = 'supervisor.log'
export const DEFAULT_OUTPUT_SUBDIR = 'out'
/** Largest process.json / exit.json read back (an exit record holds two log tails, JSON-escaped). */
export const MAX_RECORD_BYTES = 1024 * 1024

/** A job id is one path segment: it names the job's work dir. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$/

export interface JobPaths {
  workDir: string
  outputDir: string
  processFile: string
  exitFile: string
  launchFile: string
  supervisorFile: string
  stdoutLog: string
  stderrLog: string
  supervisorLog: string
}

/** Where a job's files live. `outputDir` defaults to `<workDir>/out`. */
export function jobPaths (dataDir: string, jobId: string, outputDir?: string): JobPaths {
  const workDir = join(dataDir, 'jobs', jobId)
  return workPaths(workDir, outputDir)
}

/** The file paths inside a given work dir. */
export function workPaths (workDir: string, outputDir?: string): JobPaths {
  return {
    workDir,
    outputDir: outputDir ?? join(workDir, DEFAULT_OUTPUT_SUBDIR),
    processFile: join(workDir, PROCESS_FILE),
    exitFile: join(workDir, EXIT_FILE),
    launchFile: join(workDir, LAUNCH_FILE),
    supervisorFile: join(workDir, SUPERVISOR_FILE),
    stdoutLog: join(workDir, STDOUT_LOG),
    stderrLog: join(workDir, STDERR_LOG),
    supervisorLog: join(workDir, SUPERVISOR_LOG)
  }
}

const pid = z.number().int().min(2)
const ms = z.number().int().nonnegative()

/** process.json: enough to find the job's process again after a restart, and to be sure it is the same one. */
export const processRecordSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().regex(JOB_ID_PATTERN),
  type: z.enum(JOB_TYPE_NAMES),
  /** The group leader: the job's supervisor process. */
  pid,
  /** Process group of the job (= pid): signals go to the whole group. */
  pgid: pid,
  /** Start time of `pid` (Linux: clock ticks since boot; darwin: `ps` lstart). */
  processStartTime: z.string().min(1).max(64),
  platform: z.string().max(32),
  /** Wall-clock time the runner started the job. */
  startedAt: ms,
  maxRuntimeMs: z.number().int().positive(),
  outputDir: z.string().min(1).max(4096)
})
export type ProcessRecord = z.infer<typeof processRecordSchema>

/** exit.json: what the supervisor saw when the job's process ended. */
export const exitRecordSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().regex(JOB_ID_PATTERN),
  /** The job's own process (child of the supervisor); null if it never started. */
  jobPid: z.number().int().positive().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  /** Set when the job could not be started or the supervisor hit a problem. */
  error: z.string().max(4096).nullable(),
  stdoutTail: z.string().max(64 * 1024),
  stderrTail: z.string().max(64 * 1024)
})
export type ExitRecord = z.infer<typeof exitRecordSchema>

/** launch.json: the supervisor's instructions. */
export interface LaunchRecord {
  v: 1
  jobId: string
  argv: string[]
  env: Record<string, string>
  cwd: string
  stdoutPath: string
  stderrPath: string
  exitPath: string
  maxLogBytes: number
  tailBytes: number
  marker: string
  closeGraceMs: number
}

/** Write a file so that a reader sees the old content or the new, never a part: tmp + fsync + rename + fsync(dir). */
export async function writeFileAtomic (path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

export async function writeJsonAtomic (path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value) + '\n')
}

/**
 * Read and validate a JSON record. Returns undefined when the file does not exist; throws on a
 * file over `MAX_RECORD_BYTES`, bad JSON or a failed validation.
 */
export async function readRecord<T> (path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined
    throw err
  }
  if (size > MAX_RECORD_BYTES) throw new RangeError(`${path} is ${size} bytes, more than ${MAX_RECORD_BYTES}`)
  const text = await readFile(path, 'utf8')
  return schema.parse(JSON.parse(text))
}

/** The last `maxBytes` of a file as text ('' if it does not exist). */
export async function readFileTail (path: string, maxBytes: number): Promise<string> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return ''
    throw err
  }
  try {
    const { size } = await fh.stat()
    const length = Math.min(size, maxBytes)
    const buf = Buffer.alloc(length)
    const { bytesRead } = await fh.read(buf, 0, length, size - length)
    return buf.subarray(0, bytesRead).toString('utf8')
  } finally {
    await fh.close()
  }
}

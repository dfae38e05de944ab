/**
 * Starting one job under its supervisor: prepare the work dir, spawn the supervisor detached
 * (its own process group and session), persist process.json, then tell it to start the job and
 * wait for its report. The job never runs unless its process record is durable, so a node that
 * crashes at any point can always find (adopt) what it started.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, open, rm, writeFile } from 'node:fs/promises'
import type { Duplex } from 'node:stream'
import { timeoutSignal, type Clock } from '../core/clock.js'
import { errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { SpawnError } from './errors.js'
import { probeProcess, signalGroup } from './proc.js'
import { readFileTail, writeJsonAtomic, type JobPaths, type LaunchRecord, type ProcessRecord } from './records.js'
import { SUPERVISOR_SOURCE, parseSupervisorReport } from './supervisor.js'

/** Longest report line read from a supervisor. */
const MAX_REPORT_CHARS = 4_096

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface LaunchInput {
  jobId: string
  paths: JobPaths
  argv: readonly string[]
  jobEnv: Record<string, string>
  supervisorEnv: Record<string, string>
  maxLogBytes: number
  tailBytes: number
  closeGraceMs: number
  spawnTimeoutMs: number
  /** The process record to persist, given the supervisor's pid and start time. */
  record: (pid: number, startTime: string) => ProcessRecord
}

export interface Launched {
  child: ChildProcess
  record: ProcessRecord
  jobPid: number
  /** Resolves when the supervisor (the group leader) exits; never rejects. */
  exited: Promise<ExitInfo>
}

/** The marker written once into a log that reached its limit. */
export function truncationMarker (maxLogBytes: number): string {
  return `\n[riftmesh: log limit of ${maxLogBytes} bytes reached; further output dropped]\n`
}

async function prepare (input: LaunchInput): Promise<void> {
  const { paths } = input
  await mkdir(paths.workDir, { recursive: true, mode: 0o700 })
  await mkdir(paths.outputDir, { recursive: true })
  // A record left by an earlier attempt in the same dir must not describe this run.
  await rm(paths.processFile, { force: true })
  await rm(paths.exitFile, { force: true })
  await writeFile(paths.supervisorFile, SUPERVISOR_SOURCE, { mode: 0o600 })
  const launch: LaunchRecord = {
    v: 1,
    jobId: input.jobId,
    argv: [...input.argv],
    env: input.jobEnv,
    cwd: paths.workDir,
    stdoutPath: paths.stdoutLog,
    stderrPath: paths.stderrLog,
    exitPath: paths.exitFile,
    maxLogBytes: input.maxLogBytes,
    tailBytes: input.tailBytes,
    marker: truncationMarker(input.maxLogBytes),
    closeGraceMs: input.closeGraceMs
  }
  await writeJsonAtomic(paths.launchFile, launch)
}

/** Spawn the supervisor, detached, with its stderr appended to supervisor.log. */
async function spawnSupervisor (input: LaunchInput): Promise<ChildProcess> {
  const log = await open(input.paths.supervisorLog, 'a', 0o600)
  try {
    const child = spawn(process.execPath, [input.paths.supervisorFile, input.paths.launchFile], {
      cwd: input.paths.workDir,
      env: input.supervisorEnv,
      detached: true,
      stdio: ['ignore', 'ignore', log.fd, 'pipe']
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    return child
  } finally {
    await log.close()
  }
}

/** The first line the supervisor writes, or undefined if it closed the channel without one. */
async function readReport (sock: Duplex, signal: AbortSignal): Promise<string | undefined> {
  return await new Promise<string | undefined>((resolve, reject) => {
    let buf = ''
    const done = (v: string | undefined): void => {
      signal.removeEventListener('abort', onAbort)
      resolve(v)
    }
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl >= 0) done(buf.slice(0, nl))
      else if (buf.length > MAX_REPORT_CHARS) done(buf.slice(0, MAX_REPORT_CHARS))
    })
    sock.on('close', () => done(buf === '' ? undefined : buf))
    if (sock.destroyed) done(undefined)
  })
}

/**
 * Start a job under a supervisor. Resolves once the job's own process runs; every failure is a
 * `SpawnError` and leaves nothing running (the supervisor's group is killed, process.json removed).
 */
export async function launchSupervised (input: LaunchInput, components: { clock: Clock, log: Logger }): Promise<Launched> {
  const { jobId, paths } = input
  const { clock, log } = components
  try {
    await prepare(input)
  } catch (err) {
    throw new SpawnError(jobId, `cannot prepare ${paths.workDir}: ${errorMessage(err)}`, (err as { code?: string }).code, { cause: err })
  }
  let child: ChildProcess
  try {
    child = await spawnSupervisor(input)
  } catch (err) {
    throw new SpawnError(jobId, `cannot start the supervisor: ${errorMessage(err)}`, (err as { code?: string }).code, { cause: err })
  }
  child.on('error', err => log.warn({ err, jobId }, 'job supervisor process error'))
  const exited = new Promise<ExitInfo>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  const pid = child.pid
  const sock = child.stdio[3] as Duplex | null | undefined
  if (pid === undefined || sock === null || sock === undefined) {
    child.kill('SIGKILL')
    throw new SpawnError(jobId, 'the supervisor has no pid or control channel')
  }
  sock.on('error', err => log.debug({ err, jobId }, 'supervisor control channel error'))
  const abandon = async (message: string, code?: string, cause?: unknown): Promise<never> => {
    sock.destroy()
    signalGroup(pid, 'SIGKILL')
    await rm(paths.processFile, { force: true })
    throw new SpawnError(jobId, message, code, { cause })
  }

  let record: ProcessRecord
  try {
    const probe = await probeProcess(pid, clock)
    if (probe.state !== 'alive' || probe.startTime === undefined) {
      return await abandon(`the supervisor (pid ${pid}) is ${probe.state} or its start time is unknown`)
    }
    record = input.record(pid, probe.startTime)
    await writeJsonAtomic(paths.processFile, record)
  } catch (err) {
    if (err instanceof SpawnError) throw err
    return await abandon(`cannot record the process: ${errorMessage(err)}`, undefined, err)
  }

  const deadline = timeoutSignal(clock, input.spawnTimeoutMs)
  let line: string | undefined
  try {
    sock.write('go\n')
    line = await readReport(sock, deadline.signal)
  } catch (err) {
    return await abandon(`the supervisor did not report within ${input.spawnTimeoutMs} ms`, undefined, err)
  } finally {
    deadline.clear()
  }
  sock.destroy()
  const report = line === undefined ? undefined : parseSupervisorReport(line)
  if (report === undefined) {
    const tail = await readFileTail(paths.supervisorLog, 1_024).catch((err: unknown) => `(unreadable: ${errorMessage(err)})`)
    return await abandon(`the supervisor ended without a report${line !== undefined ? ` (sent ${JSON.stringify(line.slice(0, 200))})` : ''}; supervisor.log: ${tail.trim()}`)
  }
  if (!report.ok) {
    return await abandon(report.message, report.code ?? undefined)
  }
  return { child, record, jobPid: report.pid, exited }
}

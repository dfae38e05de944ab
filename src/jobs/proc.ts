/**
 * What the OS says about a process: alive, zombie or gone, and its start time — the start time
 * tells a process from a later one that got the same (recycled) pid. POSIX only; the start time
 * is read on Linux (field 22 of /proc/<pid>/stat, clock ticks since boot) and darwin
 * (`ps -o lstart=`, one-second resolution). Elsewhere it is unknown and adoption is refused.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { timeoutSignal, type Clock } from '../core/clock.js'
import { errorMessage } from '../core/errors.js'
import { ProcessProbeError } from './errors.js'

export type ProcessState = 'alive' | 'zombie' | 'gone'

export interface ProcessProbe {
  state: ProcessState
  /** Opaque start-time token; undefined when the process is gone or the platform cannot tell. */
  startTime: string | undefined
}

/** Longest a `ps` call may take on darwin. */
export const PS_TIMEOUT_MS = 5_000

/** True on platforms where a process start time can be read. */
export function canReadStartTime (platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' || platform === 'darwin'
}

/**
 * Fields of a /proc/<pid>/stat line: the state (field 3) and the start time (field 22). The
 * command name (field 2) is in parentheses and may itself hold spaces and parentheses, so the
 * fields are counted from the last ')'.
 */
export function parseProcStat (line: string): { state: string, startTime: string } | undefined {
  const close = line.lastIndexOf(')')
  if (close < 0) return undefined
  const rest = line.slice(close + 1).trim().split(/\s+/)
  const state = rest[0]
  const startTime = rest[22 - 3]
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined
  return { state, startTime }
}

function isErrno (err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

/** Whether a process with this pid exists (a zombie counts: use `probeProcess` to tell). */
export function pidExists (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    if (isErrno(err, 'EPERM')) return true // exists, owned by someone else
    if (isErrno(err, 'ESRCH')) return false
    throw err
  }
}

async function probeLinux (pid: number): Promise<ProcessProbe> {
  let line: string
  try {
    line = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return { state: 'gone', startTime: undefined }
    throw err
  }
  const f = parseProcStat(line)
  if (f === undefined) throw new ProcessProbeError(pid, `unparseable /proc/${pid}/stat: ${line.slice(0, 200)}`)
  const state = f.state === 'Z' || f.state === 'X' || f.state === 'x' ? 'zombie' : 'alive'
  return { state, startTime: f.startTime }
}

async function probeDarwin (pid: number, clock: Clock): Promise<ProcessProbe> {
  const t = timeoutSignal(clock, PS_TIMEOUT_MS)
  try {
    const out = await new Promise<string | undefined>((resolve, reject) => {
      execFile('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { signal: t.signal, encoding: 'utf8' }, (err, stdout) => {
        if (err === null) resolve(stdout)
        else if (typeof err.code === 'number' && err.code === 1) resolve(undefined) // no such process
        else reject(err)
      })
    })
    const text = out?.trim() ?? ''
    if (text === '') return { state: 'gone', startTime: undefined }
    const m = /^(\S+)\s+(.+)$/.exec(text)
    if (m === null || m[1] === undefined || m[2] === undefined) throw new ProcessProbeError(pid, `unparseable ps output: ${text.slice(0, 200)}`)
    return { state: m[1].startsWith('Z') ? 'zombie' : 'alive', startTime: m[2].replace(/\s+/g, ' ') }
  } finally {
    t.clear()
  }
}

/** Probe a process: alive / zombie / gone, with its start time where the platform can tell. */
export async function probeProcess (pid: number, clock: Clock): Promise<ProcessProbe> {
  if (!(Number.isInteger(pid) && pid > 0)) throw new RangeError(`not a pid: ${pid}`)
  try {
    if (process.platform === 'linux') return await probeLinux(pid)
    if (process.platform === 'darwin') return await probeDarwin(pid, clock)
  } catch (err) {
    if (err instanceof ProcessProbeError) throw err
    throw new ProcessProbeError(pid, errorMessage(err), { cause: err })
  }
  return { state: pidExists(pid) ? 'alive' : 'gone', startTime: undefined }
}

export type SignalOutcome = 'sent' | 'gone' | 'denied'

/**
 * Send a signal to a whole process group. Group ids 0 and 1 (our own group, every process) are
 * refused outright: they can only come from a bug.
 */
export function signalGroup (pgid: number, signal: NodeJS.Signals | 0): SignalOutcome {
  if (!(Number.isInteger(pgid) && pgid > 1)) throw new RangeError(`refusing to signal process group ${pgid}`)
  try {
    process.kill(-pgid, signal)
    return 'sent'
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return 'gone'
    if (isErrno(err, 'EPERM')) return 'denied'
    throw err
  }
}

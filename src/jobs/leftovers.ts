/**
 * The job processes a data dir's records say still run, and stopping them. A node leaves its
 * jobs running when it stops (a restarted node re-adopts them); whoever ends a node for good —
 * the local demo cluster, a test — uses this to stop what that node started, also when the node
 * itself is already gone: every job's process.json is durable before the job runs.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sleep, type Clock } from '../core/clock.js'
import { probeProcess, signalGroup } from './proc.js'
import { jobPaths, processRecordSchema, readRecord } from './records.js'

/** Most job dirs looked at in one data dir; the rest are not stopped. @default 10_000 */
export const MAX_JOB_DIRS_SCANNED = 10_000
/** How often a stop looks whether the signalled groups are gone. @default 100 */
export const LEFTOVER_POLL_MS = 100

export interface RunningJob {
  jobId: string
  /** The job's process group (its supervisor's pid). */
  pgid: number
}

/**
 * The jobs under `<dataDir>/jobs/` whose process still runs: the pid in process.json is alive
 * and started when the record says (not a later process that got the same pid). A record that
 * cannot be read counts as not running.
 */
export async function runningJobs (dataDir: string, clock: Clock): Promise<RunningJob[]> {
  let names: string[]
  try {
    names = await readdir(join(dataDir, 'jobs'))
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return []
    throw err
  }
  const found: RunningJob[] = []
  for (const jobId of names.slice(0, MAX_JOB_DIRS_SCANNED)) {
    const record = await readRecord(jobPaths(dataDir, jobId).processFile, processRecordSchema).catch(() => undefined)
    if (record === undefined) continue
    const probe = await probeProcess(record.pid, clock).catch(() => undefined)
    if (probe?.state === 'alive' && probe.startTime === record.processStartTime) found.push({ jobId: record.jobId, pgid: record.pgid })
  }
  return found
}

/**
 * SIGTERM each job's process group, and SIGKILL the groups whose leader (the job's supervisor)
 * is still alive after `graceMs`. When a leader is gone, whatever is left of its group is killed
 * at once. Resolves once every leader is gone, or `graceMs` after the SIGKILL at the latest.
 */
export async function stopJobs (jobs: readonly RunningJob[], options: { clock: Clock, graceMs: number }): Promise<void> {
  const { clock, graceMs } = options
  let left = jobs.filter(j => signalGroup(j.pgid, 'SIGTERM') === 'sent')
  const started = clock.monoMs()
  let killed = false
  while (left.length > 0 && clock.monoMs() - started < 2 * graceMs) {
    await sleep(clock, LEFTOVER_POLL_MS)
    const still: RunningJob[] = []
    for (const j of left) {
      // a leader that exited is a zombie until reaped, and a zombie still belongs to its group
      const probe = await probeProcess(j.pgid, clock).catch(() => undefined)
      if (probe?.state === 'alive') still.push(j)
      else if (signalGroup(j.pgid, 0) === 'sent') signalGroup(j.pgid, 'SIGKILL')
    }
    left = still
    if (!killed && left.length > 0 && clock.monoMs() - started >= graceMs) {
      for (const j of left) signalGroup(j.pgid, 'SIGKILL')
      killed = true
    }
  }
}

/**
 * Finding the job processes a data dir's records say still run, and stopping them (what the demo
 * does after its nodes stop), on real processes in groups of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { SystemClock } from '../../../src/core/clock.js'
import { runningJobs, stopJobs } from '../../../src/jobs/leftovers.js'
import { probeProcess, signalGroup } from '../../../src/jobs/proc.js'
import { jobPaths, writeJsonAtomic, type ProcessRecord } from '../../../src/jobs/records.js'
import { tempDir } from '../../helpers.js'

const clock = new SystemClock()
const started: ChildProcess[] = []
const dirs: Array<() => Promise<void>> = []

/** A process group: a shell that ignores SIGTERM (or not), and its child `sleep`, whose pid it prints. */
async function group (ignoreTerm: boolean): Promise<{ leader: ChildProcess, childPid: number }> {
  const leader = spawn('/bin/sh', ['-c', `${ignoreTerm ? 'trap "" TERM; ' : ''}sleep 60 & echo $!; wait`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
  started.push(leader)
  const childPid = await new Promise<number>(resolve => leader.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))))
  return { leader, childPid }
}

/** Write the process.json a runner would write for `pid`, with its start time or another. */
async function record (dataDir: string, jobId: string, pid: number, startTime?: string): Promise<void> {
  const paths = jobPaths(dataDir, jobId)
  await mkdir(paths.workDir, { recursive: true })
  const probe = await probeProcess(pid, clock)
  const rec: ProcessRecord = {
    v: 1, jobId, type: 'selfplay', pid, pgid: pid, processStartTime: startTime ?? probe.startTime ?? 'unknown',
    platform: process.platform, startedAt: 1, maxRuntimeMs: 60_000, outputDir: paths.outputDir
  }
  await writeJsonAtomic(paths.processFile, rec)
}

async function dataDir (): Promise<string> {
  const { dir, cleanup } = await tempDir('riftmesh-leftovers-test-')
  dirs.push(cleanup)
  return dir
}

afterEach(async () => {
  for (const c of started.splice(0)) if (c.pid !== undefined) signalGroup(c.pid, 'SIGKILL')
  for (const cleanup of dirs.splice(0)) await cleanup()
})

describe('job leftovers', () => {
  it.runIf(process.platform === 'linux')('finds the jobs whose recorded process still runs, not a gone one nor a reused pid', async () => {
    const dir = await dataDir()
    const { leader: live } = await group(false)
    const { leader: gone } = await group(false)
    const { leader: reused } = await group(false)
    await record(dir, 'live', live.pid as number)
    await record(dir, 'gone', gone.pid as number)
    await record(dir, 'reused', reused.pid as number, '1') // a process that started at another time
    await mkdir(jobPaths(dir, 'no-record').workDir, { recursive: true })
    signalGroup(gone.pid as number, 'SIGKILL')
    await new Promise(resolve => gone.once('exit', resolve))
    expect(await runningJobs(dir, clock)).toEqual([{ jobId: 'live', pgid: live.pid }])
    expect(await runningJobs(`${dir}/nothing-here`, clock)).toEqual([])
  })

  it.runIf(process.platform === 'linux')('stops each job group with SIGTERM, and with SIGKILL one that ignores it after the grace time', async () => {
    const dir = await dataDir()
    const polite = await group(false)
    const stubborn = await group(true)
    await record(dir, 'polite', polite.leader.pid as number)
    await record(dir, 'stubborn', stubborn.leader.pid as number)
    const exits = [polite, stubborn].map(async g => await new Promise<NodeJS.Signals | null>(resolve => g.leader.once('exit', (_code, sig) => resolve(sig))))
    await stopJobs(await runningJobs(dir, clock), { clock, graceMs: 500 })
    expect(await Promise.all(exits)).toEqual(['SIGTERM', 'SIGKILL'])
    // the children too (a zombie waiting for init to reap it is not alive)
    for (const g of [polite, stubborn]) expect((await probeProcess(g.childPid, clock)).state).not.toBe('alive')
    expect(await runningJobs(dir, clock)).toEqual([])
  })
})

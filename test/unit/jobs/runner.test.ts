import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SystemClock, VirtualClock, timeoutSignal, type Clock } from '../../../src/core/clock.js'
import { NotStartedError } from '../../../src/core/errors.js'
import { silentLogger } from '../../../src/core/logger.js'
import { AdoptError, JobLimitError, JobSpecError, SpawnError } from '../../../src/jobs/errors.js'
import { truncationMarker } from '../../../src/jobs/launch.js'
import { probeProcess, signalGroup } from '../../../src/jobs/proc.js'
import { PROCESS_FILE, type ProcessRecord } from '../../../src/jobs/records.js'
import { ProcessRunner, type JobResult, type ProcessRunnerInit } from '../../../src/jobs/runner.js'
import { tempDir } from '../../helpers.js'

const clock = new SystemClock()
const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A job that runs `script` with this Node. */
function node (script: string): string[] {
  return [process.execPath, '-e', script]
}

/** Wait for `p`, failing the test after `ms`. */
async function within<T> (p: Promise<T>, ms = 15_000): Promise<T> {
  const t = timeoutSignal(clock, ms)
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      t.signal.addEventListener('abort', () => reject(new Error(`no result within ${ms} ms`)), { once: true })
    })])
  } finally {
    t.clear()
  }
}

async function ended (done: Promise<JobResult | null>): Promise<JobResult> {
  const r = await within(done)
  if (r === null) throw new Error('job was detached, not ended')
  return r
}

async function readText (path: string): Promise<string> {
  return await readFile(path, 'utf8').catch(() => '')
}

async function isGone (pid: number): Promise<boolean> {
  return (await probeProcess(pid, clock)).state !== 'alive'
}

async function makeRunner (init: Partial<ProcessRunnerInit> = {}, c: Clock = clock, dataDir?: string): Promise<{ runner: ProcessRunner, dataDir: string }> {
  let dir = dataDir
  if (dir === undefined) {
    const t = await tempDir('riftmesh-runner-')
    cleanups.push(t.cleanup)
    dir = t.dir
  }
  const runner = new ProcessRunner({ clock: c, logger: silentLogger() }, {
    dataDir: dir, killGraceMs: 300, adoptPollIntervalMs: 100, supervisorCloseGraceMs: 500, ...init
  })
  cleanups.push(async () => { await runner.stop({ killJobs: true }) })
  return { runner, dataDir: dir }
}

/** Script fragment: print `ready` once the job has set itself up. */
const READY = 'process.stdout.write("ready\\n");'
/** Script fragment: run until killed (or a minute, should a test leak it). */
const FOREVER = 'setInterval(() => {}, 1000); setTimeout(() => process.exit(99), 60_000);'

/** After the test, SIGKILL the group of a job left running by a stopped runner, if it still is that job. */
function killAfterTest (workDir: string): void {
  cleanups.push(async () => {
    const record = JSON.parse(await readText(join(workDir, PROCESS_FILE)) || 'null') as ProcessRecord | null
    if (record === null) return
    const probe = await probeProcess(record.pid, clock)
    if (probe.state === 'alive' && probe.startTime === record.processStartTime) signalGroup(record.pgid, 'SIGKILL')
  })
}

async function waitReady (stdoutLog: string): Promise<void> {
  await expect.poll(async () => await readText(stdoutLog), { timeout: 10_000, interval: 20 }).toContain('ready')
}

describe('ProcessRunner: running jobs', () => {
  it('runs a job that exits 0 in its work dir and reports it complete', async () => {
    const { runner, dataDir } = await makeRunner()
    const job = await runner.start({ jobId: 'e1-a-b.1', type: 'selfplay', argv: node('process.stdout.write(process.cwd() + "\\n")') })
    expect(job.workDir).toBe(join(dataDir, 'jobs', 'e1-a-b.1'))
    expect(job.outputDir).toBe(join(job.workDir, 'out'))
    expect(job.pgid).toBe(job.pid)
    expect(job.jobPid).not.toBe(job.pid)
    const r = await ended(job.done)
    expect(r).toMatchObject({ jobId: 'e1-a-b.1', exitCode: 0, signal: null, exitKnown: true, adopted: false })
    expect(r.cancelReason).toBeUndefined()
    expect(r.error).toBeUndefined()
    expect(r.logTail.trim()).toBe(job.workDir)
    expect((await readText(join(job.workDir, 'stdout.log'))).trim()).toBe(job.workDir)
    expect((await stat(job.outputDir)).isDirectory()).toBe(true)
    expect(runner.runningCount).toBe(0)
  })

  it('reports exit code 3 with the stderr text in the log tail, leaving no timer behind', async () => {
    const own = new SystemClock()
    const { runner } = await makeRunner({}, own)
    const seen: JobResult[] = []
    runner.onJobEnd(r => seen.push(r))
    const job = await runner.start({ jobId: 'j3', type: 'training', argv: node('console.log("some stdout"); console.error("boom: bad config"); process.exit(3)') })
    const r = await ended(job.done)
    expect(r.exitCode).toBe(3)
    expect(r.logTail).toContain('boom: bad config')
    expect(r.logTail).not.toContain('some stdout')
    expect(seen).toEqual([r])
    expect(own.pendingTimers).toBe(0)
  })

  it('cancels with SIGTERM, which the job can honour', async () => {
    const own = new SystemClock()
    const { runner } = await makeRunner({ killGraceMs: 10_000 }, own)
    const job = await runner.start({ jobId: 'jterm', type: 'selfplay', argv: node(`process.on("SIGTERM", () => { console.error("got SIGTERM, saving"); process.exit(0) }); ${READY} ${FOREVER}`) })
    await waitReady(join(job.workDir, 'stdout.log'))
    expect(runner.cancel('jterm')).toBe(true)
    const r = await ended(job.done)
    expect(r).toMatchObject({ exitCode: 0, signal: null, cancelReason: 'cancelled' })
    expect(r.logTail).toContain('got SIGTERM, saving')
    expect(runner.cancel('jterm')).toBe(false)
    expect(own.pendingTimers).toBe(0)
  })

  it('kills the job by SIGTERM when it has no handler', async () => {
    const { runner } = await makeRunner({ killGraceMs: 10_000 })
    const job = await runner.start({ jobId: 'jterm2', type: 'selfplay', argv: node(`${READY} ${FOREVER}`) })
    await waitReady(join(job.workDir, 'stdout.log'))
    runner.cancel('jterm2', 'operator asked')
    const r = await ended(job.done)
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', cancelReason: 'operator asked', exitKnown: true })
  })

  it('SIGKILLs a job that ignores SIGTERM after the grace period', async () => {
    const { runner } = await makeRunner({ killGraceMs: 300 })
    const job = await runner.start({ jobId: 'jstubborn', type: 'selfplay', argv: node(`process.on("SIGTERM", () => console.error("ignoring SIGTERM")); ${READY} ${FOREVER}`) })
    await waitReady(join(job.workDir, 'stdout.log'))
    const t0 = clock.monoMs()
    runner.cancel('jstubborn')
    const r = await ended(job.done)
    expect(clock.monoMs() - t0).toBeGreaterThanOrEqual(290)
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGKILL', cancelReason: 'cancelled' })
    expect(r.logTail).toContain('ignoring SIGTERM')
    expect(await isGone(job.pid)).toBe(true)
  })

  it('kills the whole process group on cancel, grandchildren included', async () => {
    const { runner } = await makeRunner({ killGraceMs: 300 })
    const script = 'const c = require("node:child_process").spawn(process.execPath, ["-e", "process.on(\\"SIGTERM\\", () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" });' +
      `console.log("grandchild " + c.pid); ${READY} ${FOREVER}`
    const job = await runner.start({ jobId: 'jgroup', type: 'selfplay', argv: node(script) })
    const stdoutLog = join(job.workDir, 'stdout.log')
    await waitReady(stdoutLog)
    const m = /grandchild (\d+)/.exec(await readText(stdoutLog))
    expect(m).not.toBeNull()
    const grandchild = Number(m?.[1])
    expect(await isGone(grandchild)).toBe(false)
    runner.cancel('jgroup')
    await ended(job.done)
    await expect.poll(async () => await isGone(grandchild), { timeout: 5_000, interval: 50 }).toBe(true)
    await expect.poll(async () => await isGone(job.pid), { timeout: 5_000, interval: 50 }).toBe(true)
  })

  it('ends a job whose leftover background process holds its output open, and kills the leftover', async () => {
    const { runner } = await makeRunner({ supervisorCloseGraceMs: 300 })
    const script = 'const c = require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "inherit" });' +
      'console.log("grandchild " + c.pid); process.exit(0)'
    const job = await runner.start({ jobId: 'jleftover', type: 'selfplay', argv: node(script) })
    const r = await ended(job.done)
    expect(r).toMatchObject({ exitCode: 0, exitKnown: true })
    const m = /grandchild (\d+)/.exec(await readText(join(job.workDir, 'stdout.log')))
    expect(m).not.toBeNull()
    await expect.poll(async () => await isGone(Number(m?.[1])), { timeout: 5_000, interval: 50 }).toBe(true)
  })

  it('cancels a job that passes its maximum runtime', async () => {
    const { runner } = await makeRunner({ maxRuntimeMs: { gauntlet: 400 } })
    const job = await runner.start({ jobId: 'jslow', type: 'gauntlet', argv: node(FOREVER) })
    const r = await ended(job.done)
    expect(r).toMatchObject({ cancelReason: 'max runtime', signal: 'SIGTERM' })
    expect(r.endedAt - r.startedAt).toBeGreaterThanOrEqual(350)
  })

  it('truncates a log at maxLogBytes, writes the marker once, and keeps the real tail in the result', async () => {
    const { runner } = await makeRunner({ maxLogBytes: 1_024 })
    const script = 'for (let i = 0; i < 5; i++) process.stdout.write("x".repeat(1000)); process.stdout.write("THE-END")'
    const job = await runner.start({ jobId: 'jchatty', type: 'selfplay', argv: node(script) })
    const r = await ended(job.done)
    expect(r.exitCode).toBe(0)
    const log = await readText(join(job.workDir, 'stdout.log'))
    const marker = truncationMarker(1_024)
    expect(log.length).toBe(1_024 + marker.length)
    expect(log.startsWith('x'.repeat(1_024))).toBe(true)
    expect(log.split(marker).length - 1).toBe(1)
    expect(log).not.toContain('THE-END')
    expect(r.logTail.endsWith('THE-END')).toBe(true)
  })

  it('passes only allow-listed variables of the node, plus the job\'s own', async () => {
    process.env.RIFTMESH_TEST_SECRET = 's3cret'
    try {
      const { runner } = await makeRunner()
      const job = await runner.start({ jobId: 'jenv', type: 'export', argv: node('process.stdout.write(JSON.stringify(process.env))'), env: { MY_VAR: 'mine', RIFTMESH_JOB_ID: 'forged' } })
      await ended(job.done)
      const env = JSON.parse(await readText(join(job.workDir, 'stdout.log'))) as Record<string, string>
      expect(env.RIFTMESH_TEST_SECRET).toBeUndefined()
      expect(env.MY_VAR).toBe('mine')
      expect(env.PATH).toBe(process.env.PATH)
      expect(env.RIFTMESH_JOB_ID).toBe('jenv')
      expect(env.RIFTMESH_OUTPUT_DIR).toBe(job.outputDir)
      expect(env.NODE_OPTIONS).toBeUndefined()
    } finally {
      delete process.env.RIFTMESH_TEST_SECRET
    }
  })

  it('turns a missing executable into a SpawnError and leaves nothing behind', async () => {
    const { runner } = await makeRunner()
    const err = await runner.start({ jobId: 'jmissing', type: 'sync', argv: ['/nonexistent/riftmesh-no-such-binary', '--x'] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpawnError)
    expect(err).toMatchObject({ name: 'SpawnError', syscallCode: 'ENOENT', jobId: 'jmissing' })
    expect(runner.runningCount).toBe(0)
    expect(await runner.listAdoptable()).toEqual([])
  })

  it('passes argv as it is, with no shell in between, and looks argv[0] up on the job\'s PATH', async () => {
    const { runner } = await makeRunner()
    const args = ['$(echo pwned)', 'a b;c', '*', '`id`', '{jobId}']
    const job = await runner.start({ jobId: 'jargv', type: 'export', argv: [...node('process.stdout.write(JSON.stringify(process.argv.slice(1)))'), ...args] })
    await ended(job.done)
    expect(JSON.parse(await readText(join(job.workDir, 'stdout.log')))).toEqual(args)
    const viaPath = await runner.start({ jobId: 'jpath', type: 'export', argv: ['sh', '-c', 'exit 4'] })
    expect((await ended(viaPath.done)).exitCode).toBe(4)
  })

  it('rejects a bad spec with a JobSpecError', async () => {
    const { runner } = await makeRunner()
    for (const spec of [
      { jobId: '../escape', type: 'selfplay' as const, argv: ['x'] },
      { jobId: 'ok', type: 'selfplay' as const, argv: [] },
      { jobId: 'ok', type: 'selfplay' as const, argv: ['x'], env: { 'BAD-NAME': '1' } },
      { jobId: 'ok', type: 'selfplay' as const, argv: ['x'], outputDir: 'relative/out' }
    ]) {
      await expect(runner.start(spec)).rejects.toThrow(JobSpecError)
    }
  })
})

describe('ProcessRunner: limits', () => {
  it('refuses a start over the spawn rate, and accepts again once the window has passed', async () => {
    const virtual = new VirtualClock(1_000_000)
    const { runner } = await makeRunner({ spawnRatePerMinute: 2 }, virtual)
    for (const id of ['r1', 'r2']) await ended((await runner.start({ jobId: id, type: 'selfplay', argv: node('') })).done)
    const err = await runner.start({ jobId: 'r3', type: 'selfplay', argv: node('') }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(JobLimitError)
    expect(err).toMatchObject({ name: 'JobLimitError', limit: 'spawnRatePerMinute', value: 2, jobId: 'r3' })
    virtual.advance(59_000)
    await expect(runner.start({ jobId: 'r3', type: 'selfplay', argv: node('') })).rejects.toMatchObject({ limit: 'spawnRatePerMinute' })
    virtual.advance(1_001)
    await ended((await runner.start({ jobId: 'r3', type: 'selfplay', argv: node('') })).done)
  })

  it('refuses a start over the process cap until a job ends', async () => {
    const { runner } = await makeRunner({ maxProcessesPerNode: 1 })
    const first = await runner.start({ jobId: 'c1', type: 'selfplay', argv: node(FOREVER) })
    const err = await runner.start({ jobId: 'c2', type: 'selfplay', argv: node('') }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(JobLimitError)
    expect(err).toMatchObject({ limit: 'maxProcessesPerNode', value: 1 })
    await expect(runner.start({ jobId: 'c1', type: 'selfplay', argv: node('') })).rejects.toThrow(JobSpecError)
    runner.cancel('c1')
    await ended(first.done)
    await ended((await runner.start({ jobId: 'c2', type: 'selfplay', argv: node('') })).done)
  })
})

describe('ProcessRunner: re-adoption', () => {
  /** A job that ends with code 7 once a `release` file appears in its work dir. */
  const WAIT_FOR_RELEASE = `const fs = require("node:fs"); ${READY} setInterval(() => { if (fs.existsSync("release")) { console.error("released"); process.exit(7) } }, 25); setTimeout(() => process.exit(99), 60_000)`

  it('lets a new runner adopt a job left running, see it running, and see its end with the exit code', async () => {
    const a = await makeRunner()
    const job = await a.runner.start({ jobId: 'e2-n-x.4', type: 'selfplay', argv: node(WAIT_FOR_RELEASE) })
    killAfterTest(job.workDir)
    await waitReady(join(job.workDir, 'stdout.log'))
    await a.runner.stop()
    expect(await within(job.done)).toBeNull()
    expect(await isGone(job.pid)).toBe(false)

    const b = await makeRunner({}, clock, a.dataDir)
    await expect(b.runner.start({ jobId: 'e2-n-x.4', type: 'selfplay', argv: node('') })).rejects.toThrow(/adopt it instead/)
    expect(await b.runner.listAdoptable()).toEqual([job.workDir])
    const outcome = await b.runner.adopt(job.workDir)
    expect(outcome.status).toBe('running')
    if (outcome.status !== 'running') return
    expect(outcome.job).toMatchObject({ jobId: 'e2-n-x.4', pid: job.pid, adopted: true, outputDir: job.outputDir })
    expect(b.runner.get('e2-n-x.4')).toBeDefined()
    expect(await b.runner.listAdoptable()).toEqual([])
    expect((await b.runner.adopt(job.workDir)).status).toBe('running')

    const seen: JobResult[] = []
    b.runner.onJobEnd(r => seen.push(r))
    await writeFile(join(job.workDir, 'release'), '')
    const r = await ended(outcome.job.done)
    expect(r).toMatchObject({ jobId: 'e2-n-x.4', exitCode: 7, exitKnown: true, adopted: true })
    expect(r.logTail).toContain('released')
    expect(seen).toEqual([r])
    expect(b.runner.runningCount).toBe(0)

    await b.runner.release('e2-n-x.4')
    expect(await b.runner.listAdoptable()).toEqual([])
  })

  it('cancels an adopted job through its process group', async () => {
    const a = await makeRunner()
    const job = await a.runner.start({ jobId: 'adopt-cancel', type: 'selfplay', argv: node(`${READY} ${FOREVER}`) })
    killAfterTest(job.workDir)
    await waitReady(join(job.workDir, 'stdout.log'))
    await a.runner.stop()
    const b = await makeRunner({}, clock, a.dataDir)
    const outcome = await b.runner.adopt(job.workDir)
    if (outcome.status !== 'running') throw new Error('not adopted')
    expect(b.runner.cancel('adopt-cancel')).toBe(true)
    const r = await ended(outcome.job.done)
    expect(r).toMatchObject({ signal: 'SIGTERM', cancelReason: 'cancelled', exitKnown: true })
    expect(await isGone(job.pid)).toBe(true)
  })

  it('reports a job that ended while the node was down: exit code from its record, else unknown', async () => {
    const a = await makeRunner()
    const job = await a.runner.start({ jobId: 'died-down', type: 'training', argv: node(WAIT_FOR_RELEASE) })
    killAfterTest(job.workDir)
    await waitReady(join(job.workDir, 'stdout.log'))
    await a.runner.stop()
    await writeFile(join(job.workDir, 'release'), '')
    await expect.poll(async () => await isGone(job.pid), { timeout: 10_000, interval: 25 }).toBe(true)

    const b = await makeRunner({}, clock, a.dataDir)
    const known = await b.runner.adopt(job.workDir)
    expect(known.status).toBe('ended')
    if (known.status !== 'ended') return
    expect(known.result).toMatchObject({ exitCode: 7, exitKnown: true, adopted: true })
    expect(b.runner.runningCount).toBe(0)

    await rm(join(job.workDir, 'exit.json'))
    const unknown = await b.runner.adopt(job.workDir)
    if (unknown.status !== 'ended') throw new Error('adopted a dead job')
    expect(unknown.result).toMatchObject({ exitCode: null, signal: null, exitKnown: false })
    expect(unknown.result.error).toContain('ended while the node was down / exit code unknown')
    expect(unknown.result.logTail).toContain('released')
  })

  it('does not adopt a pid whose start time does not match the record (a recycled pid)', async () => {
    const { runner, dataDir } = await makeRunner()
    const workDir = join(dataDir, 'jobs', 'recycled')
    await mkdir(workDir, { recursive: true })
    const record: ProcessRecord = {
      v: 1, jobId: 'recycled', type: 'selfplay', pid: process.pid, pgid: process.pid, processStartTime: '1',
      platform: process.platform, startedAt: 1, maxRuntimeMs: 1_000, outputDir: join(workDir, 'out')
    }
    await writeFile(join(workDir, PROCESS_FILE), JSON.stringify(record))
    const outcome = await runner.adopt(workDir)
    expect(outcome.status).toBe('ended')
    if (outcome.status !== 'ended') return
    expect(outcome.result.exitKnown).toBe(false)
    expect(outcome.result.error).toContain('start time differs')
    expect(runner.runningCount).toBe(0)
  })

  it('refuses to adopt a dir without a valid process record', async () => {
    const { runner, dataDir } = await makeRunner()
    const workDir = join(dataDir, 'jobs', 'nothing')
    await mkdir(workDir, { recursive: true })
    await expect(runner.adopt(workDir)).rejects.toThrow(AdoptError)
    await writeFile(join(workDir, PROCESS_FILE), '{"v":1,"jobId":"nothing"}')
    await expect(runner.adopt(workDir)).rejects.toThrow(AdoptError)
  })

  it('kills its jobs on stop({ killJobs: true }) and refuses to start afterwards', async () => {
    const { runner } = await makeRunner()
    const job = await runner.start({ jobId: 'stopme', type: 'selfplay', argv: node(FOREVER) })
    await runner.stop({ killJobs: true })
    const r = await ended(job.done)
    expect(r.cancelReason).toBe('node stopping')
    expect(await isGone(job.pid)).toBe(true)
    await expect(runner.start({ jobId: 'late', type: 'selfplay', argv: node('') })).rejects.toThrow(NotStartedError)
    await runner.stop({ killJobs: true })
  })
})

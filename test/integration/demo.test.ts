/**
 * `riftmesh demo` (what `npm run cluster` runs), as a user runs it: progress lines, a model
 * promoted, and Ctrl-C (SIGINT) stops every node and every job it started — also when the
 * terminal sends it to the whole process group (as under `npm run cluster`), when the terminal
 * closes (SIGHUP) and when its stdout is closed (`demo | head -3`).
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { jobSummary, demoEvents, stallLine } from '../../src/cli/commands/demo.js'
import { tempDir } from '../helpers.js'

const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

/** Processes whose command line mentions `text`. */
function processesWith (text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter(l => l.includes(text) && !l.includes('ps -eo'))
}

/** A demo run: its output so far and its exit. */
interface DemoRun { child: ChildProcess, out: () => string, exited: Promise<number | string | null> }

/**
 * Start `riftmesh demo` in `dir` as a terminal would start a job: in a process group of its own
 * (signals to `-pid` reach every process of the group, as a Ctrl-C does).
 */
function startDemo (dir: string, extra: readonly string[] = []): DemoRun {
  const child = spawn(process.execPath, [bin, 'demo', '--dir', dir, '--nodes', '2', '--configs', 'hex8_2p', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | string | null>(resolve => child.on('exit', (code, sig) => resolve(code ?? sig)))
  return { child, out: () => out, exited }
}

/** Kill what a failed run left (by pid: only processes whose command line names the test's dir). */
function killLeftovers (dir: string): void {
  for (const line of processesWith(dir)) {
    try { process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL') } catch { /* exited meanwhile */ }
  }
}

/** Wait until one of the demo's jobs runs (a process whose command line names a job dir of it). */
async function jobRunning (dir: string): Promise<void> {
  await expect.poll(() => processesWith(`${dir}/node-`).some(l => l.includes('/jobs/')), { timeout: 90_000, interval: 50 }).toBe(true)
}

describe('riftmesh demo', () => {
  it('summarises jobs by type and state, and tells promotions apart', () => {
    const jobs = [
      { jobId: 'j1', type: 'selfplay', config: 'hex8_2p', state: 'COMPLETE' },
      { jobId: 'j2', type: 'selfplay', config: 'hex8_2p', state: 'RUNNING' },
      { jobId: 't1', type: 'training', config: 'hex8_2p', state: 'PROMOTED' }
    ]
    expect(jobSummary(jobs)).toBe('selfplay 1 running, 1 done | training 1 promoted')
    expect(jobSummary([])).toBe('no jobs yet')
    const now = { leader: null, nodes: 3, games: {}, jobs, models: { hex8_2p: { modelId: 't1', elo: 1347.2 } }, unfit: [] }
    expect(demoEvents(undefined, now)).toEqual(['  * hex8_2p: model t1 PROMOTED, Elo 1347'])
    expect(demoEvents(now, now)).toEqual([])
  })

  it('says why nothing runs when no node is fit for work, and only then', () => {
    const full = [{ node: 'peer-aaaaaaaa', unfit: 'disk 72 % used (limit 70 %)' }, { node: 'peer-bbbbbbbb', unfit: 'suspect' }]
    expect(stallLine({ jobs: [], unfit: full })).toBe('        waiting: no node is fit for new work (…aaaaaaaa disk 72 % used (limit 70 %); …bbbbbbbb suspect); health.* in riftmesh config --describe')
    expect(stallLine({ jobs: [], unfit: [...full, { node: 'peer-cccccccc', unfit: null }] })).toBeNull()
    expect(stallLine({ jobs: [{ jobId: 'j', type: 'selfplay', config: 'hex8_2p', state: 'RUNNING' }], unfit: full })).toBeNull()
    expect(stallLine({ jobs: [], unfit: [] })).toBeNull()
  })

  it('runs a local cluster to a promoted model and stops everything on Ctrl-C', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-demo-test-')
    try {
      const child = spawn(process.execPath, [bin, 'demo', '--dir', dir, '--min-games', '60', '--configs', 'hex8_2p'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => { out += d.toString() })
      child.stderr.on('data', (d: Buffer) => { out += d.toString() })
      const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
      await expect.poll(() => out, { timeout: 120_000, interval: 500 }).toMatch(/hex8_2p: model \S+ PROMOTED, Elo \d+/)
      expect(out).toMatch(/^riftmesh demo: 3 node\(s\) in /m)
      expect(out).toMatch(/^\[\s*\d+s\] leader …\S+ \(epoch \d+\) · 3 nodes · games hex8_2p \d+/m)
      expect(out).toMatch(/jobs: selfplay \d+ /)
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(out).toContain(`stopped; data kept in ${dir}`)
      expect(out).not.toMatch(/Error|at .*\.js:\d+/)
      // no node and no job of the demo left running
      await expect.poll(() => processesWith(dir), { timeout: 10_000, interval: 250 }).toEqual([])
    } finally {
      for (const line of processesWith(dir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL')
      await cleanup()
    }
  }, 180_000)
  /** Ways a demo is told to stop, and the line it then prints. */
  const stops: Array<{ how: string, stop: (run: DemoRun) => void, says: string }> = [
    // a terminal's Ctrl-C signals the whole foreground group: npm, the demo and, without a group of their own, its nodes
    { how: 'Ctrl-C reaches its whole process group, as under npm run cluster', stop: run => process.kill(-(run.child.pid as number), 'SIGINT'), says: 'stopped; data kept in' },
    { how: 'its terminal closes (SIGHUP)', stop: run => run.child.kill('SIGHUP'), says: 'stopped; data kept in' },
    // the reader goes away, as head does after its lines
    { how: 'its stdout is closed (demo | head)', stop: run => run.child.stdout?.destroy(), says: 'riftmesh demo: stdout closed (EPIPE); stopping the cluster' }
  ]

  it.each(stops)('stops every node and job when $how', async ({ stop, says }) => {
    const { dir, cleanup } = await tempDir('riftmesh-demo-test-')
    const run = startDemo(dir)
    try {
      await jobRunning(dir)
      stop(run)
      expect(await run.exited).toBe(0)
      expect(run.out()).toContain(says)
      expect(run.out()).not.toContain('unsettled top-level await')
      expect(run.out()).not.toMatch(/Error|at .*\.js:\d+/)
      await expect.poll(() => processesWith(dir), { timeout: 10_000, interval: 250 }).toEqual([])
    } finally {
      killLeftovers(dir)
      await cleanup()
    }
  }, 120_000)

  it.each([['-1'], ['0'], ['abc'], ['Infinity']])('refuses --duration %s with one line and starts nothing', async (value) => {
    const { dir, cleanup } = await tempDir('riftmesh-demo-test-')
    try {
      // a demo that accepts the value runs until killed: 30 s is a failure, not a wait
      const r = spawnSync(process.execPath, [bin, 'demo', '--dir', join(dir, 'demo'), '--duration', value], { encoding: 'utf8', timeout: 30_000 })
      expect(r.status).toBe(2)
      expect(r.stdout).toBe('')
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^riftmesh demo: (flag|config) "--duration": expected a number of seconds > 0 \(got (\S+)\)$/)
      expect(lines[0]).toContain(`(got ${value})`)
      expect(existsSync(join(dir, 'demo'))).toBe(false)
    } finally {
      killLeftovers(dir)
      await cleanup()
    }
  })
})

/**
 * `riftmesh demo` (what `npm run cluster` runs), as a user runs it: progress lines, a model
 * promoted, and Ctrl-C (SIGINT) stops every node and every job it started.
 */
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { jobSummary, demoEvents, stallLine } from '../../src/cli/commands/demo.js'
import { tempDir } from '../helpers.js'

const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

/** Processes whose command line mentions `text`. */
function processesWith (text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter(l => l.includes(text) && !l.includes('ps -eo'))
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
})

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { CLI } from '../support/node-process.js'

const run = promisify(execFile)

describe('riftmesh sim fuzz', () => {
  it('runs 200 random fault schedules on 9 nodes and finds no violation', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'sim', 'fuzz', '--runs', '200', '--nodes', '9'], { timeout: 300_000 })
    expect(stdout).toMatch(/^fuzz: 200 runs, 9 nodes, 0 failed, [\d.]+ s$/m)
  }, 320_000)

  it('prints the failing seeds with the command that replays them', async () => {
    const r = await run(process.execPath, [CLI, 'sim', 'fuzz', '--runs', '3', '--nodes', '5', '--seed', '40', '--no-anti-entropy'], { timeout: 120_000 }).catch((err: { code: number, stdout: string }) => err)
    expect((r as { code?: number }).code).toBe(1)
    const out = (r as { stdout: string }).stdout
    expect(out).toMatch(/^FAIL seed=4\d: .+\n {2}replay: riftmesh sim fuzz --nodes 5 --seed 4\d --runs 1$/m)
  }, 130_000)

  it('exits 1 on a violated invariant in sim run', async () => {
    const r = await run(process.execPath, [CLI, 'sim', 'run', 'sim/scenarios/partition-heal.yaml', '--no-anti-entropy'], { timeout: 60_000 }).catch((err: { code: number, stdout: string }) => err)
    expect((r as { code?: number }).code).toBe(1)
    expect((r as { stdout: string }).stdout).toMatch(/check convergence: FAIL/)
  })
})

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

async function cli (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 20_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('riftmesh CLI', () => {
  it('prints usage with --help and exits 0', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Usage: riftmesh <command>/)
  })

  it('resolves config with file < env < flags', async () => {
    const r = await cli(['config', '--set', 'mesh.coalesceWindowMs=25'], { RIFTMESH_MESH_COALESCE_WINDOW_MS: '40', RIFTMESH_HEALTH_DEAD_AFTER_MS: '9000' })
    expect(r.code).toBe(0)
    const cfg = JSON.parse(r.stdout) as { mesh: { coalesceWindowMs: number }, health: { deadAfterMs: number } }
    expect(cfg.mesh.coalesceWindowMs).toBe(25)
    expect(cfg.health.deadAfterMs).toBe(9000)
  })

  it('explains a bad value in one line, without a stack trace, and exits 2', async () => {
    const r = await cli(['config', '--set', 'health.deadAfterMs=abc'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/health\.deadAfterMs/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
  })

  it('rejects an unknown command', async () => {
    const r = await cli(['frobnicate'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/)
  })
})

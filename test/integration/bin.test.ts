/**
 * bin/riftmesh, the command the docs use: installed as a symlink on PATH, it runs the built CLI
 * on the pinned Node.js from any directory, whatever `node` comes first on PATH, and never asks
 * a package registry for anything (it is a shell script that execs one file).
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const wrapper = join(repo, 'bin', 'riftmesh')

/** A PATH dir holding `riftmesh` (a symlink to the wrapper) and a `node` that must never run. */
async function pathDir (dir: string): Promise<string> {
  const bin = join(dir, 'bin')
  await mkdir(bin)
  await symlink(wrapper, join(bin, 'riftmesh'))
  await writeFile(join(bin, 'node'), '#!/bin/sh\necho "the node on PATH ran" >&2\nexit 99\n')
  await chmod(join(bin, 'node'), 0o755)
  return bin
}

describe('bin/riftmesh', () => {
  it('runs a node on the pinned Node.js through a symlink on PATH, from another directory, ignoring the node on PATH', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-bin-test-')
    const bin = await pathDir(dir)
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir }
    const proc = spawn('riftmesh', ['node', '--data-dir', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | string | null>(resolve => proc.on('exit', (code, sig) => resolve(code ?? sig)))
    try {
      await expect.poll(() => out, { timeout: 20_000, interval: 100 }).toMatch(/^listening \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW\S+$/m)
      expect(out).toMatch(/^peer-id 12D3KooW/m)
      expect(out).not.toContain('the node on PATH ran')
      proc.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      proc.kill('SIGKILL')
      await cleanup()
    }
  }, 60_000)

  it('says what is missing, and to run npm ci, in a checkout that is not installed', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-bin-test-')
    try {
      await mkdir(join(dir, 'bin'))
      await copyFile(wrapper, join(dir, 'bin', 'riftmesh'))
      const r = spawnSync(join(dir, 'bin', 'riftmesh'), ['--version'], { cwd: '/', encoding: 'utf8' })
      expect(r.status).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^riftmesh: cannot read ${dir}/node_modules/node/bin/node as user \\S+: run 'npm ci' in ${dir} \\(`))
      ])
    } finally {
      await cleanup()
    }
  })
})

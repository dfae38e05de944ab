/**
 * `riftmesh keygen`: a new swarm key of mode 0600, and a warning when it lands where version
 * control may pick it up (a git work tree that does not ignore it).
 */
import { spawnSync } from 'node:child_process'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers.js'

const bin = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

let tmp: { dir: string, cleanup: () => Promise<void> }
beforeEach(async () => { tmp = await tempDir('riftmesh-keygen-test-') })
afterEach(async () => { await tmp.cleanup() })

function keygen (path: string): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'keygen', '--swarm-key', path], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

async function gitRepo (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  expect(spawnSync('git', ['init', '--quiet', dir]).status).toBe(0)
}

describe('riftmesh keygen', () => {
  it('writes the key with mode 0600 and no warning outside any git work tree', async () => {
    const key = join(tmp.dir, 'keys', 'cluster.key')
    const r = keygen(key)
    expect(r).toEqual({ status: 0, stdout: `wrote swarm key ${key}\n`, stderr: '' })
    expect((await stat(key)).mode & 0o777).toBe(0o600)
  })

  it('warns, in one line, when the key lands in a git work tree that does not ignore it', async () => {
    const repo = join(tmp.dir, 'checkout')
    await gitRepo(repo)
    const key = join(repo, 'cluster.key')
    const r = keygen(key)
    expect(r.status).toBe(0)
    expect(r.stderr).toBe(`riftmesh keygen: warning: ${key} is in the git work tree ${repo}, which does not ignore it; keep *.key out of version control (add it to .gitignore, or keep the key elsewhere)\n`)
  })

  it('says nothing when the work tree ignores *.key, as this checkout does', async () => {
    const repo = join(tmp.dir, 'checkout')
    await gitRepo(repo)
    await writeFile(join(repo, '.gitignore'), '*.key\n')
    const r = keygen(join(repo, 'sub', 'cluster.key'))
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    const own = spawnSync('git', ['-C', fileURLToPath(new URL('../..', import.meta.url)), 'check-ignore', '--quiet', 'cluster.key'])
    expect(own.status).toBe(0)
  })
})

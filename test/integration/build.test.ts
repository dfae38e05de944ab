/**
 * scripts/build-ts.mjs, the TypeScript half of `npm run build` (behind `npm start`, `npm run
 * cluster` and `npm test`): it compiles what changed and leaves dist/ alone when no source did.
 * Run on a small project of its own (the script, a tsconfig.json, two sources) that uses this
 * checkout's TypeScript.
 */
import { spawnSync } from 'node:child_process'
import { copyFile, mkdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

let project: { dir: string, cleanup: () => Promise<void> }

function build (): { status: number | null, out: string } {
  const r = spawnSync(process.execPath, [join(project.dir, 'scripts', 'build-ts.mjs')], { cwd: '/', encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

const out = (name: string): string => join(project.dir, 'dist', 'src', name)
const mtimeMs = async (path: string): Promise<number> => (await stat(path)).mtimeMs

/** Write a source with a modification time `aheadS` seconds from now (edits between builds). */
async function writeSource (name: string, text: string, aheadS = 0): Promise<void> {
  const path = join(project.dir, 'src', name)
  await writeFile(path, text)
  const t = new Date(Date.now() + aheadS * 1000)
  await utimes(path, t, t)
}

beforeEach(async () => {
  project = await tempDir('riftmesh-build-test-')
  await mkdir(join(project.dir, 'scripts'))
  await mkdir(join(project.dir, 'src'))
  await copyFile(join(repo, 'scripts', 'build-ts.mjs'), join(project.dir, 'scripts', 'build-ts.mjs'))
  await symlink(join(repo, 'node_modules'), join(project.dir, 'node_modules'))
  await writeFile(join(project.dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(project.dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2023', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'dist', rootDir: '.', types: [] },
    include: ['src/**/*.ts']
  }))
  await writeSource('a.ts', 'export const a: number = 1\n')
})

afterEach(async () => { await project.cleanup() })

describe('npm run build (scripts/build-ts.mjs)', () => {
  it('compiles a new checkout, then leaves every output as it is while no source changes', async () => {
    expect(build().status).toBe(0)
    expect(await readFile(out('a.js'), 'utf8')).toContain('export const a = 1')
    const before = await mtimeMs(out('a.js'))
    const again = build()
    expect(again.status).toBe(0)
    expect(await mtimeMs(out('a.js'))).toBe(before)
  }, 60_000)

  it('recompiles a changed source and compiles a new one', async () => {
    expect(build().status).toBe(0)
    await writeSource('a.ts', 'export const a: number = 2\n', 2)
    await writeSource('b.ts', 'import { a } from \'./a.js\'\nexport const b: number = a + 1\n', 2)
    expect(build().status).toBe(0)
    expect(await readFile(out('a.js'), 'utf8')).toContain('export const a = 2')
    expect(await readFile(out('b.js'), 'utf8')).toContain('export const b = a + 1')
  }, 60_000)

  it('compiles again when an output was deleted by hand, though no source changed', async () => {
    expect(build().status).toBe(0)
    await rm(out('a.js'))
    const r = build()
    expect(r.status).toBe(0)
    expect(r.out).toContain('dist/src/a.js is missing; compiling everything')
    expect(await readFile(out('a.js'), 'utf8')).toContain('export const a = 1')
  }, 60_000)

  it('fails, naming the file, when a source does not type-check', async () => {
    await writeSource('a.ts', 'export const a: number = "one"\n')
    const r = build()
    expect(r.status).not.toBe(0)
    expect(r.out).toMatch(/src\/a\.ts.*error TS2322/)
  }, 60_000)
})

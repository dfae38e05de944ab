#!/usr/bin/env node
/**
 * The TypeScript half of `npm run build` (so of `npm install`, `npm test`, `npm start` and
 * `npm run cluster`): compiles only when a source changed since the last build.
 *
 * It runs `tsc -b --incremental`, which keeps its build info in dist/ (tsconfig.tsbuildinfo):
 * when no source is newer than that file it says so within a second instead of recompiling
 * everything (~30 s), and after a change it re-checks from what it kept. tsc -b looks only at its
 * inputs, so an output deleted by hand would pass for up to date: when the .js of any source under
 * tsconfig.json's `include` directories is missing, the build is forced.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'))
const outDir = join(root, config.compilerOptions?.outDir ?? 'dist')

/** `src/**\/*.ts` → `src`: the directories tsconfig.json compiles. */
const sourceDirs = (config.include ?? []).map(p => p.split('/')[0]).filter(d => d !== undefined && !d.includes('*'))

/** The first source (a .ts file, not .d.ts) under `dir` whose compiled .js is missing, if any. */
function missingOutput (dir) {
  if (!existsSync(dir)) return undefined
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      const found = missingOutput(path)
      if (found !== undefined) return found
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = join(outDir, relative(root, path)).replace(/\.ts$/, '.js')
      if (!existsSync(out)) return relative(root, out)
    }
  }
  return undefined
}

const missing = sourceDirs.map(d => missingOutput(join(root, d))).find(m => m !== undefined)
if (missing !== undefined) console.log(`build: ${missing} is missing; compiling everything`)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const args = [tsc, '-b', join(root, 'tsconfig.json'), '--incremental', ...(missing !== undefined ? ['--force'] : [])]
const r = spawnSync(process.execPath, args, { stdio: 'inherit' })
if (r.error !== undefined) {
  console.error(`build: cannot run ${tsc}: ${r.error.message}`)
  process.exit(1)
}
process.exit(r.status ?? 1)

#!/usr/bin/env node
/**
 * Build the Node-API addons in native/ into dist/native/ (part of `npm run build`, so of
 * `npm install` and `npm test`); an addon whose built file is newer than its source is left as
 * it is.
 *
 * - riftmesh-fs.c → riftmesh-fs.node: syncfs and page-aligned memory (src/transfer/fs-sync.ts).
 * - batch/*.c → riftmesh-batch.node: both ends of a BATCH in C (src/transfer/native-recv.ts,
 *   native-send.ts).
 *
 * Needs a C compiler (`$CC`, else `cc`) and the Node-API headers, taken from the running Node's
 * own include dir (the pinned `node` package ships them) or a system one. Never fails the
 * install: without a compiler or headers it says so in one line per addon, and riftmesh does
 * without (each file says how).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Each addon: its sources (under native/), and what riftmesh does without it. */
const addons = [
  { name: 'riftmesh-fs', sources: ['riftmesh-fs.c'], without: 'received files are fsynced one by one and written through the page cache' },
  { name: 'riftmesh-batch', sources: ['batch/job.c', 'batch/recv.c', 'batch/send.c', 'batch/module.c'], without: 'batches of small files are sent and received in JavaScript' }
]
/** Headers any source may include: a change to one rebuilds every addon. */
const headers = ['napi-export.h', 'batch/batch.h'].map(h => join(root, 'native', h))

/** Directories that may hold node_api.h, most specific first. */
function headerDirs () {
  const dirs = [resolve(dirname(process.execPath), '..', 'include', 'node')]
  const pinned = join(root, 'node_modules', 'node', 'node_modules')
  if (existsSync(pinned)) for (const d of readdirSync(pinned)) dirs.push(join(pinned, d, 'include', 'node'))
  dirs.push('/usr/include/node', '/usr/local/include/node')
  return dirs
}

const include = headerDirs().find(d => existsSync(join(d, 'node_api.h')))
for (const { name, sources, without } of addons) {
  const files = sources.map(s => join(root, 'native', s))
  const out = join(root, 'dist', 'native', `${name}.node`)
  const newest = Math.max(...[...files, ...headers].map(f => statSync(f).mtimeMs))
  if (existsSync(out) && statSync(out).mtimeMs >= newest) continue // built already
  if (process.platform !== 'linux') {
    console.log(`native: ${name} skipped on ${process.platform} (it uses Linux calls); ${without}`)
  } else if (include === undefined) {
    console.log(`native: no Node-API headers found (node_api.h); ${without}`)
  } else {
    mkdirSync(dirname(out), { recursive: true })
    const cc = process.env.CC ?? 'cc'
    const args = ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', '-Wall', '-Werror', '-std=gnu11', `-I${include}`, ...files, '-o', out, '-lpthread']
    const r = spawnSync(cc, args, { encoding: 'utf8' })
    if (r.error !== undefined || r.status !== 0) {
      const why = r.error !== undefined ? r.error.message : (r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`)
      console.log(`native: could not build ${out} with ${cc} (${why}); ${without}`)
    } else {
      console.log(`native: built ${out}`)
    }
  }
}

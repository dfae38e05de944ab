#!/usr/bin/env node
/**
 * Build native/riftmesh-fs.c into dist/native/riftmesh-fs.node (part of `npm run build`, so of
 * `npm install` and `npm test`); nothing to do when the built file is newer than the source.
 *
 * Needs a C compiler (`$CC`, else `cc`) and the Node-API headers, taken from the running Node's
 * own include dir (the pinned `node` package ships them) or a system one. Never fails the
 * install: without a compiler or headers it says so in one line, and riftmesh fsyncs received
 * files one by one instead of one syncfs per group (src/transfer/fs-sync.ts).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'native', 'riftmesh-fs.c')
const out = join(root, 'dist', 'native', 'riftmesh-fs.node')

/** Directories that may hold node_api.h, most specific first. */
function headerDirs () {
  const dirs = [resolve(dirname(process.execPath), '..', 'include', 'node')]
  const pinned = join(root, 'node_modules', 'node', 'node_modules')
  if (existsSync(pinned)) for (const d of readdirSync(pinned)) dirs.push(join(pinned, d, 'include', 'node'))
  dirs.push('/usr/include/node', '/usr/local/include/node')
  return dirs
}

const include = headerDirs().find(d => existsSync(join(d, 'node_api.h')))
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) {
  // built already
} else if (process.platform !== 'linux') {
  console.log(`native: skipped on ${process.platform} (syncfs is Linux-only); received files are fsynced one by one and written through the page cache`)
} else if (include === undefined) {
  console.log('native: no Node-API headers found (node_api.h); received files are fsynced one by one and written through the page cache')
} else {
  mkdirSync(dirname(out), { recursive: true })
  const cc = process.env.CC ?? 'cc'
  const args = ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-std=gnu11', `-I${include}`, source, '-o', out]
  const r = spawnSync(cc, args, { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error !== undefined ? r.error.message : (r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`)
    console.log(`native: could not build ${out} with ${cc} (${why}); received files are fsynced one by one and written through the page cache`)
  } else {
    console.log(`native: built ${out}`)
  }
}

/**
 * syncfs for the disk workers: a group of received files made durable with one call instead of
 * one fsync each. The call comes from a small Node-API addon (native/riftmesh-fs.c, built into
 * `dist/native/` by `npm install`); where it was not built (no compiler, not Linux) or does not
 * load, `loadFsSync` says why and the workers fsync file by file as before.
 *
 * Why: with ext4 and 10,000 files of 100 KiB, an fsync per file cost more than the transfer
 * itself — each one writes its inode's table block and flushes the disk's cache on its own.
 * One syncfs per group writes the group's data and metadata together and flushes once; in the
 * transfer bench (10,000 × 105 KiB) the durable pull went from ~150 to ~210 MiB/s, and in jobs
 * of 50 from ~120 to ~210 MiB/s, against ~275 with no fsync at all. syncfs also writes out
 * whatever else is dirty on that file system — on ext4 with a journal, an fsync's journal
 * commit already does much the same.
 */
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Flush the file system holding `fd`; throws an Error whose `code` is the errno name. */
export type SyncFs = (fd: number) => void

/** Memory starting on a 4096-byte boundary, as O_DIRECT writes need (freed when collected). */
export type AlignedAlloc = (size: number) => ArrayBuffer

/** What the addon offers: syncfs, and aligned memory where the addon is recent enough. */
export interface FsNative { syncfs: SyncFs, alignedBuffer?: AlignedAlloc }

/** Where a built addon (`name`.node) is, from this module's own location (built or source, like the disk worker). */
export function nativeAddonPath (moduleUrl: string = import.meta.url, name = 'riftmesh-fs'): string {
  const here = dirname(fileURLToPath(moduleUrl)) // <root>/src/transfer or <root>/dist/src/transfer
  const root = dirname(dirname(here))
  return basename(root) === 'dist' ? join(root, 'native', `${name}.node`) : join(root, 'dist', 'native', `${name}.node`)
}

/**
 * The addon at `path` as a module, or why it cannot be used (not built, or failing to load);
 * shared by every addon riftmesh builds (this one, native-batch.ts).
 */
export function requireAddon (path: string): { mod: Record<string, unknown> } | { why: string } {
  try {
    return { mod: createRequire(import.meta.url)(path) as Record<string, unknown> }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return { why: e.code === 'MODULE_NOT_FOUND' ? `${path} was not built (npm install builds it where a C compiler is found)` : `${path}: ${e.message}` }
  }
}

/** `load`, run once per path (and thread): a loaded addon stays loaded. */
export function oncePerPath<T> (load: (path: string) => T): (path: string) => T {
  const loaded = new Map<string, T>()
  return path => {
    if (!loaded.has(path)) loaded.set(path, load(path))
    return loaded.get(path) as T
  }
}

const loadFsSyncOnce = oncePerPath((path): FsNative | { why: string } => {
  const r = requireAddon(path)
  if ('why' in r) return r
  const mod = r.mod
  if (typeof mod.syncfs !== 'function') return { why: `${path} has no syncfs` }
  return { syncfs: mod.syncfs as SyncFs, ...(typeof mod.alignedBuffer === 'function' ? { alignedBuffer: mod.alignedBuffer as AlignedAlloc } : {}) }
})

/** The addon's functions, or why there are none (loaded once per path and thread). */
export function loadFsSync (path: string = nativeAddonPath()): FsNative | { why: string } {
  return loadFsSyncOnce(path)
}

/**
 * Incremental scan of a node's data dir: every regular file under `selfplay/`, `models/`,
 * `training/` and `games/` with its size, mtime, sha256, kind, config and game count.
 *
 * - sha256 (and the game count) are cached by (path, size, mtimeMs) in a `HashCacheStore` that
 *   survives restarts, so a rescan of an unchanged tree opens no file for reading: it costs one
 *   `readdir` per directory and one `lstat` per file.
 * - Skipped: `*.partial` files (transfers in progress), symlinks whose target is outside the data
 *   dir or is not a regular file, symlinked directories (no loops, no duplicates), sockets and
 *   other special files, paths longer than `MAX_PATH_CHARS`, anything deeper than `maxDepth`.
 *   The kind directories themselves must be real directories.
 * - A file whose size or mtime changed while it was being hashed (still being written) is left
 *   out of this scan (`unstable`) and picked up by the next one.
 * - Bounded: at most `maxFiles` files and as many directories (the rest is left out,
 *   `truncated`), `statConcurrency`
 *   stats and `hashConcurrency` hashes at once. One scan runs at a time; a second call while one
 *   runs gets the same result.
 */
import { createReadStream, type Dirent, type Stats } from 'node:fs'
import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import { FILE_KINDS, type ConfigKey } from '../state/schema.js'
import { FileDigester, countsGames, parseConfigKey, type FileKind } from './file-info.js'
import { JsonFileHashCache, type HashCacheEntry, type HashCacheStore } from './hash-cache.js'
import { MAX_PATH_CHARS, PARTIAL_SUFFIX, isInside } from './paths.js'
import { intInRange } from './limits.js'
import { mapLimit } from '../core/map-limit.js'

/** Most files one scan lists. @default 100_000 */
export const DEFAULT_SCAN_MAX_FILES = 100_000
/** Files hashed at once. @default 2 */
export const DEFAULT_HASH_CONCURRENCY = 2
/** `lstat` calls at once. @default 32 */
export const DEFAULT_STAT_CONCURRENCY = 32
/** Deepest directory level below a kind dir. @default 32 */
export const DEFAULT_SCAN_MAX_DEPTH = 32
/** Read size while hashing. @default 1 MiB */
export const DEFAULT_HASH_READ_BYTES = 1024 * 1024
/** File name of the persistent hash cache, in the data dir (outside the kind dirs). @default '.riftmesh-hash-cache.json' */
export const DEFAULT_HASH_CACHE_FILE = '.riftmesh-hash-cache.json'

/** The file-system calls the scanner makes; `createReadStream` is the only one that reads file contents. */
export interface ScannerFs {
  readdir(dir: string): Promise<Dirent[]>
  lstat(path: string): Promise<Stats>
  stat(path: string): Promise<Stats>
  realpath(path: string): Promise<string>
  createReadStream(path: string, options: { highWaterMark: number, start?: number, end?: number, signal?: AbortSignal }): AsyncIterable<Uint8Array>
}

export const nodeScannerFs: ScannerFs = {
  readdir: async dir => await readdir(dir, { withFileTypes: true }),
  lstat: async p => await lstat(p),
  stat: async p => await stat(p),
  realpath: async p => await realpath(p),
  createReadStream: (p, options) => createReadStream(p, options)
}

/** One file as listed: the manifest's per-file entry plus its path. */
export interface ScannedFile {
  /** Relative to the data dir, `/`-separated, e.g. `selfplay/hex8_2p/run1.jsonl`. */
  path: string
  size: number
  /** Whole milliseconds (the manifest's precision). */
  mtimeMs: number
  sha256: string
  kind: FileKind
  config: ConfigKey | null
  gameCount: number
}

export interface ScanStats {
  files: number
  bytes: number
  /** Files read and hashed in this scan. */
  hashed: number
  hashedBytes: number
  /** Files whose hash came from the cache. */
  cacheHits: number
  skippedPartial: number
  skippedSymlink: number
  /** Special files, over-long paths, too deep. */
  skippedOther: number
  /** Changed while being hashed; left for the next scan. */
  unstable: number
  /** Files or directories that could not be read (logged). */
  errors: number
  /** More than `maxFiles`: the rest was left out. */
  truncated: boolean
  durationMs: number
}

export interface ScanResult {
  /** Sorted by path. */
  files: readonly ScannedFile[]
  /** Clock reading when the scan finished (ms since the epoch for the system clock). */
  scannedAtMs: number
  stats: ScanStats
}

/** What a holder serves from: the current listing. */
export interface FileCatalog {
  lookup(relPath: string): ScannedFile | undefined
  /** Up to `limit` files with a path after `afterPath` ('' = from the start), sorted by path. */
  listAfter(afterPath: string, limit: number): readonly ScannedFile[]
}

/** What a target uses to know a local file's hash without reading it again. */
export interface LocalHashes {
  /** The cached hash of `relPath` when the cache entry matches (size, mtimeMs) exactly. */
  cachedHash(relPath: string, size: number, mtimeMs: number): Promise<{ sha256: string, gameCount: number } | undefined>
  /** Record a hash computed elsewhere (a file just received), so no scan re-reads it. */
  remember(entry: HashCacheEntry): void
}

export interface ManifestScannerInit {
  dataDir: string
  /** @default DEFAULT_SCAN_MAX_FILES */
  maxFiles?: number
  /** @default DEFAULT_HASH_CONCURRENCY */
  hashConcurrency?: number
  /** @default DEFAULT_STAT_CONCURRENCY */
  statConcurrency?: number
  /** @default DEFAULT_SCAN_MAX_DEPTH */
  maxDepth?: number
  /** @default DEFAULT_HASH_READ_BYTES */
  hashReadBytes?: number
}

export interface ManifestScannerComponents {
  clock: Clock
  logger: Logger
  /** @default nodeScannerFs */
  fs?: ScannerFs
  /** @default a JsonFileHashCache at `<dataDir>/DEFAULT_HASH_CACHE_FILE` */
  cache?: HashCacheStore
}

interface Candidate { rel: string, full: string, symlink: boolean }

const emptyStats = (): ScanStats => ({
  files: 0, bytes: 0, hashed: 0, hashedBytes: 0, cacheHits: 0, skippedPartial: 0, skippedSymlink: 0, skippedOther: 0, unstable: 0, errors: 0, truncated: false, durationMs: 0
})

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

export class ManifestScanner implements FileCatalog, LocalHashes {
  private readonly log: Logger
  private readonly fs: ScannerFs
  private readonly store: HashCacheStore
  private readonly clock: Clock
  readonly dataDir: string
  private readonly maxFiles: number
  private readonly hashConcurrency: number
  private readonly statConcurrency: number
  private readonly maxDepth: number
  private readonly hashReadBytes: number
  private cache: Map<string, HashCacheEntry> | undefined
  private cacheDirty = false
  private result: ScanResult | undefined
  private running: Promise<ScanResult> | undefined
  private byPathIndex = new Map<string, ScannedFile>()
  /** Files opened for reading, all scans (tests count them). */
  filesRead = 0

  constructor (components: ManifestScannerComponents, init: ManifestScannerInit) {
    this.log = components.logger.child({ component: 'manifest-scanner' })
    this.clock = components.clock
    this.fs = components.fs ?? nodeScannerFs
    this.dataDir = init.dataDir
    this.store = components.cache ?? new JsonFileHashCache(join(init.dataDir, DEFAULT_HASH_CACHE_FILE), this.log)
    this.maxFiles = intInRange('sync.scanMaxFiles', init.maxFiles ?? DEFAULT_SCAN_MAX_FILES, 1, 10_000_000)
    this.hashConcurrency = intInRange('sync.hashConcurrency', init.hashConcurrency ?? DEFAULT_HASH_CONCURRENCY, 1, 64)
    this.statConcurrency = intInRange('sync.statConcurrency', init.statConcurrency ?? DEFAULT_STAT_CONCURRENCY, 1, 1024)
    this.maxDepth = intInRange('sync.scanMaxDepth', init.maxDepth ?? DEFAULT_SCAN_MAX_DEPTH, 1, 256)
    this.hashReadBytes = intInRange('sync.hashReadBytes', init.hashReadBytes ?? DEFAULT_HASH_READ_BYTES, 4096, 64 * 1024 * 1024)
  }

  /** The last completed scan, if any. */
  get current (): ScanResult | undefined {
    return this.result
  }

  lookup (relPath: string): ScannedFile | undefined {
    return this.byPathIndex.get(relPath)
  }

  listAfter (afterPath: string, limit: number): readonly ScannedFile[] {
    const files = this.result?.files ?? []
    let lo = 0
    let hi = files.length
    while (lo < hi) { // first index with path > afterPath
      const mid = (lo + hi) >>> 1
      if ((files[mid] as ScannedFile).path <= afterPath) lo = mid + 1
      else hi = mid
    }
    return files.slice(lo, lo + Math.max(0, limit))
  }

  async cachedHash (relPath: string, size: number, mtimeMs: number): Promise<{ sha256: string, gameCount: number } | undefined> {
    const cache = await this.loadCache()
    const e = cache.get(relPath)
    return e !== undefined && e.size === size && e.mtimeMs === mtimeMs ? { sha256: e.sha256, gameCount: e.gameCount } : undefined
  }

  remember (entry: HashCacheEntry): void {
    if (this.cache === undefined) return // not loaded yet: the first scan hashes it
    if (!this.cache.has(entry.path) && this.cache.size >= 2 * this.maxFiles) return // bounded; the next scan hashes it
    this.cache.set(entry.path, { ...entry })
    this.cacheDirty = true
  }

  /** Scan now (or join the scan already running). */
  async scan (options: { signal?: AbortSignal } = {}): Promise<ScanResult> {
    if (this.running !== undefined) return await this.running
    const run = this.runScan(options.signal)
    this.running = run
    try {
      return await run
    } finally {
      this.running = undefined
    }
  }

  private async loadCache (): Promise<Map<string, HashCacheEntry>> {
    if (this.cache === undefined) {
      let entries: HashCacheEntry[] = []
      try {
        entries = await this.store.load()
      } catch (err) {
        this.log.warn({ err }, 'hash cache load failed, starting empty')
      }
      this.cache ??= new Map(entries.map(e => [e.path, e]))
    }
    return this.cache
  }

  private async runScan (signal?: AbortSignal): Promise<ScanResult> {
    const t0 = this.clock.monoMs()
    const stats = emptyStats()
    const cache = await this.loadCache()
    const rootReal = await this.fs.realpath(this.dataDir)
    const candidates = await this.walk(rootReal, stats, signal)
    const files: ScannedFile[] = []
    const seen = new Set<string>()
    const toHash: Array<{ c: Candidate, st: Stats }> = []
    await mapLimit(candidates, this.statConcurrency, async c => {
      const st = await this.statCandidate(c, rootReal, stats)
      if (st === undefined) return
      seen.add(c.rel)
      const hit = cache.get(c.rel)
      if (hit !== undefined && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
        stats.cacheHits++
        files.push(this.entry(c.rel, st, hit.sha256, hit.gameCount))
      } else {
        toHash.push({ c, st })
      }
    }, signal)
    await mapLimit(toHash, this.hashConcurrency, async ({ c, st }) => {
      const digest = await this.hashCandidate(c, st, stats, signal)
      if (digest === undefined) return
      cache.set(c.rel, { path: c.rel, size: st.size, mtimeMs: st.mtimeMs, ...digest })
      this.cacheDirty = true
      files.push(this.entry(c.rel, st, digest.sha256, digest.gameCount))
    }, signal)
    for (const path of cache.keys()) {
      if (!seen.has(path)) {
        cache.delete(path)
        this.cacheDirty = true
      }
    }
    if (this.cacheDirty) await this.saveCache(cache)
    files.sort(byPath)
    stats.files = files.length
    stats.bytes = files.reduce((n, f) => n + f.size, 0)
    stats.durationMs = this.clock.monoMs() - t0
    const result: ScanResult = { files, scannedAtMs: this.clock.nowMs(), stats }
    this.result = result
    this.byPathIndex = new Map(files.map(f => [f.path, f]))
    this.log.debug({ ...stats }, 'scan done')
    return result
  }

  private async saveCache (cache: Map<string, HashCacheEntry>): Promise<void> {
    try {
      await this.store.save([...cache.values()])
      this.cacheDirty = false
    } catch (err) {
      this.log.warn({ err }, 'hash cache save failed; the next start re-hashes what changed')
    }
  }

  private entry (rel: string, st: Stats, sha256: string, gameCount: number): ScannedFile {
    const kind = rel.split('/', 1)[0] as FileKind
    return { path: rel, size: st.size, mtimeMs: Math.max(0, Math.floor(st.mtimeMs)), sha256, kind, config: parseConfigKey(rel), gameCount }
  }

  /** Every candidate file under the kind dirs, breadth first, at most `maxFiles`. */
  private async walk (rootReal: string, stats: ScanStats, signal?: AbortSignal): Promise<Candidate[]> {
    const out: Candidate[] = []
    const queue: Array<{ rel: string, depth: number }> = []
    for (const kind of FILE_KINDS) {
      try {
        const st = await this.fs.lstat(join(rootReal, kind))
        if (st.isDirectory()) queue.push({ rel: kind, depth: 0 })
        else if (st.isSymbolicLink()) stats.skippedSymlink++
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.readError(stats, kind, err)
      }
    }
    let dirs = 0
    for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
      signal?.throwIfAborted()
      if (++dirs > this.maxFiles) { // as many directories as files at most: a tree of empty directories is bounded too
        stats.truncated = true
        return out
      }
      let entries: Dirent[]
      try {
        entries = await this.fs.readdir(join(rootReal, q.rel))
      } catch (err) {
        this.readError(stats, q.rel, err)
        continue
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const e of entries) {
        const rel = `${q.rel}/${e.name}`
        if (rel.length > MAX_PATH_CHARS || e.name.includes('\\')) {
          stats.skippedOther++
        } else if (e.isDirectory()) {
          if (q.depth + 1 > this.maxDepth) stats.skippedOther++
          else queue.push({ rel, depth: q.depth + 1 })
        } else if (e.name.endsWith(PARTIAL_SUFFIX)) {
          stats.skippedPartial++
        } else if (e.isFile() || e.isSymbolicLink()) {
          if (out.length >= this.maxFiles) {
            stats.truncated = true
            return out
          }
          out.push({ rel, full: join(rootReal, rel), symlink: e.isSymbolicLink() })
        } else {
          stats.skippedOther++
        }
      }
    }
    return out
  }

  /** The stats of a candidate, or undefined when it is skipped (symlink out, not a file, gone). */
  private async statCandidate (c: Candidate, rootReal: string, stats: ScanStats): Promise<Stats | undefined> {
    try {
      if (!c.symlink) return await this.fs.lstat(c.full)
      const real = await this.fs.realpath(c.full)
      if (!isInside(rootReal, real) || real === rootReal) {
        stats.skippedSymlink++
        return undefined
      }
      const st = await this.fs.stat(real)
      if (!st.isFile()) {
        stats.skippedSymlink++
        return undefined
      }
      return st
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') { // deleted meanwhile, or a dangling symlink
        if (c.symlink) stats.skippedSymlink++
        return undefined
      }
      this.readError(stats, c.rel, err)
      return undefined
    }
  }

  private async hashCandidate (c: Candidate, st: Stats, stats: ScanStats, signal?: AbortSignal): Promise<{ sha256: string, gameCount: number } | undefined> {
    const digester = new FileDigester(countsGames(c.rel))
    try {
      if (st.size > 0) {
        this.filesRead++
        const stream = this.fs.createReadStream(c.full, { highWaterMark: this.hashReadBytes, start: 0, end: st.size - 1, signal })
        for await (const chunk of stream) digester.update(chunk)
      }
      const after = c.symlink ? await this.fs.stat(c.full) : await this.fs.lstat(c.full)
      if (digester.byteCount !== st.size || after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
        stats.unstable++
        return undefined
      }
    } catch (err) {
      signal?.throwIfAborted()
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined // deleted meanwhile
      this.readError(stats, c.rel, err)
      return undefined
    }
    stats.hashed++
    stats.hashedBytes += st.size
    return digester.digest()
  }

  private readError (stats: ScanStats, rel: string, err: unknown): void {
    stats.errors++
    this.log.warn({ path: rel, err: errorMessage(err) }, 'scan could not read')
  }
}

/**
 * Where the scanner keeps its sha256 cache between runs: entries keyed by path, valid while the
 * file's (size, mtimeMs) are unchanged. `JsonFileHashCache` stores them in one JSON file,
 * written atomically (temp file, fsync, rename); `MemoryHashCache` is for tests.
 */
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from '../core/logger.js'
import { errorMessage } from '../core/errors.js'
import { isSha256Hex } from './file-info.js'

export interface HashCacheEntry {
  path: string
  size: number
  /** The file's mtime as `stat` reports it (fractional milliseconds kept). */
  mtimeMs: number
  sha256: string
  gameCount: number
}

/** Persistence of the cache: the scanner loads it once and saves it after a scan that changed it. */
export interface HashCacheStore {
  load(): Promise<HashCacheEntry[]>
  save(entries: readonly HashCacheEntry[]): Promise<void>
}

export class MemoryHashCache implements HashCacheStore {
  entries: HashCacheEntry[] = []
  saves = 0
  async load (): Promise<HashCacheEntry[]> {
    return this.entries.map(e => ({ ...e }))
  }

  async save (entries: readonly HashCacheEntry[]): Promise<void> {
    this.entries = entries.map(e => ({ ...e }))
    this.saves++
  }
}

/** Largest cache file read back; a bigger one is ignored (and rebuilt). @default 256 MiB */
export const DEFAULT_MAX_HASH_CACHE_FILE_BYTES = 256 * 1024 * 1024
const FORMAT_VERSION = 1

type Row = [string, number, number, string, number]

function validRow (r: unknown): r is Row {
  return Array.isArray(r) && r.length === 5 && typeof r[0] === 'string' && r[0].length > 0 &&
    Number.isSafeInteger(r[1]) && (r[1] as number) >= 0 && typeof r[2] === 'number' && Number.isFinite(r[2]) &&
    typeof r[3] === 'string' && isSha256Hex(r[3]) && Number.isSafeInteger(r[4]) && (r[4] as number) >= 0
}

/**
 * The cache as a JSON file `{"v":1,"entries":[[path,size,mtimeMs,sha256,gameCount],…]}`. A file
 * that is missing, too large, unparsable or of another version loads as empty (logged); bad
 * rows are skipped.
 */
export class JsonFileHashCache implements HashCacheStore {
  constructor (
    private readonly file: string,
    private readonly log: Logger,
    private readonly maxFileBytes = DEFAULT_MAX_HASH_CACHE_FILE_BYTES
  ) {}

  async load (): Promise<HashCacheEntry[]> {
    let text: string
    try {
      const st = await stat(this.file)
      if (st.size > this.maxFileBytes) {
        this.log.warn({ file: this.file, bytes: st.size, max: this.maxFileBytes }, 'hash cache file too large, ignored')
        return []
      }
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err, file: this.file }, 'hash cache unreadable, starting empty')
      return []
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (err) {
      this.log.warn({ file: this.file, err: errorMessage(err) }, 'hash cache is not JSON, starting empty')
      return []
    }
    const d = doc as { v?: unknown, entries?: unknown }
    if (d?.v !== FORMAT_VERSION || !Array.isArray(d.entries)) {
      this.log.warn({ file: this.file }, 'hash cache of an unknown format, starting empty')
      return []
    }
    const out: HashCacheEntry[] = []
    let bad = 0
    for (const r of d.entries) {
      if (validRow(r)) out.push({ path: r[0], size: r[1], mtimeMs: r[2], sha256: r[3], gameCount: r[4] })
      else bad++
    }
    if (bad > 0) this.log.warn({ file: this.file, bad }, 'hash cache rows skipped')
    return out
  }

  async save (entries: readonly HashCacheEntry[]): Promise<void> {
    const rows: Row[] = entries.map(e => [e.path, e.size, e.mtimeMs, e.sha256, e.gameCount])
    const tmp = `${this.file}.tmp`
    await mkdir(dirname(this.file), { recursive: true })
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(JSON.stringify({ v: FORMAT_VERSION, entries: rows }))
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await rename(tmp, this.file)
    } catch (err) {
      await unlink(tmp).catch((unlinkErr: unknown) => this.log.debug({ err: unlinkErr, file: tmp }, 'temp cache file not removed'))
      throw err
    }
  }
}

import { createHash } from 'node:crypto'
import { appendFile, mkdir, realpath, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { manifestSchema } from '../../../src/state/schema.js'
import { JsonFileHashCache, MemoryHashCache, type HashCacheStore } from '../../../src/transfer/hash-cache.js'
import { toManifestEntry } from '../../../src/transfer/manifest.js'
import { DEFAULT_HASH_CACHE_FILE, ManifestScanner, nodeScannerFs, type ScannerFs } from '../../../src/transfer/scanner.js'
import { tempDir } from '../../helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { await Promise.all(cleanups.splice(0).map(async c => await c())) })

async function dataDir (): Promise<string> {
  const { dir, cleanup } = await tempDir('riftmesh-scan-')
  cleanups.push(cleanup)
  return dir
}

async function put (root: string, rel: string, content: string | Buffer): Promise<void> {
  const full = join(root, rel)
  await mkdir(join(full, '..'), { recursive: true })
  await writeFile(full, content)
}

/** The real file system, with every opening of a file's contents counted. */
function countingFs (): ScannerFs & { reads: string[] } {
  const reads: string[] = []
  return {
    ...nodeScannerFs,
    reads,
    createReadStream: (p, o) => {
      reads.push(p)
      return nodeScannerFs.createReadStream(p, o)
    }
  }
}

function scanner (dir: string, fs: ScannerFs = nodeScannerFs, cache: HashCacheStore = new MemoryHashCache(), maxFiles?: number): ManifestScanner {
  return new ManifestScanner({ clock: new VirtualClock(1_000), logger: silentLogger(), fs, cache }, { dataDir: dir, ...(maxFiles !== undefined ? { maxFiles } : {}) })
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex')

describe('ManifestScanner', () => {
  it('lists files of the four kinds with size, hash, kind, config and game count', async () => {
    const dir = await dataDir()
    await put(dir, 'selfplay/hex8_2p/a.jsonl', '{"g":1}\n{"g":2}\n')
    await put(dir, 'selfplay/hexagonal_2p/b.jsonl', '{"g":1}\n')
    await put(dir, 'models/square19_3p_best.pt', Buffer.alloc(1000, 7))
    await put(dir, 'training/batch.npz', 'x')
    await put(dir, 'games/empty.jsonl', '')
    await put(dir, 'db/CURRENT', 'not data') // not a kind dir
    await put(dir, 'stray.txt', 'not data')
    const r = await scanner(dir).scan()
    expect(r.files.map(f => [f.path, f.kind, f.config, f.gameCount, f.size])).toEqual([
      ['games/empty.jsonl', 'games', null, 0, 0],
      ['models/square19_3p_best.pt', 'models', 'square19_3p', 0, 1000],
      ['selfplay/hex8_2p/a.jsonl', 'selfplay', 'hex8_2p', 2, 16],
      ['selfplay/hexagonal_2p/b.jsonl', 'selfplay', 'hexagonal_2p', 1, 8],
      ['training/batch.npz', 'training', null, 0, 1]
    ])
    expect(r.files.find(f => f.path === 'training/batch.npz')?.sha256).toBe(sha('x'))
    expect(r.files.find(f => f.path === 'games/empty.jsonl')?.sha256).toBe(sha(''))
    expect(r.files.every(f => Number.isInteger(f.mtimeMs))).toBe(true)
  })

  it('skips .partial files, symlinks out of the data dir, dangling and directory symlinks', async () => {
    const dir = await dataDir()
    const outside = await dataDir()
    await put(outside, 'secret.jsonl', 'secret\n')
    await put(dir, 'selfplay/ok.jsonl', '{}\n')
    await put(dir, 'selfplay/incoming.jsonl.partial', 'half')
    await symlink(join(outside, 'secret.jsonl'), join(dir, 'selfplay/leak.jsonl'))
    await symlink(join(dir, 'selfplay/ok.jsonl'), join(dir, 'selfplay/alias.jsonl'))
    await symlink(join(dir, 'nowhere'), join(dir, 'selfplay/dangling.jsonl'))
    await symlink(outside, join(dir, 'selfplay/outdir'))
    await symlink(outside, join(dir, 'games')) // a kind dir that is a symlink out
    const r = await scanner(dir).scan()
    expect(r.files.map(f => f.path)).toEqual(['selfplay/alias.jsonl', 'selfplay/ok.jsonl'])
    expect(r.stats.skippedPartial).toBe(1)
    expect(r.stats.skippedSymlink).toBe(4) // leak, dangling, outdir, games
  })

  it('rescans 10,000 unchanged files without reading any of them, also after a restart', async () => {
    const dir = await dataDir()
    const N = 10_000
    for (let d = 0; d < 100; d++) {
      await mkdir(join(dir, 'selfplay', `hex8_2p_${d}`), { recursive: true })
      await Promise.all(Array.from({ length: N / 100 }, async (_, i) => await writeFile(join(dir, 'selfplay', `hex8_2p_${d}`, `g${i}.jsonl`), `{"d":${d},"i":${i}}\n`)))
    }
    const fs = countingFs()
    const cache = new JsonFileHashCache(join(dir, DEFAULT_HASH_CACHE_FILE), silentLogger())
    const s = scanner(dir, fs, cache)
    const first = await s.scan()
    expect(first.files).toHaveLength(N)
    expect(fs.reads).toHaveLength(N)
    expect(first.stats.hashed).toBe(N)

    fs.reads.length = 0
    const second = await s.scan()
    expect(fs.reads).toHaveLength(0)
    expect(second.stats).toMatchObject({ files: N, hashed: 0, cacheHits: N })
    expect(second.files).toEqual(first.files)

    // a new process: the cache comes back from the JSON file
    const restarted = scanner(dir, fs, new JsonFileHashCache(join(dir, DEFAULT_HASH_CACHE_FILE), silentLogger()))
    const third = await restarted.scan()
    expect(fs.reads).toHaveLength(0)
    expect(third.files).toEqual(first.files)

    // one file grows: exactly that one is read again
    await appendFile(join(dir, 'selfplay', 'hex8_2p_7', 'g3.jsonl'), '{"more":1}\n')
    const fourth = await restarted.scan()
    expect(fs.reads).toEqual([join(await realpath(dir), 'selfplay', 'hex8_2p_7', 'g3.jsonl')])
    expect(fourth.files.find(f => f.path === 'selfplay/hex8_2p_7/g3.jsonl')?.gameCount).toBe(2)
  }, 120_000)

  it('stops at maxFiles and says so', async () => {
    const dir = await dataDir()
    for (let i = 0; i < 5; i++) await put(dir, `games/g${i}.jsonl`, `${i}\n`)
    const r = await scanner(dir, nodeScannerFs, new MemoryHashCache(), 3).scan()
    expect(r.files).toHaveLength(3)
    expect(r.stats.truncated).toBe(true)
  })

  it('forgets cache entries of deleted files and takes hashes it is told about', async () => {
    const dir = await dataDir()
    await put(dir, 'games/a.jsonl', 'a\n')
    await put(dir, 'games/b.jsonl', 'b\n')
    const cache = new MemoryHashCache()
    const s = scanner(dir, nodeScannerFs, cache)
    await s.scan()
    expect(cache.entries.map(e => e.path).sort()).toEqual(['games/a.jsonl', 'games/b.jsonl'])
    await unlink(join(dir, 'games/b.jsonl'))
    await s.scan()
    expect(cache.entries.map(e => e.path)).toEqual(['games/a.jsonl'])
    expect(s.lookup('games/a.jsonl')?.sha256).toBe(sha('a\n'))
    expect(s.lookup('games/b.jsonl')).toBeUndefined()
  })
})

describe('toManifestEntry', () => {
  const file = (path: string, config: string | null, mtimeMs: number, size = 10, gameCount = 1) =>
    ({ path, size, mtimeMs, sha256: sha(path), kind: path.split('/')[0] as 'selfplay', config: config as 'hex8_2p' | null, gameCount })

  it('summarises per config and keeps the newest files within the budget', () => {
    const files = [
      file('selfplay/hex8_2p/a.jsonl', 'hex8_2p', 100, 10, 3),
      file('selfplay/hex8_2p/b.jsonl', 'hex8_2p', 300, 20, 4),
      file('selfplay/hexagonal_2p/c.jsonl', 'hexagonal_2p', 200, 30, 5),
      file('models/m.pt', null, 50, 40, 0)
    ]
    const m = toManifestEntry({ files }, { nodeId: 'node-1', generatedAt: 1234.7, maxEntries: 2 })
    expect(manifestSchema.parse(m)).toEqual(m)
    expect(m).toMatchObject({
      v: 1, nodeId: 'node-1', generatedAt: 1234, totalFiles: 4, totalBytes: 100, truncated: true,
      summary: { hex8_2p: { files: 2, bytes: 30, games: 7 }, hexagonal_2p: { files: 1, bytes: 30, games: 5 }, other: { files: 1, bytes: 40, games: 0 } }
    })
    expect(Object.keys(m.files)).toEqual(['selfplay/hex8_2p/b.jsonl', 'selfplay/hexagonal_2p/c.jsonl'])
  })

  it('lists everything when it fits, and honours a byte budget', () => {
    const files = Array.from({ length: 50 }, (_, i) => file(`games/g${String(i).padStart(2, '0')}.jsonl`, null, i))
    expect(toManifestEntry({ files }, { nodeId: 'n', generatedAt: 0, maxEntries: 100 }).truncated).toBe(false)
    const small = toManifestEntry({ files }, { nodeId: 'n', generatedAt: 0, maxEntries: 100, maxEntryBytes: 1_000 })
    expect(small.truncated).toBe(true)
    expect(Object.keys(small.files)).toHaveLength(5) // (15 + 160) bytes each
    expect(Object.keys(small.files)).toContain('games/g49.jsonl')
  })
})

/**
 * DiskPool with real worker threads (the compiled dist/src/transfer/disk-worker.js, built by
 * `npm test`'s pretest): jobs run off the main thread, owned buffers move to the worker and come
 * back for reuse, other data is copied, a dead worker fails its jobs and is replaced.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DiskPool, DiskPoolError, diskWorkerPath } from '../../../src/transfer/disk-pool.js'
import { keptBufferBytes, ownedBuffer, recycle } from '../../../src/transfer/owned-buffers.js'
import { tempDir } from '../../helpers.js'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

let dir: string
let root: string
let done: () => Promise<void>
const pools: DiskPool[] = []
beforeEach(async () => {
  const t = await tempDir('riftmesh-diskpool-')
  dir = t.dir
  done = t.cleanup
  root = await realpath(dir)
  await mkdir(join(dir, 'games'), { recursive: true })
})
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close()
  await done()
})

function pool (threads: number, workerPath?: string): DiskPool {
  const p = new DiskPool({ rootReal: root, threads, ...(workerPath !== undefined ? { workerPath } : {}) })
  pools.push(p)
  return p
}

describe('DiskPool', () => {
  it('finds the compiled worker from the source tree and from dist', () => {
    expect(diskWorkerPath('file:///x/riftmesh/src/transfer/disk-pool.ts')).toBe('/x/riftmesh/dist/src/transfer/disk-worker.js')
    expect(diskWorkerPath('file:///x/riftmesh/dist/src/transfer/disk-pool.js')).toBe('/x/riftmesh/dist/src/transfer/disk-worker.js')
  })

  for (const threads of [0, 2]) {
    it(`writes verified files and reads them back (${threads === 0 ? 'inline' : `${threads} worker threads`})`, async () => {
      const p = pool(threads)
      const files = Array.from({ length: 40 }, (_, i) => ({ rel: `games/g${i}.jsonl`, body: `{"n":${i}}\n`.repeat(i + 1) }))
      const written = await Promise.all([files.slice(0, 20), files.slice(20)].map(async part => await p.write(part.map(f => ({
        dest: join(dir, f.rel), relPath: f.rel, data: Buffer.from(f.body), expectedSha256: sha(f.body)
      })), threads > 0)))
      const outcomes = written.flat()
      expect(outcomes.every(o => o.ok)).toBe(true)
      expect(outcomes.map(o => o.ok && o.gameCount)).toEqual(files.map((_, i) => i + 1))
      const items = await Promise.all(files.map(async f => {
        const st = await stat(join(dir, f.rel))
        return { full: join(dir, f.rel), size: st.size, mtimeMs: Math.floor(st.mtimeMs) }
      }))
      const read = await p.read(items)
      expect(read.map(r => r.ok ? Buffer.from(r.data).toString() : r.code)).toEqual(files.map(f => f.body))
      expect(p.outstandingBytes).toBe(0)
    })
  }

  it.runIf(existsSync('/proc/thread-self/comm'))('names its threads riftmesh-disk, so top -H and the bench tell them from V8\'s', async () => {
    const named = (): number => readdirSync('/proc/self/task').filter(t => {
      try {
        return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'riftmesh-disk'
      } catch {
        return false // the thread ended meanwhile
      }
    }).length
    const before = named()
    const p = pool(2)
    const f = 'games/named.jsonl'
    await Promise.all([0, 1].map(async i => await p.write([{ dest: join(dir, `${f}${i}`), relPath: f, data: Buffer.from('{}\n'), expectedSha256: sha('{}\n') }], false)))
    expect(named() - before).toBe(2)
  })

  it('moves an owned buffer to the worker (detached here) and copies anything else', async () => {
    const p = pool(1)
    const owned = ownedBuffer(100_000).fill(7)
    const kept = keptBufferBytes()
    const shared = Buffer.alloc(200_000, 9)
    const view = shared.subarray(50_000, 150_000)
    const out = await p.write([
      { dest: join(dir, 'games/owned.bin'), relPath: 'games/owned.bin', data: owned, expectedSha256: sha(Buffer.alloc(100_000, 7)) },
      { dest: join(dir, 'games/copied.bin'), relPath: 'games/copied.bin', data: view, expectedSha256: sha(Buffer.alloc(100_000, 9)) }
    ], false)
    expect(out.every(o => o.ok)).toBe(true)
    expect(owned.byteLength).toBe(0) // moved away
    expect(shared.byteLength).toBe(200_000) // untouched
    expect(await readFile(join(dir, 'games/copied.bin'))).toEqual(Buffer.alloc(100_000, 9))
    // the owned buffer came back (the copy is not kept) and is handed out again for a frame of its size class
    expect(keptBufferBytes() - kept).toBe(128 * 1024)
    const again = ownedBuffer(90_000)
    expect(again.buffer.byteLength).toBe(128 * 1024)
    expect(keptBufferBytes()).toBe(kept)
  })

  it('reads into recycled memory lent to the worker; memory of a failed read comes home too', async () => {
    const p = pool(1)
    const body = Buffer.alloc(100_000, 5)
    await writeFile(join(dir, 'games/r.bin'), body)
    const st = await stat(join(dir, 'games/r.bin'))
    const lent = ownedBuffer(100_000) // a 128 KiB buffer, given back so the read can use it
    const lentMemory = lent.buffer as ArrayBuffer
    recycle(lentMemory)
    const kept = keptBufferBytes()
    const [ok, missing] = await p.read([
      { full: join(dir, 'games/r.bin'), size: st.size, mtimeMs: Math.floor(st.mtimeMs) },
      { full: join(dir, 'games/gone.bin'), size: 10, mtimeMs: 0 }
    ])
    expect(ok?.ok === true && Buffer.compare(Buffer.from(ok.data), body)).toBe(0)
    expect(missing).toMatchObject({ ok: false, code: 'CHANGED' })
    expect(ok?.ok === true && ok.data.buffer.byteLength).toBe(128 * 1024) // a size-class buffer, not a fresh exact one
    // the kept 128 KiB buffer is out with the data; the 64 KiB one lent for the failed read is back
    expect(keptBufferBytes() - kept).toBe(-128 * 1024 + 64 * 1024)
    if (ok?.ok === true) recycle(ok.data.buffer as ArrayBuffer)
    expect(keptBufferBytes() - kept).toBe(64 * 1024)
  })

  it('fails the jobs of a worker that dies, and starts a new one for the next job', async () => {
    const { dir: scripts, cleanup } = await tempDir('riftmesh-diskpool-bad-')
    try {
      const dying = join(scripts, 'dying.mjs')
      await writeFile(dying, 'process.exit(3)\n')
      const bad = pool(1, dying)
      await expect(bad.write([{ dest: join(dir, 'games/x'), relPath: 'games/x', data: Buffer.from('x'), expectedSha256: sha('x') }], false))
        .rejects.toThrow(DiskPoolError)
      await expect(bad.read([])).rejects.toThrow(/exited with code 3/)
    } finally {
      await cleanup()
    }
  })

  it('refuses a thread count out of range', () => {
    expect(() => new DiskPool({ rootReal: root, threads: -1 })).toThrow(RangeError)
    expect(() => new DiskPool({ rootReal: root, threads: 1.5 })).toThrow(RangeError)
  })
})

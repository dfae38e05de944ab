/**
 * The synchronous file work of batched transfers (disk-ops.ts), on a real temp dir: a holder
 * reads only the scanned version of a file inside its data dir; a target writes only a file
 * whose bytes hash to the expected sha256, never through a symlink, and counts games.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, realpath, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readListed, writeVerified } from '../../../src/transfer/disk-ops.js'
import { loadFsSync, type SyncFs } from '../../../src/transfer/fs-sync.js'
import { tempDir } from '../../helpers.js'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

let dir: string
let root: string
let done: () => Promise<void>
beforeEach(async () => {
  const t = await tempDir('riftmesh-diskops-')
  dir = t.dir
  done = t.cleanup
  root = await realpath(dir)
  await mkdir(join(dir, 'selfplay', 'hex8_2p'), { recursive: true })
})
afterEach(async () => { await done() })

async function listed (rel: string, content: string): Promise<{ full: string, size: number, mtimeMs: number }> {
  const full = join(dir, rel)
  await writeFile(full, content)
  const st = await stat(full)
  return { full, size: st.size, mtimeMs: Math.floor(st.mtimeMs) }
}

describe('readListed (holder)', () => {
  it('reads the scanned version whole, in memory of its own', async () => {
    const item = await listed('selfplay/hex8_2p/a.jsonl', '{"g":1}\n{"g":2}\n')
    const r = readListed(item, root)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(Buffer.from(r.data).toString()).toBe('{"g":1}\n{"g":2}\n')
    expect(r.data.byteOffset).toBe(0)
    expect(r.data.buffer.byteLength).toBe(r.data.byteLength)
  })

  it('answers CHANGED for a file that changed or vanished since the scan, BAD_PATH for a symlink out', async () => {
    const item = await listed('selfplay/hex8_2p/b.jsonl', 'one\n')
    await writeFile(item.full, 'one\ntwo\n')
    expect(readListed(item, root)).toMatchObject({ ok: false, code: 'CHANGED' })
    expect(readListed({ ...item, full: join(dir, 'selfplay/hex8_2p/gone.jsonl') }, root)).toMatchObject({ ok: false, code: 'CHANGED' })
    const { dir: outside, cleanup } = await tempDir('riftmesh-diskops-out-')
    try {
      await writeFile(join(outside, 'secret'), 'secret\n')
      const link = join(dir, 'selfplay/hex8_2p/link.jsonl')
      await symlink(join(outside, 'secret'), link)
      const st = await stat(link)
      expect(readListed({ full: link, size: st.size, mtimeMs: Math.floor(st.mtimeMs) }, root)).toMatchObject({ ok: false, code: 'BAD_PATH' })
    } finally {
      await cleanup()
    }
  })
})

describe('writeVerified (target)', () => {
  const body = '{"g":1}\n\n{"g":2}\n{"g":3}'
  for (const fsync of [false, true]) {
    it(`places a file whose bytes hash right, with its game count${fsync ? ', fsynced' : ''}`, async () => {
      const dest = join(dir, 'selfplay/hex8_2p/new.jsonl')
      const [o] = writeVerified([{ dest, relPath: 'selfplay/hex8_2p/new.jsonl', data: Buffer.from(body), expectedSha256: sha(body) }], fsync)
      expect(o).toMatchObject({ ok: true, sha256: sha(body), gameCount: 3, size: body.length })
      expect(await readFile(dest, 'utf8')).toBe(body)
      const st = await stat(dest)
      expect(o?.ok === true && o.mtimeMs).toBe(st.mtimeMs)
      expect((await readdir(join(dir, 'selfplay/hex8_2p'))).filter(n => n.endsWith('.partial'))).toEqual([])
    })
  }

  it('writes nothing when the bytes do not hash to the expected sha256, and places the good files of the same job', async () => {
    const bad = join(dir, 'selfplay/hex8_2p/bad.jsonl')
    const good = join(dir, 'selfplay/hex8_2p/good.jsonl')
    const out = writeVerified([
      { dest: bad, relPath: 'selfplay/hex8_2p/bad.jsonl', data: Buffer.from('tampered\n'), expectedSha256: sha('original\n') },
      { dest: good, relPath: 'selfplay/hex8_2p/good.jsonl', data: Buffer.from('fine\n'), expectedSha256: sha('fine\n') }
    ], true)
    expect(out[0]).toEqual({ ok: false, code: 'HASH_MISMATCH', sha256: sha('tampered\n') })
    expect(out[1]).toMatchObject({ ok: true })
    expect(await readdir(join(dir, 'selfplay/hex8_2p'))).toEqual(['good.jsonl'])
  })

  it('replaces a symlink planted at the partial instead of writing through it', async () => {
    const { dir: outside, cleanup } = await tempDir('riftmesh-diskops-out-')
    try {
      const victim = join(outside, 'victim')
      await writeFile(victim, 'untouched\n')
      const dest = join(dir, 'selfplay/hex8_2p/c.jsonl')
      await symlink(victim, `${dest}.partial`)
      const [o] = writeVerified([{ dest, relPath: 'selfplay/hex8_2p/c.jsonl', data: Buffer.from('mine\n'), expectedSha256: sha('mine\n') }], false)
      expect(o).toMatchObject({ ok: true })
      expect(await readFile(victim, 'utf8')).toBe('untouched\n')
      expect(await readFile(dest, 'utf8')).toBe('mine\n')
    } finally {
      await cleanup()
    }
  })

  it('reports an I/O failure per file (a missing directory) and goes on with the others', async () => {
    const out = writeVerified([
      { dest: join(dir, 'selfplay/nodir/x.jsonl'), relPath: 'selfplay/nodir/x.jsonl', data: Buffer.from('x\n'), expectedSha256: sha('x\n') },
      { dest: join(dir, 'selfplay/hex8_2p/y.jsonl'), relPath: 'selfplay/hex8_2p/y.jsonl', data: Buffer.from('y\n'), expectedSha256: sha('y\n') }
    ], true)
    expect(out[0]).toMatchObject({ ok: false, code: 'IO' })
    expect((out[0] as { message: string }).message).toMatch(/ENOENT/)
    expect(out[1]).toMatchObject({ ok: true })
  })

  describe('with syncfs (the native addon)', () => {
    const native = loadFsSync()
    /** The addon's syncfs, counting its calls. */
    function counted (): { syncfs: SyncFs, calls: number[] } {
      if (!('syncfs' in native)) throw new Error(`the native addon did not load: ${native.why}`)
      const real = native.syncfs
      const c = { calls: [] as number[], syncfs: (fd: number) => { c.calls.push(fd); real(fd) } }
      return c
    }

    it.runIf(process.platform === 'linux')('makes a job of many files in several directories durable with two syncfs calls, not one fsync each', async () => {
      await mkdir(join(dir, 'selfplay', 'sq8_2p'), { recursive: true })
      const files = Array.from({ length: 12 }, (_, i) => ({ rel: `selfplay/${i % 2 === 0 ? 'hex8_2p' : 'sq8_2p'}/f${i}.jsonl`, body: `{"i":${i}}\n`.repeat(i + 1) }))
      const c = counted()
      const out = writeVerified(files.map(f => ({ dest: join(dir, f.rel), relPath: f.rel, data: Buffer.from(f.body), expectedSha256: sha(f.body) })), true, c.syncfs)
      expect(out.every(o => o.ok)).toBe(true)
      expect(c.calls).toHaveLength(2) // after the writes, after the renames: one file system here
      for (const f of files) expect(await readFile(join(dir, f.rel), 'utf8')).toBe(f.body)
      expect((await readdir(join(dir, 'selfplay/hex8_2p'))).filter(n => n.endsWith('.partial'))).toEqual([])
    })

    it.runIf(process.platform === 'linux')('throws EBADF for a descriptor that is not open, and a type error for no descriptor', () => {
      const c = counted()
      expect(() => c.syncfs(1_000_000)).toThrow(expect.objectContaining({ code: 'EBADF' }) as Error)
      const raw = (native as { syncfs: (fd?: unknown) => void }).syncfs
      expect(() => raw('x')).toThrow(TypeError)
    })

    it('fails every file of a job whose data could not be made durable, and leaves neither file nor partial', async () => {
      const failing: SyncFs = () => { throw Object.assign(new Error('syncfs: Input/output error'), { code: 'EIO' }) }
      const files = ['a', 'b', 'c'].map(n => ({ rel: `selfplay/hex8_2p/${n}.jsonl`, body: `${n}\n` }))
      const out = writeVerified(files.map(f => ({ dest: join(dir, f.rel), relPath: f.rel, data: Buffer.from(f.body), expectedSha256: sha(f.body) })), true, failing)
      expect(out.map(o => o.ok === false && o.code)).toEqual(['IO', 'IO', 'IO'])
      expect((out[0] as { message: string }).message).toMatch(/EIO/)
      expect(await readdir(join(dir, 'selfplay/hex8_2p'))).toEqual([])
    })

    it('reports files placed but not made durable when the second syncfs fails', async () => {
      let n = 0
      const secondFails: SyncFs = () => { if (++n === 2) throw Object.assign(new Error('syncfs: Input/output error'), { code: 'EIO' }) }
      const rel = 'selfplay/hex8_2p/d.jsonl'
      const [o] = writeVerified([{ dest: join(dir, rel), relPath: rel, data: Buffer.from('d\n'), expectedSha256: sha('d\n') }], true, secondFails)
      expect(o).toMatchObject({ ok: false, code: 'IO' })
      expect((o as { message: string }).message).toMatch(/not made durable.*EIO/)
    })
  })
})

/**
 * ChunkReader on a real file: pieces in order within the credit, pooled chunk memory handed back
 * only with a chunk's last piece and reused by a later chunk, a file that shrank is an error.
 */
import { open, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChunkReader } from '../../../src/transfer/chunk-reader.js'
import { isOwned } from '../../../src/transfer/owned-buffers.js'
import { tempDir } from '../../helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0)) await c() })

async function fileOf (bytes: Buffer): Promise<string> {
  const t = await tempDir('riftmesh-chunks-')
  cleanups.push(t.cleanup)
  const path = join(t.dir, 'f.bin')
  await writeFile(path, bytes)
  return path
}

const CHUNK = 256 * 1024

describe('ChunkReader', () => {
  it('yields the file from the offset in pieces no larger than asked, releasing each chunk with its last piece', async () => {
    const bytes = Buffer.from(Array.from({ length: 3 * CHUNK + 1000 }, (_, i) => (i * 7) % 251))
    const fh = await open(await fileOf(bytes), 'r')
    try {
      const offset = 1000
      const reader = new ChunkReader(fh, offset, bytes.byteLength, CHUNK, () => new Error('short'))
      const got: Buffer[] = []
      let released = 0
      for (let i = 0; !reader.done; i++) {
        // every other piece asks for less than a chunk, so some chunks come in two pieces
        const { at, data, release } = await reader.next(i % 2 === 0 ? CHUNK : 100_000)
        expect(at).toBe(offset + got.reduce((n, b) => n + b.byteLength, 0))
        expect(isOwned(data)).toBe(true)
        got.push(Buffer.from(data))
        const chunkEnds = (at + data.byteLength - offset) % CHUNK === 0 || at + data.byteLength === bytes.byteLength
        expect(release !== undefined).toBe(chunkEnds)
        if (release !== undefined) { release(); released++ }
      }
      expect(Buffer.concat(got).equals(bytes.subarray(offset))).toBe(true)
      expect(released).toBe(Math.ceil((bytes.byteLength - offset) / CHUNK))
    } finally {
      await fh.close()
    }
  })

  it('reads a later chunk into the memory an earlier one released', async () => {
    const fh = await open(await fileOf(Buffer.alloc(8 * CHUNK, 1)), 'r')
    try {
      const reader = new ChunkReader(fh, 0, 8 * CHUNK, CHUNK, () => new Error('short'))
      const seen = new Set<ArrayBufferLike>()
      let reused = 0
      while (!reader.done) {
        const { data, release } = await reader.next(CHUNK)
        if (seen.has(data.buffer)) reused++
        seen.add(data.buffer)
        release?.()
      }
      // one chunk is always read ahead, so two buffers take turns
      expect(reused).toBeGreaterThanOrEqual(5)
    } finally {
      await fh.close()
    }
  })

  it('fails with the given error when the file is shorter than listed', async () => {
    const path = await fileOf(Buffer.alloc(2 * CHUNK, 1))
    const fh = await open(path, 'r')
    try {
      await truncate(path, CHUNK + 10)
      const reader = new ChunkReader(fh, 0, 2 * CHUNK, CHUNK, () => new Error('the file changed'))
      await reader.next(CHUNK)
      await expect(reader.next(CHUNK)).rejects.toThrow('the file changed')
    } finally {
      await fh.close()
    }
  })
})

/**
 * PartialFile on a real disk: through the page cache and in direct mode (O_DIRECT from the
 * native addon's aligned memory), with pieces that fit no block boundary, a resume, a wrong hash.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/core/logger.js'
import { HashMismatchError } from '../../../src/transfer/errors.js'
import { loadFsSync } from '../../../src/transfer/fs-sync.js'
import { DIRECT_ALIGN, DirSyncer, PartialFile, type DirectIo } from '../../../src/transfer/partial-file.js'
import { tempDir } from '../../helpers.js'

const MiB = 1024 * 1024
const log = silentLogger()
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const native = loadFsSync()
/** Direct mode needs the addon's aligned memory (built by npm install on Linux). */
const haveDirect = 'alignedBuffer' in native && native.alignedBuffer !== undefined
const directIo = (): DirectIo => ({ alignedBuffer: (native as { alignedBuffer: (n: number) => ArrayBuffer }).alignedBuffer })

/** Append `content[from..]` in pieces of these sizes (the last piece takes the rest). */
async function appendIn (p: PartialFile, content: Buffer, from: number, sizes: number[]): Promise<void> {
  let off = from
  for (const n of sizes) {
    if (off >= content.length) break
    await p.append(content.subarray(off, Math.min(content.length, off + n)))
    off += n
  }
  if (off < content.length) await p.append(content.subarray(off))
}

describe('PartialFile', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => ({ dir, cleanup } = await tempDir('riftmesh-partial-')))
  afterEach(async () => await cleanup())

  // 3 MiB and 4321 bytes in pieces that straddle every 1 MiB write and end mid-block
  const content = randomBytes(3 * MiB + 4321)
  const pieces = [1000, MiB + 7, 700_000, 5, 2 * MiB]

  it('through the page cache: writes, verifies and renames into place', async () => {
    const dest = join(dir, 'f.bin')
    const p = await PartialFile.open(dest, 'f.bin', content.length, log)
    expect(p.writesDirect).toBe(false)
    await appendIn(p, content, 0, pieces)
    expect(await p.commit(sha(content), 'peer', new DirSyncer(log))).toMatchObject({ sha256: sha(content) })
    expect((await readFile(dest)).equals(content)).toBe(true)
    expect(await readdir(dir)).toEqual(['f.bin'])
  })

  it.runIf(haveDirect)('in direct mode: the padded last block is cut off, the file is byte for byte the same', async () => {
    const dest = join(dir, 'f.bin')
    const p = await PartialFile.open(dest, 'f.bin', content.length, log, undefined, directIo())
    expect(p.writesDirect).toBe(true)
    await appendIn(p, content, 0, pieces)
    expect(p.size).toBe(content.length)
    expect(await p.commit(sha(content), 'peer', new DirSyncer(log))).toMatchObject({ sha256: sha(content) })
    const got = await readFile(dest)
    expect(got.length).toBe(content.length)
    expect(got.equals(content)).toBe(true)
    expect(await readdir(dir)).toEqual(['f.bin'])
  })

  it.runIf(haveDirect)('in direct mode: a resume starts at the last whole block of the partial', async () => {
    const dest = join(dir, 'f.bin')
    await writeFile(dest + '.partial', content.subarray(0, 2 * DIRECT_ALIGN + 1234))
    const p = await PartialFile.open(dest, 'f.bin', content.length, log, undefined, directIo())
    expect(p.writesDirect).toBe(true)
    expect(p.resumedFrom).toBe(2 * DIRECT_ALIGN)
    await appendIn(p, content, p.resumedFrom, [333_333, MiB])
    await p.commit(sha(content), 'peer', new DirSyncer(log))
    expect((await readFile(dest)).equals(content)).toBe(true)
  })

  it.runIf(haveDirect)('in direct mode: a wrong hash deletes the partial and nothing is renamed', async () => {
    const dest = join(dir, 'f.bin')
    const p = await PartialFile.open(dest, 'f.bin', content.length, log, undefined, directIo())
    await appendIn(p, content, 0, pieces)
    await expect(p.commit(sha(Buffer.from('another file')), 'peer', new DirSyncer(log))).rejects.toBeInstanceOf(HashMismatchError)
    expect(await readdir(dir)).toEqual([])
  })

  it.runIf(haveDirect)('in direct mode: an abandoned pull leaves whole blocks for the next one', async () => {
    const dest = join(dir, 'f.bin')
    const first = await PartialFile.open(dest, 'f.bin', content.length, log, undefined, directIo())
    await appendIn(first, content.subarray(0, MiB + 5000), 0, [MiB + 5000])
    await first.abandon()
    // one whole 1 MiB write reached the disk; the 5000 bytes after it were in memory only
    const second = await PartialFile.open(dest, 'f.bin', content.length, log, undefined, directIo())
    expect(second.resumedFrom).toBe(MiB)
    await appendIn(second, content, second.resumedFrom, [MiB])
    await second.commit(sha(content), 'peer', new DirSyncer(log))
    expect((await readFile(dest)).equals(content)).toBe(true)
  })
})

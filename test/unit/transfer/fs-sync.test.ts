/**
 * The native syncfs addon's loader: found from the source tree and from dist, built by
 * `npm install` on Linux (CI builds it), a missing build explained rather than thrown.
 */
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadFsSync, nativeAddonPath } from '../../../src/transfer/fs-sync.js'
import { DiskPool } from '../../../src/transfer/disk-pool.js'
import { tempDir } from '../../helpers.js'

describe('fs-sync', () => {
  it('finds the built addon from the source tree and from dist', () => {
    expect(nativeAddonPath('file:///x/riftmesh/src/transfer/fs-sync.ts')).toBe('/x/riftmesh/dist/native/riftmesh-fs.node')
    expect(nativeAddonPath('file:///x/riftmesh/dist/src/transfer/fs-sync.js')).toBe('/x/riftmesh/dist/native/riftmesh-fs.node')
  })

  it.runIf(process.platform === 'linux')('was built by npm install and loads', () => {
    const r = loadFsSync()
    expect('why' in r ? r.why : 'loaded').toBe('loaded')
  })

  it.runIf(process.platform === 'linux')('gives aligned memory that an O_DIRECT write accepts, and refuses sizes out of range', async () => {
    const r = loadFsSync()
    if (!('alignedBuffer' in r) || r.alignedBuffer === undefined) throw new Error('the built addon has no alignedBuffer')
    const b = Buffer.from(r.alignedBuffer(64 * 1024))
    b.fill(0x5a)
    const { dir, cleanup } = await tempDir('riftmesh-fssync-')
    try {
      const fd = openSync(join(dir, 'd'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644)
      try {
        expect(writeSync(fd, b, 0, b.length, 0)).toBe(b.length)
      } finally {
        closeSync(fd)
      }
      expect(readFileSync(join(dir, 'd')).equals(b)).toBe(true)
    } finally {
      await cleanup()
    }
    expect(() => r.alignedBuffer?.(0)).toThrow(RangeError)
    expect(() => r.alignedBuffer?.(2 ** 40)).toThrow(RangeError)
  })

  it('says why there is no syncfs when the addon was not built, without throwing', () => {
    const r = loadFsSync('/nonexistent/riftmesh-fs.node')
    expect(r).toEqual({ why: expect.stringMatching(/was not built/) as string })
  })

  it('tells the disk pool how it makes files durable: syncfs, else fsync with the reason', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-fssync-')
    try {
      expect(new DiskPool({ rootReal: dir, threads: 0, syncfs: false }).durability).toEqual({ mode: 'fsync', why: 'sync.syncfs is off' })
      expect(new DiskPool({ rootReal: dir, threads: 0, addonPath: join(dir, 'none.node') }).durability).toMatchObject({ mode: 'fsync', why: expect.stringMatching(/was not built/) as string })
      if (process.platform === 'linux') expect(new DiskPool({ rootReal: dir, threads: 0 }).durability).toEqual({ mode: 'syncfs' })
    } finally {
      await cleanup()
    }
  })
})

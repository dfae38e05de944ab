/**
 * The native syncfs addon's loader: found from the source tree and from dist, built by
 * `npm install` on Linux (CI builds it), a missing build explained rather than thrown.
 */
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

/**
 * The data dir check at node start: a file where the dir should be, and a dir this user cannot
 * write (as a non-root user only: root writes anywhere; the CLI test covers it as `nobody`).
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DataDirError } from '../../../src/core/errors.js'
import { dataDirProblem, prepareDataDir } from '../../../src/node/data-dir.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => { ({ dir, cleanup } = await tempDir('riftmesh-datadir-')) })
afterEach(async () => {
  await chmod(dir, 0o700)
  await cleanup()
})

describe('the data dir', () => {
  it('is created, private, when missing', async () => {
    const d = join(dir, 'a', 'b')
    await prepareDataDir(d)
    expect((await stat(d)).mode & 0o777).toBe(0o700)
  })

  it('that is a file is refused in one line naming it and the fix', async () => {
    const f = join(dir, 'file')
    await writeFile(f, 'x')
    const err = await prepareDataDir(f).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(DataDirError)
    expect((err as Error).message).toBe(`--data-dir ${f}: is a file, not a directory (move the file away, or pick another directory with --data-dir)`)
    const under = await prepareDataDir(join(f, 'sub')).then(() => undefined, (e: unknown) => e)
    expect((under as Error).message).toContain('is a file, not a directory')
  })

  it.skipIf(process.getuid?.() === 0)('that this user cannot write is refused', async () => {
    const d = join(dir, 'ro')
    await mkdir(d, { mode: 0o500 })
    await expect(prepareDataDir(d)).rejects.toThrow(/is not writable by (user|uid) .* \(EACCES\); give that user the directory \(chown\)/)
  })

  it.each([
    ['EROFS', /is on a read-only file system \(EROFS\)/],
    ['EACCES', /is not writable by/],
    ['ENOSPC', /the disk is full/],
    ['ENOTDIR', /is a file, not a directory/]
  ])('explains %s', (code, expected) => {
    expect(dataDirProblem('/d', Object.assign(new Error(code), { code }))?.message).toMatch(expected)
  })
})

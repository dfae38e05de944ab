import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkTransferable, resolveInside, resolveRealInside } from '../../../src/transfer/paths.js'
import { PathRefusedError } from '../../../src/transfer/errors.js'
import { tempDir } from '../../helpers.js'

const ROOT = '/data/rift'

describe('resolveInside (pure)', () => {
  const refused: Array<[string, string]> = [
    ['../../etc/passwd', 'not canonical'],
    ['/etc/passwd', 'absolute'],
    ['a/../../x', 'not canonical'],
    ['a/../b', 'not canonical'],
    ['./a', 'not canonical'],
    ['a//b', 'not canonical'],
    ['a/', 'not canonical'],
    ['..', 'not canonical'],
    ['', 'empty'],
    ['selfplay/a\0.jsonl', 'NUL'],
    ['\0', 'NUL'],
    ['selfplay\\..\\..\\x', 'backslash'],
    ['C:/Windows/x', 'absolute'],
    ['x'.repeat(1025), 'longer than']
  ]
  it.each(refused)('refuses %j (%s)', (rel, why) => {
    expect(() => resolveInside(ROOT, rel)).toThrow(PathRefusedError)
    expect(() => resolveInside(ROOT, rel)).toThrow(why)
  })

  const ok: Array<[string, string]> = [
    ['selfplay/hex8_2p/run.jsonl', `${ROOT}/selfplay/hex8_2p/run.jsonl`],
    ['models/best.pt', `${ROOT}/models/best.pt`],
    ['a', `${ROOT}/a`],
    ['..a/b..', `${ROOT}/..a/b..`],
    ['games/with space/ünïcode.jsonl', `${ROOT}/games/with space/ünïcode.jsonl`]
  ]
  it.each(ok)('resolves %j inside the data dir', (rel, want) => {
    expect(resolveInside(ROOT, rel)).toBe(want)
  })
})

describe('checkTransferable', () => {
  it.each(['db/CURRENT', 'identity.key', 'selfplay', 'selfplay/x.jsonl.partial', 'other/x'])('refuses %j', rel => {
    expect(() => checkTransferable(ROOT, rel)).toThrow(PathRefusedError)
  })
  it.each(['selfplay/x.jsonl', 'models/a/b.pt', 'training/t.npz', 'games/g.jsonl'])('accepts %j', rel => {
    expect(checkTransferable(ROOT, rel)).toBe(resolve(ROOT, rel))
  })
})

describe('resolveRealInside (symlinks)', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { await Promise.all(cleanups.splice(0).map(async c => await c())) })

  it('refuses a symlink out of the data dir and accepts one that stays inside', async () => {
    const { dir: outside, cleanup: c1 } = await tempDir('riftmesh-outside-')
    const { dir: data, cleanup: c2 } = await tempDir('riftmesh-data-')
    cleanups.push(c1, c2)
    await writeFile(join(outside, 'secret'), 'x')
    await mkdir(join(data, 'selfplay'), { recursive: true })
    await writeFile(join(data, 'selfplay', 'real.jsonl'), '{}\n')
    await symlink(join(outside, 'secret'), join(data, 'selfplay', 'out.jsonl'))
    await symlink(outside, join(data, 'selfplay', 'outdir'))
    await symlink(join(data, 'selfplay', 'real.jsonl'), join(data, 'selfplay', 'in.jsonl'))
    await expect(resolveRealInside(data, 'selfplay/out.jsonl')).rejects.toThrow(PathRefusedError)
    await expect(resolveRealInside(data, 'selfplay/outdir/secret')).rejects.toThrow(PathRefusedError)
    await expect(resolveRealInside(data, 'selfplay/in.jsonl')).resolves.toMatch(/selfplay\/real\.jsonl$/)
    await expect(resolveRealInside(data, '../../etc/passwd')).rejects.toThrow(PathRefusedError)
  })
})

/**
 * LevelDB failures in an operator's words, on a real database: a truncated table file, a held
 * lock, and moving a broken database aside without losing a byte of it.
 */
import { readdir, readFile, truncate, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CorruptStoreError, StoreError } from '../../../src/core/errors.js'
import { brokenDbPath, levelFailure, moveDatabaseAside, openLevel, type RootDb } from '../../../src/store/level.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
const open: RootDb[] = []

beforeEach(async () => { ({ dir, cleanup } = await tempDir('riftmesh-level-')) })
afterEach(async () => {
  for (const db of open.splice(0)) await db.close().catch(() => undefined)
  await cleanup()
})

async function readAll (db: RootDb): Promise<number> {
  let n = 0
  for await (const [, v] of db.iterator()) n += v.length
  return n
}

/** A real database with a table file (.ldb): written, closed, opened again (which flushes the log to a table), closed. */
async function databaseWithTable (path: string): Promise<string> {
  const db = await openLevel(path)
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, new Uint8Array(100).fill(i))
  await db.close()
  const again = await openLevel(path)
  await again.close()
  const table = (await readdir(path)).find(f => f.endsWith('.ldb'))
  if (table === undefined) throw new Error('no .ldb table file was written')
  return join(path, table)
}

describe('a damaged database', () => {
  it('reads as a CorruptStoreError naming the path and --reset-state', async () => {
    const path = join(dir, 'db')
    const table = await databaseWithTable(path)
    await truncate(table, 100)
    const db = await openLevel(path)
    open.push(db)
    const err = await readAll(db).then(() => undefined, (e: unknown) => e)
    expect(err).toBeDefined()
    const shown = levelFailure(err, path)
    expect(shown).toBeInstanceOf(CorruptStoreError)
    expect(shown?.message).toMatch(new RegExp(`^the database in ${path} is damaged and cannot be read \\(LEVEL_IO_ERROR: .*\\.ldb.*\\); start once with \`riftmesh node --reset-state\``))
  })

  it('held by another open is "in use by another process", not LevelDB\'s lock text', async () => {
    const path = join(dir, 'db')
    open.push(await openLevel(path))
    const err = await openLevel(path).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StoreError)
    expect(err).not.toBeInstanceOf(CorruptStoreError)
    expect((err as Error).message).toBe(`the database in ${path} is in use by another process (is a node already running with this data dir?)`)
  })

  // [case, the error, what is said]
  const CASES: Array<[string, unknown, RegExp | undefined]> = [
    ['a corrupt table', Object.assign(new Error('Corruption: bad block'), { code: 'LEVEL_CORRUPTION' }), /damaged and cannot be read \(LEVEL_CORRUPTION: Corruption: bad block\)/],
    ['an I/O error under a wrapper', Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error('IO error: x.ldb: Invalid argument'), { code: 'LEVEL_IO_ERROR' }) }), /damaged .*LEVEL_IO_ERROR: IO error: x\.ldb/],
    ['a full disk', Object.assign(new Error('IO error: x.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }), /the disk is full/],
    ['a read-only mount', Object.assign(new Error('IO error: LOCK: Read-only file system'), { code: 'LEVEL_IO_ERROR' }), /must be writable by the user/],
    ['an error that is not LevelDB\'s', new Error('boom'), undefined],
    ['a LevelDB error that is not about the files', Object.assign(new Error('not found'), { code: 'LEVEL_NOT_FOUND' }), undefined]
  ]
  it.each(CASES)('%s', (_name, err, expected) => {
    const shown = levelFailure(err, '/data/db')
    if (expected === undefined) expect(shown).toBeUndefined()
    else expect(shown?.message).toMatch(expected)
  })
})

describe('moving a database aside', () => {
  it('renames it to db.broken-<time> with every file intact, so the next open starts empty', async () => {
    const path = join(dir, 'db')
    const table = await databaseWithTable(path)
    const before = await readFile(table)
    const to = await moveDatabaseAside(path, Date.UTC(2026, 11, 7, 16, 54, 0))
    expect(to).toBe(join(dir, 'db.broken-20261207T165400Z'))
    expect(await readFile(join(to as string, table.slice(path.length + 1)))).toEqual(before)
    const fresh = await openLevel(path)
    open.push(fresh)
    expect(await readAll(fresh)).toBe(0)
  })

  it('does nothing when there is no database', async () => {
    expect(await moveDatabaseAside(join(dir, 'db'), 0)).toBeNull()
  })

  it('never overwrites an earlier broken copy', async () => {
    const path = join(dir, 'db')
    await mkdir(path)
    await mkdir(brokenDbPath(path, 0))
    await writeFile(join(brokenDbPath(path, 0), 'KEEP'), 'x')
    await expect(moveDatabaseAside(path, 0)).rejects.toThrow(/already exists/)
    expect(await readFile(join(brokenDbPath(path, 0), 'KEEP'), 'utf8')).toBe('x')
  })
})

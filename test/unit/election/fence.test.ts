import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/core/logger.js'
import { EpochFence } from '../../../src/election/fence.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
let db: RootDb
beforeEach(async () => { ({ dir, cleanup } = await tempDir()); db = await openLevel(dir) })
afterEach(async () => { await db.close(); await cleanup() })

describe('EpochFence', () => {
  it('accepts equal and higher epochs and refuses lower ones', async () => {
    const f = new EpochFence(new LocalTables(db, silentLogger()))
    expect(await f.admit(3)).toBe(true)
    expect(await f.admit(3)).toBe(true)
    expect(await f.admit(2)).toBe(false)
    expect(await f.admit(5)).toBe(true)
    expect(await f.admit(4)).toBe(false)
    expect(f.epoch).toBe(5)
  })

  it('remembers the highest epoch across a restart', async () => {
    await new EpochFence(new LocalTables(db, silentLogger())).admit(7)
    await db.close()
    db = await openLevel(dir)
    const f = new EpochFence(new LocalTables(db, silentLogger()))
    expect(await f.load()).toBe(7)
    expect(await f.admit(6)).toBe(false)
  })
})

/**
 * A real LevelDB (classic-level) whose writes fail with LevelDB's own ENOSPC error while `full`
 * is set, as they do on a full disk — for unit tests of what the store does about failed writes
 * without filling a real disk (test/integration/disk-full.test.ts does that on a tmpfs).
 */
import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import type { RootDb } from '../../src/store/level.js'

type Impl = (...args: unknown[]) => Promise<unknown>

export class FullDiskLevel extends Level<string, Uint8Array> {
  /** While true every write fails (and so does an open). */
  full = false
  /** Write calls that reached the database (failed or not), and opens. */
  writeCalls = 0
  opens = 0

  constructor (readonly dir: string) {
    super(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    // abstract-level calls these private implementation methods; wrap them on the instance
    const self = this as unknown as Record<string, Impl>
    for (const name of ['_put', '_del', '_batch', '_open']) {
      const impl = self[name] as Impl
      self[name] = async (...args: unknown[]) => {
        if (name === '_open') this.opens++
        else this.writeCalls++
        if (this.full) throw Object.assign(new Error(`IO error: ${this.dir}/00000${name === '_open' ? '5.ldb' : '3.log'}: No space left on device`), { code: 'LEVEL_IO_ERROR' })
        return await impl.apply(this, args)
      }
    }
  }

  get root (): RootDb {
    return this as unknown as RootDb
  }
}

export async function openFullDiskLevel (dir: string): Promise<FullDiskLevel> {
  await mkdir(dir, { recursive: true })
  const db = new FullDiskLevel(dir)
  await db.open()
  return db
}

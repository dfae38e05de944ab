import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import type { AbstractLevel } from 'abstract-level'
import { StoreError, errorMessage } from '../core/errors.js'

/** The root database every store component works on: string keys, binary values. */
export type RootDb = AbstractLevel<string | Uint8Array, string, Uint8Array>

/**
 * Open (creating) the LevelDB database under `dir`. A database held by another process gives a
 * StoreError that says so, instead of LevelDB's lock message.
 */
export async function openLevel (dir: string): Promise<RootDb> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(errorMessage(cause ?? err))) {
      throw new StoreError(`the database in ${dir} is in use by another process (is a node already running with this data dir?)`, { cause: err })
    }
    throw new StoreError(`cannot open the database in ${dir}: ${errorMessage(cause ?? err)}`, { cause: err })
  }
  return db as unknown as RootDb
}

/** Zero-padded decimal so keys sort numerically. */
export function padSeq (n: number, width = 16): string {
  return n.toString().padStart(width, '0')
}

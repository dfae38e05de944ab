/**
 * The node's incarnation: a number kept in `<data-dir>/incarnation.json` with the peer id it
 * belongs to, and bumped at each start before the node sends its first heartbeat. Heartbeats
 * carry it, so a peer tells this node's restart (a higher incarnation) from a late or replayed
 * heartbeat of an earlier run without comparing clocks. It lives beside identity.key, outside
 * the database, so `--reset-state` keeps it counting up.
 */
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { RiftmeshError, errorMessage } from '../core/errors.js'

export const INCARNATION_FILE_NAME = 'incarnation.json'

export interface IncarnationRecord {
  v: 1
  peerId: string
  incarnation: number
}

/** The incarnation file cannot be read or written. */
export class IncarnationError extends RiftmeshError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INCARNATION', options)
    this.name = 'IncarnationError'
  }
}

function parseRecord (path: string, text: string): IncarnationRecord {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new IncarnationError(`${path} is not JSON (${errorMessage(err)}); remove it to count from 1 again (peers then hear this node only once it was silent for health.deadAfterMs)`, { cause: err })
  }
  const r = v as Partial<IncarnationRecord> | null
  if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.peerId !== 'string' || !Number.isSafeInteger(r.incarnation) || (r.incarnation ?? -1) < 0) {
    throw new IncarnationError(`${path} does not hold {"v":1,"peerId":…,"incarnation":N}; remove it to count from 1 again (peers then hear this node only once it was silent for health.deadAfterMs)`)
  }
  return r as IncarnationRecord
}

/** The record in `dataDir`, or undefined when there is none. */
export async function readIncarnation (dataDir: string): Promise<IncarnationRecord | undefined> {
  const path = join(dataDir, INCARNATION_FILE_NAME)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new IncarnationError(`cannot read ${path}: ${errorMessage(err)}`, { cause: err })
  }
  return parseRecord(path, text)
}

/** Write `record` durably: a temporary file, fsync'd, renamed over the old one, then the directory fsync'd. */
async function writeRecord (dataDir: string, record: IncarnationRecord): Promise<void> {
  const path = join(dataDir, INCARNATION_FILE_NAME)
  const tmp = `${path}.tmp`
  try {
    const f = await open(tmp, 'w', 0o600)
    try {
      await f.writeFile(`${JSON.stringify(record)}\n`)
      await f.sync()
    } finally {
      await f.close()
    }
    await rename(tmp, path)
    const d = await open(dataDir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  } catch (err) {
    throw new IncarnationError(`cannot record this start in ${path} (${errorMessage(err)}); a node needs a few bytes free in its data dir to start`, { cause: err })
  }
}

/**
 * This start's incarnation for `peerId`: one more than the last recorded for it (1 for a peer id
 * with no record, e.g. a new identity), written durably before it is returned.
 */
export async function bumpIncarnation (dataDir: string, peerId: string): Promise<number> {
  const last = await readIncarnation(dataDir)
  const incarnation = last !== undefined && last.peerId === peerId ? last.incarnation + 1 : 1
  await writeRecord(dataDir, { v: 1, peerId, incarnation })
  return incarnation
}

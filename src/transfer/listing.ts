/**
 * The full manifest over the transfer stream (LIST): the holder's page of its listing, and the
 * target's check of each entry it receives. Pure.
 */
import { FILE_KINDS, configKeySchema, type ConfigKey } from '../state/schema.js'
import { isSha256Hex, type FileKind } from './file-info.js'
import { checkTransferable } from './paths.js'
import { safeNumber, type TransferListEntry } from './protocol.js'
import type { FileCatalog, ScannedFile } from './scanner.js'

/** Bytes counted per listed entry besides its path. */
const ENTRY_OVERHEAD_BYTES = 128

/** The files after `cursor`: at most `maxEntries`, about `maxBytes`, and the cursor of the next page ('' = none). */
export function listPage (catalog: FileCatalog, cursor: string, maxEntries: number, maxBytes: number): { entries: TransferListEntry[], nextCursor: string } {
  const files = catalog.listAfter(cursor, maxEntries + 1)
  const entries: TransferListEntry[] = []
  let bytes = 0
  for (const f of files.slice(0, maxEntries)) {
    bytes += f.path.length + ENTRY_OVERHEAD_BYTES
    if (entries.length > 0 && bytes > maxBytes) break
    entries.push({ path: f.path, size: BigInt(f.size), mtimeMs: BigInt(f.mtimeMs), sha256: f.sha256, kind: f.kind, config: f.config ?? '', gameCount: BigInt(f.gameCount) })
  }
  const more = entries.length < files.length
  return { entries, nextCursor: more ? entries[entries.length - 1]?.path ?? '' : '' }
}

/** A received entry as a listed file; throws when its path, hash, kind, config or numbers are not valid. */
export function toListedFile (e: TransferListEntry, dataDir: string, peer: string): ScannedFile {
  checkTransferable(dataDir, e.path)
  const kind = e.path.split('/', 1)[0] as FileKind
  if (!isSha256Hex(e.sha256)) throw new Error('sha256 is not 64 lowercase hex digits')
  if (e.kind !== kind || !(FILE_KINDS as readonly string[]).includes(e.kind)) throw new Error(`kind ${e.kind.slice(0, 20)} does not match the path`)
  const config = e.config === '' ? null : configKeySchema.parse(e.config) as ConfigKey
  return { path: e.path, size: safeNumber(e.size, peer, 'size'), mtimeMs: safeNumber(e.mtimeMs, peer, 'mtimeMs'), sha256: e.sha256, kind, config, gameCount: safeNumber(e.gameCount, peer, 'gameCount') }
}

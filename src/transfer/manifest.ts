/**
 * From a scan to the node's entry in the `manifests` document: totals, a summary per config
 * key (`other` for files without one), and per-file entries up to a budget — the newest files
 * first — with `truncated` set when some were left out (the full list is served by the
 * transfer stream's LIST). Pure.
 */
import { MAX_MANIFEST_FILES, type Manifest, type ManifestFile } from '../state/schema.js'
import type { ScanResult, ScannedFile } from './scanner.js'

/** Summary key of files without a config. */
export const OTHER_CONFIG = 'other'
/** Rough JSON size of one per-file entry besides its path (the budget's unit). */
const ENTRY_OVERHEAD_BYTES = 160

export interface ManifestBudget {
  /** This node's id (the entry's key). */
  nodeId: string
  /** Timestamp written into the entry (ms). */
  generatedAt: number
  /** Most per-file entries (sync.manifestMaxEntries); clamped to MAX_MANIFEST_FILES. */
  maxEntries: number
  /** Most bytes of per-file entries, estimated as path length + 160 each. @default no limit */
  maxEntryBytes?: number
}

export function toManifestEntry (scan: Pick<ScanResult, 'files'>, budget: ManifestBudget): Manifest {
  const summary: Manifest['summary'] = {}
  let totalBytes = 0
  for (const f of scan.files) {
    const key = f.config ?? OTHER_CONFIG
    const s = summary[key] ?? (summary[key] = { files: 0, bytes: 0, games: 0 })
    s.files++
    s.bytes += f.size
    s.games += f.gameCount
    totalBytes += f.size
  }
  const maxEntries = Math.max(0, Math.min(Math.floor(budget.maxEntries), MAX_MANIFEST_FILES))
  const maxBytes = budget.maxEntryBytes ?? Number.POSITIVE_INFINITY
  // newest first, then by path, so the cut is deterministic
  const order = [...scan.files].sort((a, b) => b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const chosen: ScannedFile[] = []
  let bytes = 0
  for (const f of order) {
    if (chosen.length >= maxEntries) break
    const cost = f.path.length + ENTRY_OVERHEAD_BYTES
    if (bytes + cost > maxBytes) break
    bytes += cost
    chosen.push(f)
  }
  chosen.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const files: Record<string, ManifestFile> = {}
  for (const f of chosen) {
    files[f.path] = { size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256, kind: f.kind, config: f.config, gameCount: f.gameCount }
  }
  return {
    v: 1,
    nodeId: budget.nodeId,
    generatedAt: Math.max(0, Math.floor(budget.generatedAt)),
    totalFiles: scan.files.length,
    totalBytes,
    summary,
    files,
    truncated: chosen.length < scan.files.length
  }
}

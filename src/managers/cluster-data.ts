/**
 * The cluster manifest per config: how many games of each config exist in the cluster and a
 * fingerprint of that data, from every node's published manifest. A file held by several nodes
 * (after a sync) counts once, by content hash. A manifest published as summary only (over its
 * per-file budget) contributes its summary: the total is at least the largest such summary.
 */
import { createHash } from 'node:crypto'
import type { ConfigKey, Manifest } from '../state/schema.js'
import { ALL_CONFIG_KEYS } from '../state/schema.js'

export interface ConfigData {
  games: number
  /** Distinct data files listed for the config. */
  files: number
  /** sha256 (hex, 16 chars) over the config's distinct file hashes and truncated summaries. */
  digest: string
}

const CONFIGS: ReadonlySet<string> = new Set(ALL_CONFIG_KEYS)

/** Game data kinds (models are not training data). */
const DATA_KINDS: ReadonlySet<string> = new Set(['selfplay', 'games', 'training'])

export function clusterDataByConfig (manifests: readonly Manifest[]): Map<ConfigKey, ConfigData> {
  const listed = new Map<ConfigKey, Map<string, number>>()
  const summaries = new Map<ConfigKey, Array<{ node: string, games: number }>>()
  for (const m of manifests) {
    for (const f of Object.values(m.files)) {
      if (f.config === null || !DATA_KINDS.has(f.kind)) continue
      let files = listed.get(f.config)
      if (files === undefined) listed.set(f.config, files = new Map())
      files.set(f.sha256, f.gameCount)
    }
    if (!m.truncated) continue
    for (const [config, s] of Object.entries(m.summary)) {
      if (!CONFIGS.has(config)) continue
      let list = summaries.get(config as ConfigKey)
      if (list === undefined) summaries.set(config as ConfigKey, list = [])
      list.push({ node: m.nodeId, games: s.games })
    }
  }
  const out = new Map<ConfigKey, ConfigData>()
  for (const config of ALL_CONFIG_KEYS) {
    const files = listed.get(config)
    const sums = summaries.get(config) ?? []
    if (files === undefined && sums.length === 0) continue
    let listedGames = 0
    for (const g of files?.values() ?? []) listedGames += g
    const maxSummary = sums.reduce((m, s) => Math.max(m, s.games), 0)
    const h = createHash('sha256').update(config)
    for (const sha of [...(files?.keys() ?? [])].sort()) h.update(sha)
    for (const s of [...sums].sort((a, b) => (a.node < b.node ? -1 : 1))) h.update(`${s.node}:${s.games}`)
    out.set(config, { games: Math.max(listedGames, maxSummary), files: files?.size ?? 0, digest: h.digest('hex').slice(0, 16) })
  }
  return out
}

/** Games of each config in this node's own manifest (for leaderless local training). */
export function localGamesByConfig (manifest: Manifest | undefined): Map<ConfigKey, number> {
  const out = new Map<ConfigKey, number>()
  if (manifest === undefined) return out
  for (const [config, s] of Object.entries(manifest.summary)) if (CONFIGS.has(config)) out.set(config as ConfigKey, s.games)
  return out
}

/**
 * SyncPlanner decisions as pure functions: what this node should hold for its role, what it
 * lacks of that in the holders' manifests, and from whom to pull it — grouped into sync jobs of
 * at most `maxFilesPerSyncJob` files per source. Each node plans its own pulls (the target pulls).
 */
import type { ConfigKey, ManifestFile } from '../state/schema.js'
import { DEFAULT_MAX_FILES_PER_SYNC_JOB, DEFAULT_MTIME_TOLERANCE_MS, DEFAULT_SYNC_MAX_DISK_PERCENT } from '../config/defaults.js'

export interface FileEntry extends ManifestFile { path: string }

/** One holder's files (from its manifest, or its full list when the manifest is truncated). */
export interface HolderFiles {
  nodeId: string
  files: readonly FileEntry[]
  /** Alive and healthy enough to serve. */
  alive: boolean
  /** Load score (lower serves first). */
  load: number
  /**
   * This node has a connection to it. A manifest can arrive (gossiped through others) before its
   * holder can be dialled, so connected holders serve first. @default true
   */
  connected?: boolean
}

/** Connected holders first, then the given order. */
export function connectedFirst (a: HolderFiles, b: HolderFiles): number {
  return Number(b.connected !== false) - Number(a.connected !== false)
}

/** What this node wants, by role. */
export interface Wants {
  /** Configs whose self-play / game / training data this node trains on (training nodes). */
  dataConfigs: ReadonlySet<ConfigKey>
  /** Model files it needs (current best models, gauntlet candidates), by path. */
  modelPaths: ReadonlySet<string>
}

export interface SyncParams {
  maxFilesPerSyncJob: number
  mtimeToleranceMs: number
  maxDiskPercent: number
}

export const DEFAULT_SYNC_PARAMS: SyncParams = {
  maxFilesPerSyncJob: DEFAULT_MAX_FILES_PER_SYNC_JOB,
  mtimeToleranceMs: DEFAULT_MTIME_TOLERANCE_MS,
  maxDiskPercent: DEFAULT_SYNC_MAX_DISK_PERCENT
}

export interface SyncGroup {
  source: string
  files: FileEntry[]
  bytes: number
}

export interface SyncPlan {
  groups: SyncGroup[]
  /** Wanted files no alive holder has. */
  unavailable: number
  /** Why nothing is planned, if so. */
  refused: string | null
}

const DATA_KINDS: ReadonlySet<string> = new Set(['selfplay', 'games', 'training'])

export function isWanted (f: FileEntry, w: Wants): boolean {
  if (f.kind === 'models') return w.modelPaths.has(f.path)
  return DATA_KINDS.has(f.kind) && f.config !== null && w.dataConfigs.has(f.config)
}

/** The target lacks `f`, or holds an older version (mtime beyond the tolerance, other content). */
export function needs (local: FileEntry | undefined, f: FileEntry, p: SyncParams = DEFAULT_SYNC_PARAMS): boolean {
  if (local === undefined) return true
  if (local.sha256 === f.sha256) return false
  return f.mtimeMs - local.mtimeMs > p.mtimeToleranceMs
}

/**
 * Plan this node's pulls: every wanted file it needs, from the least-loaded alive holder of
 * the newest version (connected holders first), spreading files over equally good holders; grouped per source in jobs
 * of at most `maxFilesPerSyncJob`. Refused (nothing planned) when the disk is too full.
 */
export function planSync (local: readonly FileEntry[], holders: readonly HolderFiles[], wants: Wants, diskPercent: number, p: SyncParams = DEFAULT_SYNC_PARAMS): SyncPlan {
  if (diskPercent >= p.maxDiskPercent) return { groups: [], unavailable: 0, refused: `disk ${diskPercent.toFixed(0)} % used (limit ${p.maxDiskPercent} %)` }
  const mine = new Map(local.map(f => [f.path, f]))
  // the newest version of each wanted path, and who holds exactly that version
  const best = new Map<string, { file: FileEntry, holders: HolderFiles[] }>()
  let unavailable = 0
  const unavailablePaths = new Set<string>()
  for (const h of holders) {
    for (const f of h.files) {
      if (!isWanted(f, wants) || !needs(mine.get(f.path), f, p)) continue
      if (!h.alive) { unavailablePaths.add(f.path); continue }
      const cur = best.get(f.path)
      if (cur === undefined || f.mtimeMs > cur.file.mtimeMs || (f.mtimeMs === cur.file.mtimeMs && f.sha256 > cur.file.sha256)) best.set(f.path, { file: f, holders: [h] })
      else if (cur.file.sha256 === f.sha256) cur.holders.push(h)
    }
  }
  for (const path of unavailablePaths) if (!best.has(path)) unavailable++
  // assign each file to the holder with the least planned bytes, then the lowest load, then id
  const plannedBytes = new Map<string, number>()
  const bySource = new Map<string, FileEntry[]>()
  for (const path of [...best.keys()].sort()) {
    const { file, holders: hs } = best.get(path) as { file: FileEntry, holders: HolderFiles[] }
    const h = [...hs].sort((a, b) => connectedFirst(a, b) || (plannedBytes.get(a.nodeId) ?? 0) - (plannedBytes.get(b.nodeId) ?? 0) || a.load - b.load || (a.nodeId < b.nodeId ? -1 : 1))[0] as HolderFiles
    plannedBytes.set(h.nodeId, (plannedBytes.get(h.nodeId) ?? 0) + file.size)
    const list = bySource.get(h.nodeId) ?? []
    list.push(file)
    bySource.set(h.nodeId, list)
  }
  const groups: SyncGroup[] = []
  for (const [source, files] of [...bySource].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (let i = 0; i < files.length; i += p.maxFilesPerSyncJob) {
      const chunk = files.slice(i, i + p.maxFilesPerSyncJob)
      groups.push({ source, files: chunk, bytes: chunk.reduce((s, f) => s + f.size, 0) })
    }
  }
  return { groups, unavailable, refused: null }
}

/** Back-off after `failures` failed attempts in a row: 1 s, 2 s, 4 s … capped at 30 s. */
export function syncRetryDelayMs (failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, failures - 1)))
}

/** The file kinds that hold a config's training data. */
export const DATA_FILE_KINDS: readonly string[] = [...DATA_KINDS]
/** Summary key of a manifest's files without a config (never a config to sync). */
const NO_CONFIG = 'other'

/** What a node's role and its jobs say it should hold. */
export interface RoleInput {
  /** The cluster would train on this node now (best training node, GPU or allowed CPU). */
  isTrainingNode: boolean
  /** It evaluates or plays with models (gauntlet, tournament or selfplay capability). */
  usesModels: boolean
  /** Configs that have data anywhere in the cluster (from the manifests' summaries). */
  configsWithData: Iterable<string>
  /** Current best model paths (the `models` map). */
  bestModelPaths: Iterable<string>
  /** This node's jobs that are not finished: their config, type and input paths. */
  myJobs: ReadonlyArray<{ type: string, config: string | null, inputs: readonly string[] }>
}

/**
 * A node's wants by role: the training node holds the data of every config (it trains them
 * all); a node that evaluates or plays holds the current best models; and every node holds the
 * inputs of its own unfinished jobs (a gauntlet's candidate, a training job's config data).
 */
export function wantsForRole (r: RoleInput): Wants {
  const dataConfigs = new Set<ConfigKey>()
  const modelPaths = new Set<string>()
  if (r.isTrainingNode) for (const c of r.configsWithData) if (c !== NO_CONFIG) dataConfigs.add(c as ConfigKey)
  if (r.usesModels) for (const p of r.bestModelPaths) modelPaths.add(p)
  for (const j of r.myJobs) {
    if ((j.type === 'training' || j.type === 'export') && j.config !== null) dataConfigs.add(j.config as ConfigKey)
    for (const p of j.inputs) modelPaths.add(p)
  }
  return { dataConfigs, modelPaths }
}

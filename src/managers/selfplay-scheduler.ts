/**
 * SelfplayScheduler: what a node should play next, how many selfplay jobs it should run, and
 * whether backpressure stops new selfplay everywhere (`backpressure`). Priorities come from the document (static priorities, curriculum weights and board overrides
 * in `settings`, Elo from `models`), so an operator's change applies cluster-wide at run time;
 * weight tables are cached per hardware class for `weightsCacheMs` (REFERENCE: 60 s).
 */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import { ConfigError } from '../core/errors.js'
import { OncePerCause, type Cause } from '../core/once-per-cause.js'
import { DEFAULT_DIVERSITY_WINDOW, DEFAULT_STATIC_PRIORITY, DEFAULT_WEIGHTS_CACHE_MS } from '../config/defaults.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { ConfigKey, Hardware, NodeInfo } from '../state/schema.js'
import { ManagerSettings } from './cluster-settings.js'
import { clusterDataByConfig } from './cluster-data.js'
import { DiversityTracker, type DiversityMetrics } from './diversity.js'
import type { NodeView } from './scores.js'
import type { Exclusion } from './eligibility.js'
import {
  DEFAULT_BACKPRESSURE_PARAMS, emptiestTrainingDisk, selfplayBackpressure, untrainedBacklog,
  type BackpressureParams, type SelfplayBackpressure
} from './selfplay-backpressure.js'
import {
  DEFAULT_PRIORITY_PARAMS, DEFAULT_TARGET_PARAMS, candidatesFor, pickFrom, targetExclusions, targetJobsForNode, weightTable,
  type Candidate, type CandidateRow, type ConfigSignals, type PriorityParams, type TargetParams, type WeightTable
} from './selfplay.js'

export interface SelfplaySchedulerInit {
  /** How long a computed weight table (and the cluster's games per config) is reused. @default 60_000 */
  weightsCacheMs?: number
  /** Selections the diversity metrics count over. @default 1_000 */
  diversityWindow?: number
  /** Static priority per config (the `staticPriority` setting overrides it). @default DEFAULT_STATIC_PRIORITY */
  staticPriority?: Readonly<Record<ConfigKey, number>>
  priority?: Partial<PriorityParams>
  target?: Partial<TargetParams>
  /** When self-play stops cluster-wide (untrained backlog, training nodes' disk). @default DEFAULT_BACKPRESSURE_PARAMS */
  backpressure?: Partial<BackpressureParams>
}

export interface SelfplaySchedulerComponents {
  state: ClusterState
  clock: Clock
  rng: Rng
  logger: Logger
}

const HOUR_MS = 3_600_000

export class SelfplayScheduler {
  private readonly log: Logger
  private readonly settings: ManagerSettings
  private readonly cacheMs: number
  private readonly staticDefaults: Readonly<Record<ConfigKey, number>>
  private readonly pp: PriorityParams
  private readonly tp: TargetParams
  private readonly bp: BackpressureParams
  private readonly tracker: DiversityTracker
  private readonly cache = new Map<string, { atMs: number, table: WeightTable }>()
  /** "no selfplay config this node can run", said once per node and cause, not at every dispatch pass. */
  private readonly noPick: OncePerCause
  /** Cluster games per config from every manifest (costly with many nodes), reused like the weights. */
  private games: { atMs: number, byConfig: Map<ConfigKey, number> } | undefined

  constructor (private readonly c: SelfplaySchedulerComponents, init: SelfplaySchedulerInit = {}) {
    this.log = c.logger.child({ component: 'selfplay-scheduler' })
    this.noPick = new OncePerCause(this.log)
    this.settings = new ManagerSettings(c.state)
    this.cacheMs = init.weightsCacheMs ?? DEFAULT_WEIGHTS_CACHE_MS
    if (!(this.cacheMs >= 0)) throw new ConfigError('scheduler.weightsCacheMs', 'a number ≥ 0')
    this.staticDefaults = init.staticPriority ?? DEFAULT_STATIC_PRIORITY
    this.pp = { ...DEFAULT_PRIORITY_PARAMS, ...init.priority }
    this.tp = { ...DEFAULT_TARGET_PARAMS, ...init.target }
    this.bp = { ...DEFAULT_BACKPRESSURE_PARAMS, ...init.backpressure }
    if (!(Number.isInteger(this.bp.maxUntrainedGames) && this.bp.maxUntrainedGames >= 1)) throw new ConfigError('scheduler.maxUntrainedGames', 'an integer ≥ 1')
    if (!(this.bp.maxTrainingDiskPercent >= 0 && this.bp.maxTrainingDiskPercent <= 100)) throw new ConfigError('health.maxDiskPercentForWork', 'a number from 0 to 100')
    this.tracker = new DiversityTracker(init.diversityWindow ?? DEFAULT_DIVERSITY_WINDOW)
  }

  /** Forget cached weights (a setting or model changed and should apply now). */
  invalidate (): void {
    this.cache.clear()
    this.games = undefined
  }

  /** The weighted table for a node (cached per hardware class). */
  weightsFor (hw: Hardware): WeightTable {
    const key = hardwareClass(hw, this.pp)
    const now = this.c.clock.monoMs()
    const hit = this.cache.get(key)
    if (hit !== undefined && now - hit.atMs < this.cacheMs) return hit.table
    const rows = this.settings.candidateRows(this.staticDefaults)
    const table = weightTable(candidatesFor(hw, rows, this.pp), this.signals(), this.pp)
    this.cache.set(key, { atMs: now, table })
    return table
  }

  /** A (config, engine mode) for `node` to play, chosen in proportion to effective priority. */
  pickWeightedConfig (node: NodeInfo): Candidate | null {
    const table = this.weightsFor(node.hardware)
    const pick = pickFrom(table, this.c.rng)
    this.noPick.report(node.nodeId, pick === null ? noPickCause(node.nodeId, this.settings.candidateRows(this.staticDefaults), table) : null)
    if (pick === null) return null
    this.tracker.record({ config: pick.config, engineMode: pick.engineMode, symmetric: true })
    return pick
  }

  /** How many selfplay jobs `view`'s node should run; 0 for every node while `backpressure` is active. */
  targetJobsForNode (view: NodeView, currentJobs: number, backpressure: SelfplayBackpressure): number {
    return targetJobsForNode({ info: view.info, load: view.load, currentJobs, backpressure: backpressure.active }, this.tp)
  }

  /** Why `info`'s node gets a selfplay target of 0 whatever its load (capability, retired, too little memory). */
  targetExclusions (info: NodeInfo): Exclusion[] {
    return targetExclusions(info, this.tp)
  }

  /**
   * Whether new selfplay should stop cluster-wide, and why: the operator's `selfplayPaused`, the
   * untrained backlog (cluster games per config minus its last completed training's games, from
   * the document), or every one of `trainingNodes` (alive, able to train) at its disk limit.
   * The games per config are reused for `weightsCacheMs`; the setting and records are read now.
   */
  backpressure (trainingNodes: readonly NodeView[]): SelfplayBackpressure {
    const games = this.clusterGames()
    const trained = new Map([...this.c.state.trainingRecords()].map(([k, r]) => [k, r.trainedGames]))
    const backlog = untrainedBacklog(games, trained)
    return selfplayBackpressure({
      paused: this.settings.selfplayPaused(),
      untrainedGames: backlog.total,
      largestBacklog: backlog.largest,
      trainingDisk: emptiestTrainingDisk(trainingNodes)
    }, this.bp)
  }

  private clusterGames (): Map<ConfigKey, number> {
    const now = this.c.clock.monoMs()
    if (this.games !== undefined && now - this.games.atMs < this.cacheMs) return this.games.byConfig
    const byConfig = new Map([...clusterDataByConfig(this.c.state.manifests())].map(([k, d]) => [k, d.games]))
    this.games = { atMs: now, byConfig }
    return byConfig
  }

  diversity (): DiversityMetrics {
    return this.tracker.metrics()
  }

  /** The document's per-config signals the priorities use. */
  private signals (): ConfigSignals {
    const elo = new Map<ConfigKey, number>()
    for (const [config, m] of this.c.state.models()) elo.set(config, m.elo)
    const s: ConfigSignals = {
      elo,
      curriculumWeights: this.settings.curriculumWeights(),
      boardOverrides: this.settings.boardOverrides()
    }
    if (this.pp.bootstrap.enabled) {
      s.games = new Map([...clusterDataByConfig(this.c.state.manifests())].map(([k, d]) => [k, d.games]))
    }
    if (this.pp.staleness.enabled || this.pp.plateau.enabled) {
      const jobs = this.c.state.jobs()
      const nowMs = this.c.clock.nowMs()
      if (this.pp.staleness.enabled) {
        const last = new Map<ConfigKey, number>()
        for (const j of jobs) {
          const cfg = j.dispatch.config
          if (j.dispatch.type === 'selfplay' && cfg !== null) last.set(cfg, Math.max(last.get(cfg) ?? 0, j.dispatch.createdAt))
        }
        s.hoursSinceDispatch = new Map([...last].map(([k, at]) => [k, Math.max(0, nowMs - at) / HOUR_MS]))
      }
      if (this.pp.plateau.enabled) {
        const streak = new Map<ConfigKey, number>()
        const trainings = jobs.filter(j => j.dispatch.type === 'training' && (j.state === 'PROMOTED' || j.state === 'ARCHIVED'))
          .sort((a, b) => a.dispatch.createdAt - b.dispatch.createdAt)
        for (const j of trainings) {
          const cfg = j.dispatch.config as ConfigKey
          streak.set(cfg, j.state === 'ARCHIVED' ? (streak.get(cfg) ?? 0) + 1 : 0)
        }
        s.failedGauntletsInARow = streak
      }
    }
    return s
  }
}

/** Why a node's weight table gives it nothing to play, as a cause said once (see OncePerCause). Pure. */
export function noPickCause (node: string, rows: readonly CandidateRow[], table: WeightTable): Cause {
  const msg = 'no selfplay config this node can run'
  if (!rows.some(r => r.staticPriority > 0)) return { key: 'priority', msg: `${msg}: every config's static priority is 0 (setting staticPriority)`, fields: { node } }
  if (table.candidates.length === 0) return { key: 'hardware', msg: `${msg}: no config with a priority above 0 suits its hardware (engine mode, large-board VRAM)`, fields: { node } }
  return { key: 'weight', msg: `${msg}: every candidate's effective priority is 0`, fields: { node, candidates: table.candidates.length } }
}

/** Nodes of one class see the same candidates: GPU or not, and whether large boards are out. */
function hardwareClass (hw: Hardware, p: PriorityParams): string {
  const smallVram = hw.hasGpu && hw.gpuMemoryGb > 0 && hw.gpuMemoryGb < p.largeBoardMinVramGb
  return `${hw.hasGpu ? 'gpu' : 'cpu'}:${smallVram ? 'small' : 'large'}`
}

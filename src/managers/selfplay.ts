/**
 * SelfplayScheduler decisions as pure functions: which (config, engine mode) candidates a node
 * can run, their effective priorities (static + Elo boost + curriculum boost + board boost, and
 * the optional boosts), the weighted pick, and how many selfplay jobs a node should run.
 */
import type { Rng } from '../core/rng.js'
import { BOARD_PRIORITY_LEVELS } from '../core/vocabulary.js'
import {
  DEFAULT_BOARD_BOOST, DEFAULT_BUSY_CPU_PENALTY_JOBS, DEFAULT_BUSY_CPU_PERCENT, DEFAULT_BUSY_GPU_PENALTY_JOBS,
  DEFAULT_BUSY_GPU_PERCENT, DEFAULT_CPU_ONLY_JOB_CAP, DEFAULT_CURRICULUM_BOOST_MAX, DEFAULT_CURRICULUM_BOOST_MIN,
  DEFAULT_CURRICULUM_BOOST_SCALE, DEFAULT_CURRICULUM_WEIGHT, DEFAULT_DISK_PRESSURE_MAX_JOBS, DEFAULT_ELO_BOOST_BASE_ELO,
  DEFAULT_ELO_BOOST_MAX, DEFAULT_ELO_BOOST_STEP_ELO, DEFAULT_LARGE_BOARD_MIN_VRAM_GB, DEFAULT_MAX_DISK_PERCENT_FOR_WORK,
  DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK, DEFAULT_MAX_RAMP_UP_JOBS, DEFAULT_MEMORY_PRESSURE_MAX_JOBS,
  DEFAULT_MIN_EFFECTIVE_PRIORITY, DEFAULT_MIN_MEMORY_GB_FOR_TASKS, DEFAULT_MIN_TARGET_JOBS, DEFAULT_OTHER_GPU_JOB_CAP,
  DEFAULT_SELFPLAY_JOB_CAPS, DEFAULT_STATIC_PRIORITY, type SelfplayJobCap
} from '../config/defaults.js'
import { isGpuOnly } from '../jobs/engine-modes.js'
import type { LoadSample } from '../mesh/heartbeat.js'
import { ALL_CONFIG_KEYS, type ConfigKey, type Hardware, type NodeInfo } from '../state/schema.js'
import type { Exclusion } from './eligibility.js'

export type BoardLevel = typeof BOARD_PRIORITY_LEVELS[number]

/** Boards whose games need a big GPU (when VRAM is known). */
export const LARGE_BOARDS: ReadonlySet<string> = new Set(['square19', 'hexagonal'])

export function boardOf (config: ConfigKey): string {
  return config.slice(0, config.lastIndexOf('_'))
}

export function playersOf (config: ConfigKey): number {
  return Number(config.slice(config.lastIndexOf('_') + 1, -1))
}

/** Default engine mode of a plain config row on a GPU node, and on a CPU node. */
export const DEFAULT_GPU_ENGINE_MODE = 'gumbel-mcts'
export const DEFAULT_CPU_ENGINE_MODE = 'heuristic'

/** A selectable selfplay job kind. `engineMode: null` means "the node's default mode". */
export interface CandidateRow {
  config: ConfigKey
  engineMode: string | null
  staticPriority: number
}

export interface Candidate {
  config: ConfigKey
  engineMode: string
  staticPriority: number
}

export interface PriorityParams {
  minEffectivePriority: number
  eloBoostBaseElo: number
  eloBoostStepElo: number
  eloBoostMax: number
  defaultCurriculumWeight: number
  curriculumBoostScale: number
  curriculumBoostMin: number
  curriculumBoostMax: number
  boardBoost: Readonly<Record<BoardLevel, number>>
  largeBoardMinVramGb: number
  gpuEngineMode: string
  cpuEngineMode: string
  /** Optional boosts, off by default. */
  bootstrap: { enabled: boolean, maxGames: number, boost: number }
  staleness: { enabled: boolean, boostPerHour: number, maxBoost: number }
  plateau: { enabled: boolean, failedGauntlets: number }
}

export const DEFAULT_PRIORITY_PARAMS: PriorityParams = {
  minEffectivePriority: DEFAULT_MIN_EFFECTIVE_PRIORITY,
  eloBoostBaseElo: DEFAULT_ELO_BOOST_BASE_ELO,
  eloBoostStepElo: DEFAULT_ELO_BOOST_STEP_ELO,
  eloBoostMax: DEFAULT_ELO_BOOST_MAX,
  defaultCurriculumWeight: DEFAULT_CURRICULUM_WEIGHT,
  curriculumBoostScale: DEFAULT_CURRICULUM_BOOST_SCALE,
  curriculumBoostMin: DEFAULT_CURRICULUM_BOOST_MIN,
  curriculumBoostMax: DEFAULT_CURRICULUM_BOOST_MAX,
  boardBoost: DEFAULT_BOARD_BOOST,
  largeBoardMinVramGb: DEFAULT_LARGE_BOARD_MIN_VRAM_GB,
  gpuEngineMode: DEFAULT_GPU_ENGINE_MODE,
  cpuEngineMode: DEFAULT_CPU_ENGINE_MODE,
  bootstrap: { enabled: false, maxGames: 500, boost: 3 },
  staleness: { enabled: false, boostPerHour: 1, maxBoost: 3 },
  plateau: { enabled: false, failedGauntlets: 3 }
}

/** What the document says about each config right now (settings, models, data, jobs). */
export interface ConfigSignals {
  /** Best Elo of the config's current model, by exact config key. */
  elo: ReadonlyMap<ConfigKey, number>
  curriculumWeights: Readonly<Partial<Record<ConfigKey, number>>>
  boardOverrides: Readonly<Partial<Record<ConfigKey, BoardLevel>>>
  /** Games of each config in the cluster (for the bootstrap boost). */
  games?: ReadonlyMap<ConfigKey, number>
  /** Hours since the config's last selfplay dispatch (for the staleness boost). */
  hoursSinceDispatch?: ReadonlyMap<ConfigKey, number>
  /** Gauntlets failed in a row by the config's latest trainings (for plateau halving). */
  failedGauntletsInARow?: ReadonlyMap<ConfigKey, number>
}

export const NO_SIGNALS: ConfigSignals = { elo: new Map(), curriculumWeights: {}, boardOverrides: {} }

/** `min(max, floor((elo − base) / step))` above the base Elo, else 0. */
export function eloBoost (elo: number | undefined, p: PriorityParams = DEFAULT_PRIORITY_PARAMS): number {
  if (elo === undefined || !(elo > p.eloBoostBaseElo)) return 0
  return Math.min(p.eloBoostMax, Math.floor((elo - p.eloBoostBaseElo) / p.eloBoostStepElo))
}

/** `clamp(trunc((w − 1) · scale), min, max)`: 1.5 → +2, 0.7 → −1, 2.5 → +3. */
export function curriculumBoost (weight: number | undefined, p: PriorityParams = DEFAULT_PRIORITY_PARAMS): number {
  const w = weight ?? p.defaultCurriculumWeight
  // round away float noise first: (0.7 − 1)·4 is −1.2000000000000002, (1.3 − 1)·4 is 1.2000000000000002
  const raw = Math.trunc(Math.round((w - 1) * p.curriculumBoostScale * 1e9) / 1e9)
  return Math.min(p.curriculumBoostMax, Math.max(p.curriculumBoostMin, raw))
}

/** Board override level → boost (critical +6, high +4, medium +2, low/none 0). */
export function boardBoost (level: BoardLevel | undefined, p: PriorityParams = DEFAULT_PRIORITY_PARAMS): number {
  return p.boardBoost[level ?? 'low']
}

/** Effective priority of a candidate, floored at `minEffectivePriority`. */
export function effectivePriority (c: { config: ConfigKey, staticPriority: number }, s: ConfigSignals, p: PriorityParams = DEFAULT_PRIORITY_PARAMS): number {
  let pr = c.staticPriority + eloBoost(s.elo.get(c.config), p) + curriculumBoost(s.curriculumWeights[c.config], p) +
    boardBoost(s.boardOverrides[c.config], p)
  if (p.bootstrap.enabled && (s.games?.get(c.config) ?? 0) < p.bootstrap.maxGames) pr += p.bootstrap.boost
  if (p.staleness.enabled) {
    const h = s.hoursSinceDispatch?.get(c.config)
    if (h !== undefined) pr += Math.min(p.staleness.maxBoost, Math.floor(h * p.staleness.boostPerHour))
  }
  if (p.plateau.enabled && (s.failedGauntletsInARow?.get(c.config) ?? 0) >= p.plateau.failedGauntlets) pr = pr / 2
  return Math.max(p.minEffectivePriority, pr)
}

/** One row per config at its static priority, in the node's default engine mode. */
export function defaultCandidateRows (staticPriority: Readonly<Record<ConfigKey, number>> = DEFAULT_STATIC_PRIORITY): CandidateRow[] {
  return ALL_CONFIG_KEYS.map(config => ({ config, engineMode: null, staticPriority: staticPriority[config] ?? 0 }))
}

/**
 * The candidates `hw` can run: no GPU-only engine mode on a CPU node (a default row takes the
 * CPU mode instead), no large board when VRAM is known and below the minimum.
 */
export function candidatesFor (hw: Hardware, rows: readonly CandidateRow[], p: PriorityParams = DEFAULT_PRIORITY_PARAMS): Candidate[] {
  const out: Candidate[] = []
  const vramKnown = hw.hasGpu && hw.gpuMemoryGb > 0
  for (const r of rows) {
    if (r.staticPriority <= 0) continue
    if (vramKnown && hw.gpuMemoryGb < p.largeBoardMinVramGb && LARGE_BOARDS.has(boardOf(r.config))) continue
    let mode = r.engineMode ?? (hw.hasGpu ? p.gpuEngineMode : p.cpuEngineMode)
    if (!hw.hasGpu && isGpuOnly(mode)) {
      if (r.engineMode !== null) continue // an explicit GPU mix row is not for this node
      mode = p.cpuEngineMode
    }
    out.push({ config: r.config, engineMode: mode, staticPriority: r.staticPriority })
  }
  return out
}

/** Candidates with their effective priorities and the running total for a weighted pick. */
export interface WeightTable {
  candidates: Candidate[]
  weights: number[]
  /** cumulative[i] = weights[0] + … + weights[i] */
  cumulative: number[]
  total: number
}

export function weightTable (candidates: readonly Candidate[], s: ConfigSignals, p: PriorityParams = DEFAULT_PRIORITY_PARAMS): WeightTable {
  const weights = candidates.map(c => effectivePriority(c, s, p))
  const cumulative: number[] = []
  let total = 0
  for (const w of weights) { total += w; cumulative.push(total) }
  return { candidates: [...candidates], weights, cumulative, total }
}

/** Pick a candidate with probability proportional to its weight (binary search). null when there are none. */
export function pickFrom (table: WeightTable, rng: Rng): Candidate | null {
  const n = table.candidates.length
  if (n === 0 || !(table.total > 0)) return null
  const x = rng.next() * table.total
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((table.cumulative[mid] as number) > x) hi = mid
    else lo = mid + 1
  }
  return table.candidates[lo] ?? null
}

// ---- how many selfplay jobs a node should run ------------------------------------------------

export interface TargetParams {
  minMemoryGbForTasks: number
  caps: readonly SelfplayJobCap[]
  otherGpuCap: { cpuFraction: number, maxJobs: number }
  cpuOnlyCap: { cpuFraction: number, maxJobs: number }
  busyGpuPercent: number
  busyGpuPenaltyJobs: number
  busyCpuPercent: number
  busyCpuPenaltyJobs: number
  maxRampUpJobs: number
  maxDiskPercent: number
  diskPressureMaxJobs: number
  maxMemoryPercent: number
  memoryPressureMaxJobs: number
  minTargetJobs: number
}

export const DEFAULT_TARGET_PARAMS: TargetParams = {
  minMemoryGbForTasks: DEFAULT_MIN_MEMORY_GB_FOR_TASKS,
  caps: DEFAULT_SELFPLAY_JOB_CAPS,
  otherGpuCap: DEFAULT_OTHER_GPU_JOB_CAP,
  cpuOnlyCap: DEFAULT_CPU_ONLY_JOB_CAP,
  busyGpuPercent: DEFAULT_BUSY_GPU_PERCENT,
  busyGpuPenaltyJobs: DEFAULT_BUSY_GPU_PENALTY_JOBS,
  busyCpuPercent: DEFAULT_BUSY_CPU_PERCENT,
  busyCpuPenaltyJobs: DEFAULT_BUSY_CPU_PENALTY_JOBS,
  maxRampUpJobs: DEFAULT_MAX_RAMP_UP_JOBS,
  maxDiskPercent: DEFAULT_MAX_DISK_PERCENT_FOR_WORK,
  diskPressureMaxJobs: DEFAULT_DISK_PRESSURE_MAX_JOBS,
  maxMemoryPercent: DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK,
  memoryPressureMaxJobs: DEFAULT_MEMORY_PRESSURE_MAX_JOBS,
  minTargetJobs: DEFAULT_MIN_TARGET_JOBS
}

/** The hardware cap: the first table row matching the GPU name, else other-GPU or CPU-only. */
export function hardwareJobCap (hw: Hardware, p: TargetParams = DEFAULT_TARGET_PARAMS): number {
  const cpu = hw.cpuCount
  const cap = (c: { cpuFraction: number, maxJobs: number | null }): number => {
    const n = Math.floor(c.cpuFraction * cpu)
    return c.maxJobs === null ? n : Math.min(n, c.maxJobs)
  }
  if (!hw.hasGpu) return cap(p.cpuOnlyCap)
  const name = hw.gpuName.toUpperCase()
  const row = p.caps.find(r => r.gpuMatch.some(m => name.includes(m)))
  return cap(row ?? p.otherGpuCap)
}

export interface TargetInput {
  info: NodeInfo
  load: LoadSample | undefined
  /** Selfplay jobs the node runs now. */
  currentJobs: number
  /** Something downstream (data backlog, sync) asks selfplay to stop. */
  backpressure: boolean
}

/** Why a node's selfplay target is 0 whatever its load: no selfplay capability, retired, less memory than a task needs. */
export function targetExclusions (info: NodeInfo, p: TargetParams = DEFAULT_TARGET_PARAMS): Exclusion[] {
  const out: Exclusion[] = []
  if (!info.capabilities.includes('selfplay')) out.push({ kind: 'capability', capability: 'selfplay' })
  if (info.flags.retired) out.push({ kind: 'retired' })
  if (info.hardware.memoryGb < p.minMemoryGbForTasks) out.push({ kind: 'small-memory', memoryGb: info.hardware.memoryGb, minMemoryGb: p.minMemoryGbForTasks })
  return out
}

/** How many selfplay jobs the node should run (REFERENCE: targetJobsForNode). */
export function targetJobsForNode (input: TargetInput, p: TargetParams = DEFAULT_TARGET_PARAMS): number {
  const { info, load } = input
  if (targetExclusions(info, p).length > 0 || input.backpressure) return 0
  let target = hardwareJobCap(info.hardware, p)
  if (load !== undefined) {
    if (info.hardware.hasGpu && (load.gpuPercent > p.busyGpuPercent || load.gpuMemoryPercent > p.busyGpuPercent)) target -= p.busyGpuPenaltyJobs
    if (load.cpuPercent > p.busyCpuPercent) target -= p.busyCpuPenaltyJobs
  }
  target = Math.min(target, input.currentJobs + p.maxRampUpJobs)
  if (load !== undefined) {
    if (load.diskPercent >= p.maxDiskPercent) target = Math.min(target, p.diskPressureMaxJobs)
    if (load.memoryPercent >= p.maxMemoryPercent) target = Math.min(target, p.memoryPressureMaxJobs)
  }
  return Math.max(p.minTargetJobs, target)
}

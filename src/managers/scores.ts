/**
 * Node scores of REFERENCE.md as pure functions: GPU and CPU power, the load score, and whether
 * a node is healthy enough for new work. Every node computes them the same way from the same
 * merged view (NodeInfo from the document, load from the node's last heartbeat).
 */
import type { Health } from '../mesh/health.js'
import type { LoadSample } from '../mesh/heartbeat.js'
import type { Hardware, NodeInfo } from '../state/schema.js'
import {
  DEFAULT_GPU_SCORES, DEFAULT_LOAD_CPU_WEIGHT, DEFAULT_LOAD_GPU_WEIGHT, DEFAULT_LOAD_JOBS_WEIGHT,
  DEFAULT_LOAD_MEMORY_WEIGHT, DEFAULT_LOAD_PERCENT_PER_JOB, DEFAULT_LOAD_TRAINING_JOB_FACTOR,
  DEFAULT_MAX_DISK_PERCENT_FOR_WORK, DEFAULT_MAX_LOAD_SCORE_FOR_WORK, DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK,
  DEFAULT_UNKNOWN_GPU_SCORE
} from '../config/defaults.js'
import { exclusionsText, type Exclusion } from './eligibility.js'

/** One node as the managers see it: its document entry, its health and its last reported load. */
export interface NodeView {
  info: NodeInfo
  health: Health
  /** Last heartbeat's load; undefined when none was received yet. */
  load: LoadSample | undefined
}

/** A GPU power table prepared for matching: keys upper-cased, longest first. */
export interface GpuScoreTable {
  readonly entries: ReadonlyArray<readonly [string, number]>
  readonly unknownScore: number
}

export function gpuScoreTable (scores: Readonly<Record<string, number>> = DEFAULT_GPU_SCORES, unknownScore = DEFAULT_UNKNOWN_GPU_SCORE): GpuScoreTable {
  const entries = Object.entries(scores)
    .map(([k, v]) => [k.toUpperCase(), v] as const)
    // longer keys first so GH200 is not read as H200 and L40S not as L40; ties by name for determinism
    .sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return { entries, unknownScore }
}

export const DEFAULT_GPU_SCORE_TABLE = gpuScoreTable()

/** Power of one device: the first table key (longest first) contained in the upper-cased name. */
export function gpuDeviceScore (gpuName: string, table: GpuScoreTable = DEFAULT_GPU_SCORE_TABLE): number {
  const name = gpuName.toUpperCase()
  for (const [key, score] of table.entries) if (name.includes(key)) return score
  return table.unknownScore
}

/** GPU power score: device score × gpuCount; 0 without a GPU. */
export function gpuPowerScore (hw: Hardware, table: GpuScoreTable = DEFAULT_GPU_SCORE_TABLE): number {
  if (!hw.hasGpu) return 0
  return gpuDeviceScore(hw.gpuName, table) * Math.max(1, hw.gpuCount)
}

/** CPU power score: cpuCount × the node's multiplier (1 unless set). */
export function cpuPowerScore (info: NodeInfo): number {
  return info.hardware.cpuCount * (info.cpuPowerMultiplier ?? 1)
}

export interface LoadWeights {
  cpu: number
  memory: number
  jobs: number
  percentPerJob: number
  trainingJobFactor: number
  gpu: number
}

export const DEFAULT_LOAD_WEIGHTS: LoadWeights = {
  cpu: DEFAULT_LOAD_CPU_WEIGHT,
  memory: DEFAULT_LOAD_MEMORY_WEIGHT,
  jobs: DEFAULT_LOAD_JOBS_WEIGHT,
  percentPerJob: DEFAULT_LOAD_PERCENT_PER_JOB,
  trainingJobFactor: DEFAULT_LOAD_TRAINING_JOB_FACTOR,
  gpu: DEFAULT_LOAD_GPU_WEIGHT
}

/**
 * `0.4·cpu% + 0.3·mem% + 0.3·min(100, (selfplay + 2·training)·12.5)`; on a GPU node with
 * gpu% > 0, `0.7·load + 0.3·gpu%`; capped at 100. No heartbeat yet → 0 (nothing known to be busy).
 */
export function loadScore (load: LoadSample | undefined, hasGpu: boolean, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): number {
  if (load === undefined) return 0
  const jobs = Math.min(100, (load.selfplayJobs + w.trainingJobFactor * load.trainingJobs) * w.percentPerJob)
  let score = w.cpu * load.cpuPercent + w.memory * load.memoryPercent + w.jobs * jobs
  if (hasGpu && load.gpuPercent > 0) score = (1 - w.gpu) * score + w.gpu * load.gpuPercent
  return Math.min(100, Math.max(0, score))
}

export interface WorkHealthRule {
  maxDiskPercent: number
  maxMemoryPercent: number
  maxLoadScore: number
}

export const DEFAULT_WORK_HEALTH_RULE: WorkHealthRule = {
  maxDiskPercent: DEFAULT_MAX_DISK_PERCENT_FOR_WORK,
  maxMemoryPercent: DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK,
  maxLoadScore: DEFAULT_MAX_LOAD_SCORE_FOR_WORK
}

/** SUSPECT nodes still count as alive (they keep their work); only ALIVE ones get new work. */
export function isAlive (view: NodeView): boolean {
  return view.health !== 'DEAD'
}

/**
 * Every cause that keeps a node from new work, in order: retired, not ALIVE, disk ≥ 70 %,
 * memory ≥ 75 %, load score ≥ 80 (the limits of `rule`). Empty when it is healthy for work. Pure.
 */
export function workExclusions (view: NodeView, rule: WorkHealthRule = DEFAULT_WORK_HEALTH_RULE, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): Exclusion[] {
  const out: Exclusion[] = []
  if (view.info.flags.retired) out.push({ kind: 'retired' })
  if (view.health !== 'ALIVE') out.push({ kind: 'health', health: view.health })
  const load = view.load
  if (load !== undefined && load.diskPercent >= rule.maxDiskPercent) out.push({ kind: 'disk', percent: load.diskPercent, limitPercent: rule.maxDiskPercent })
  if (load !== undefined && load.memoryPercent >= rule.maxMemoryPercent) out.push({ kind: 'memory', percent: load.memoryPercent, limitPercent: rule.maxMemoryPercent })
  const score = loadScore(load, view.info.hardware.hasGpu, w)
  if (score >= rule.maxLoadScore) out.push({ kind: 'load', score, limit: rule.maxLoadScore })
  return out
}

/** Why a node gets no new work in words (every cause of `workExclusions`), or null when it is healthy for work. Pure. */
export function unfitForWork (view: NodeView, rule: WorkHealthRule = DEFAULT_WORK_HEALTH_RULE, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): string | null {
  return exclusionsText(workExclusions(view, rule, w))
}

/** Healthy for new work: unfitForWork finds no reason. */
export function healthyForWork (view: NodeView, rule: WorkHealthRule = DEFAULT_WORK_HEALTH_RULE, w: LoadWeights = DEFAULT_LOAD_WEIGHTS): boolean {
  return unfitForWork(view, rule, w) === null
}

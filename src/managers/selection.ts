/**
 * Node rankings and selections of REFERENCE.md as pure functions over scored node views.
 * Scores are computed once per view (`scoreNodes`), each ranking is a filter and one sort:
 * O(n log n), with ties broken by node id so every node ranks the same way.
 */
import {
  DEFAULT_GPU_SCORE_TABLE, DEFAULT_LOAD_WEIGHTS, DEFAULT_WORK_HEALTH_RULE, cpuPowerScore, gpuPowerScore,
  isAlive, loadScore, type GpuScoreTable, type LoadWeights, type NodeView, type WorkHealthRule, workExclusions
} from './scores.js'
import { exclusionsText, type Exclusion } from './eligibility.js'
import { isGpuOnly } from '../jobs/engine-modes.js'
import type { Capability } from '../state/schema.js'

export interface ScoreParams {
  gpuTable: GpuScoreTable
  loadWeights: LoadWeights
  workRule: WorkHealthRule
}

export const DEFAULT_SCORE_PARAMS: ScoreParams = {
  gpuTable: DEFAULT_GPU_SCORE_TABLE,
  loadWeights: DEFAULT_LOAD_WEIGHTS,
  workRule: DEFAULT_WORK_HEALTH_RULE
}

export interface ScoredNode {
  view: NodeView
  nodeId: string
  gpuScore: number
  cpuScore: number
  load: number
  alive: boolean
  healthy: boolean
  /** Why it gets no new work (retired, health, disk, memory, load), each with its numbers; empty when healthy. */
  exclusions: Exclusion[]
  /** The exclusions in words, or null when healthy. */
  unfit: string | null
  /** Training jobs it runs (heartbeat count, or known from the jobs view). */
  trainingJobs: number
}

export function scoreNodes (views: readonly NodeView[], params: ScoreParams = DEFAULT_SCORE_PARAMS, trainingRunning?: ReadonlyMap<string, number>): ScoredNode[] {
  return views.map(view => {
    const hw = view.info.hardware
    const exclusions = workExclusions(view, params.workRule, params.loadWeights)
    return {
      view,
      nodeId: view.info.nodeId,
      gpuScore: gpuPowerScore(hw, params.gpuTable),
      cpuScore: cpuPowerScore(view.info),
      load: loadScore(view.load, hw.hasGpu, params.loadWeights),
      alive: isAlive(view) && !view.info.flags.retired,
      healthy: exclusions.length === 0,
      exclusions,
      unfit: exclusionsText(exclusions),
      trainingJobs: Math.max(view.load?.trainingJobs ?? 0, trainingRunning?.get(view.info.nodeId) ?? 0)
    }
  })
}

const byId = (a: ScoredNode, b: ScoredNode): number => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0)
/** (−gpuScore, load, id) */
const byGpuThenLoad = (a: ScoredNode, b: ScoredNode): number => b.gpuScore - a.gpuScore || a.load - b.load || byId(a, b)
/** (−cpuScore, load, id) */
const byCpuThenLoad = (a: ScoredNode, b: ScoredNode): number => b.cpuScore - a.cpuScore || a.load - b.load || byId(a, b)
const byLoad = (a: ScoredNode, b: ScoredNode): number => a.load - b.load || byId(a, b)

const can = (n: ScoredNode, c: Capability): boolean => n.view.info.capabilities.includes(c)
const hasGpu = (n: ScoredNode): boolean => n.view.info.hardware.hasGpu

/** GPU nodes, alive, with the `training` capability, by GPU score (the nodes training should go to first). */
export function trainingPrimaryNodes (nodes: readonly ScoredNode[], count: number): ScoredNode[] {
  return nodes.filter(n => hasGpu(n) && n.alive && can(n, 'training')).sort(byGpuThenLoad).slice(0, count)
}

export interface TrainingPick {
  /** Node ids not to choose (already tried). */
  exclude?: ReadonlySet<string>
  /** Least memory a node needs, GB. */
  minMemoryGb?: number
  /** With no GPU candidate, take the strongest CPU node with the training capability. */
  allowCpu?: boolean
}

/**
 * The strongest healthy GPU training node, preferring nodes that run no training now (falling
 * back to busy ones when that leaves none); sorted (−gpuScore, load). null when there is none.
 */
export function bestGpuNodeForTraining (nodes: readonly ScoredNode[], pick: TrainingPick = {}): ScoredNode | null {
  const minMem = pick.minMemoryGb ?? 0
  const candidates = nodes.filter(n =>
    hasGpu(n) && n.alive && n.healthy && can(n, 'training') &&
    n.view.info.hardware.memoryGb >= minMem && pick.exclude?.has(n.nodeId) !== true)
  const idle = candidates.filter(n => n.trainingJobs === 0)
  const pool = idle.length > 0 ? idle : candidates
  const gpu = pool.sort(byGpuThenLoad)[0] ?? null
  if (gpu !== null || pick.allowCpu !== true) return gpu
  const cpus = nodes.filter(n => !hasGpu(n) && n.alive && n.healthy && can(n, 'training') &&
    n.view.info.hardware.memoryGb >= minMem && pick.exclude?.has(n.nodeId) !== true)
  const idleCpus = cpus.filter(n => n.trainingJobs === 0)
  return (idleCpus.length > 0 ? idleCpus : cpus).sort(byCpuThenLoad)[0] ?? null
}

/**
 * Every alive node training may go to, healthy or not (the nodes whose disk limits the data the
 * cluster can still train on): nodes with `training` and the memory, GPU ones — CPU ones too
 * with `allowCpu`. By id.
 */
export function trainingNodes (nodes: readonly ScoredNode[], pick: Pick<TrainingPick, 'minMemoryGb' | 'allowCpu'> = {}): ScoredNode[] {
  const minMem = pick.minMemoryGb ?? 0
  return nodes.filter(n => n.alive && can(n, 'training') && (hasGpu(n) || pick.allowCpu === true) &&
    n.view.info.hardware.memoryGb >= minMem).sort(byId)
}

/** Healthy nodes by CPU power then load. */
export function cpuPrimaryNodes (nodes: readonly ScoredNode[], count: number): ScoredNode[] {
  return nodes.filter(n => n.alive && n.healthy).sort(byCpuThenLoad).slice(0, count)
}

function bestCpuNodeWith (nodes: readonly ScoredNode[], capability: Capability): ScoredNode | null {
  return nodes.filter(n => n.alive && n.healthy && can(n, capability)).sort(byCpuThenLoad)[0] ?? null
}

export function bestCpuNodeForExport (nodes: readonly ScoredNode[]): ScoredNode | null {
  return bestCpuNodeWith(nodes, 'export')
}

export function bestCpuNodeForGauntlet (nodes: readonly ScoredNode[]): ScoredNode | null {
  return bestCpuNodeWith(nodes, 'gauntlet')
}

/**
 * Every cause that keeps `n` from selfplay in `mode`: its work exclusions (retired, health, disk,
 * memory, load), no selfplay capability, no GPU for a GPU-only mode. Empty when it takes selfplay.
 * The one decision behind `nodesForEngineMode` (the leader's dispatch) and `whyNot`.
 */
export function selfplayExclusions (n: ScoredNode, mode: string): Exclusion[] {
  const out = [...n.exclusions]
  if (!can(n, 'selfplay')) out.push({ kind: 'capability', capability: 'selfplay' })
  if (isGpuOnly(mode) && !hasGpu(n)) out.push({ kind: 'no-gpu', engineMode: mode })
  return out
}

/** Selfplay nodes that can run `mode` (no `selfplayExclusions`: alive, healthy, able, a GPU for GPU-only modes), least loaded first. */
export function nodesForEngineMode (nodes: readonly ScoredNode[], mode: string): ScoredNode[] {
  return nodes.filter(n => n.alive && selfplayExclusions(n, mode).length === 0).sort(byLoad)
}

/** GPU nodes that count for scaling the training thresholds: alive, with `training`. */
export function countTrainingGpuNodes (nodes: readonly ScoredNode[]): number {
  let n = 0
  for (const x of nodes) if (hasGpu(x) && x.alive && can(x, 'training')) n++
  return n
}

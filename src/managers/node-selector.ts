/**
 * NodeSelector: ranks nodes for work from the merged view. The decisions are the pure functions
 * of `selection.ts`; this class gathers the views, caches each ranking for `rankingCacheMs`
 * (REFERENCE: 10 s) and warns when a selection comes back empty (it never throws for that).
 */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { ConfigError } from '../core/errors.js'
import { OncePerCause } from '../core/once-per-cause.js'
import {
  DEFAULT_CPU_PRIMARY_COUNT, DEFAULT_GPU_SCORES, DEFAULT_MIN_MEMORY_GB_FOR_TASKS, DEFAULT_RANKING_CACHE_MS,
  DEFAULT_TRAINING_PRIMARY_COUNT, DEFAULT_UNKNOWN_GPU_SCORE
} from '../config/defaults.js'
import { DEFAULT_LOAD_WEIGHTS, DEFAULT_WORK_HEALTH_RULE, gpuScoreTable, type LoadWeights, type NodeView, type WorkHealthRule } from './scores.js'
import {
  bestCpuNodeForExport, bestCpuNodeForGauntlet, bestGpuNodeForTraining, countTrainingGpuNodes, cpuPrimaryNodes,
  nodesForEngineMode, scoreNodes, trainingNodes, trainingPrimaryNodes, type ScoreParams, type ScoredNode
} from './selection.js'
import type { NodeViewSource } from './views.js'

export interface NodeSelectorInit {
  /** How long a computed ranking is reused. @default 10_000 */
  rankingCacheMs?: number
  /** GPU power per device by upper-case name substring. @default DEFAULT_GPU_SCORES */
  gpuScores?: Readonly<Record<string, number>>
  /** @default 10 */
  unknownGpuScore?: number
  /** @default 5 */
  trainingPrimaryCount?: number
  /** @default 3 */
  cpuPrimaryCount?: number
  /** Least memory of a node given training, GB. @default 8 */
  minMemoryGbForTasks?: number
  /** @default DEFAULT_LOAD_WEIGHTS */
  loadWeights?: LoadWeights
  /** @default DEFAULT_WORK_HEALTH_RULE */
  workRule?: WorkHealthRule
  /** With no GPU training node, train on the strongest CPU node with `training`. @default false */
  allowCpuTraining?: boolean
}

export interface NodeSelectorComponents {
  views: NodeViewSource
  clock: Clock
  logger: Logger
  /** Training jobs running per node according to the jobs view (added to heartbeat counts). */
  trainingRunning?: () => ReadonlyMap<string, number>
}

interface CacheEntry { atMs: number, value: unknown }

/** Most cached rankings kept (distinct argument sets); the oldest are dropped beyond it. */
export const MAX_CACHED_RANKINGS = 256

export class NodeSelector {
  private readonly params: ScoreParams
  private readonly cacheMs: number
  private readonly trainingCount: number
  private readonly cpuCount: number
  private readonly minMemoryGb: number
  private readonly allowCpuTraining: boolean
  private readonly cache = new Map<string, CacheEntry>()
  private readonly log: Logger
  /** "no node qualifies", once per selection while it lasts (rankings are recomputed every rankingCacheMs). */
  private readonly noneQualifies: OncePerCause

  constructor (private readonly c: NodeSelectorComponents, init: NodeSelectorInit = {}) {
    this.log = c.logger.child({ component: 'node-selector' })
    this.noneQualifies = new OncePerCause(this.log)
    this.cacheMs = nonNegative('selector.rankingCacheMs', init.rankingCacheMs ?? DEFAULT_RANKING_CACHE_MS)
    this.trainingCount = positiveInt('selector.trainingPrimaryCount', init.trainingPrimaryCount ?? DEFAULT_TRAINING_PRIMARY_COUNT)
    this.cpuCount = positiveInt('selector.cpuPrimaryCount', init.cpuPrimaryCount ?? DEFAULT_CPU_PRIMARY_COUNT)
    this.allowCpuTraining = init.allowCpuTraining ?? false
    this.minMemoryGb = nonNegative('scheduler.minMemoryGbForTasks', init.minMemoryGbForTasks ?? DEFAULT_MIN_MEMORY_GB_FOR_TASKS)
    this.params = {
      gpuTable: gpuScoreTable({ ...DEFAULT_GPU_SCORES, ...init.gpuScores }, nonNegative('selector.unknownGpuScore', init.unknownGpuScore ?? DEFAULT_UNKNOWN_GPU_SCORE)),
      loadWeights: init.loadWeights ?? DEFAULT_LOAD_WEIGHTS,
      workRule: init.workRule ?? DEFAULT_WORK_HEALTH_RULE
    }
  }

  /** Drop every cached ranking (e.g. after a node joined or died). */
  invalidate (): void {
    this.cache.clear()
  }

  /** All nodes with their scores (cached). */
  scored (): ScoredNode[] {
    return this.cached('scored', () => scoreNodes(this.c.views.nodeViews(), this.params, this.c.trainingRunning?.()))
  }

  trainingPrimaryNodes (count = this.trainingCount): NodeView[] {
    return this.cached(`training:${count}`, () => this.warnIfEmpty('trainingPrimaryNodes', trainingPrimaryNodes(this.scored(), count).map(n => n.view)))
  }

  bestGpuNodeForTraining (exclude: Iterable<string> = []): NodeView | null {
    const ex = new Set(exclude)
    return this.cached(`bestGpu:${[...ex].sort().join(',')}`, () =>
      this.warnIfNull('bestGpuNodeForTraining', bestGpuNodeForTraining(this.scored(), { exclude: ex, minMemoryGb: this.minMemoryGb, allowCpu: this.allowCpuTraining })?.view ?? null))
  }

  /** Every alive node training may go to, healthy or not (self-play backpressure reads their disks). */
  trainingNodes (): NodeView[] {
    return this.cached('trainingNodes', () => trainingNodes(this.scored(), { minMemoryGb: this.minMemoryGb, allowCpu: this.allowCpuTraining }).map(n => n.view))
  }

  cpuPrimaryNodes (count = this.cpuCount): NodeView[] {
    return this.cached(`cpu:${count}`, () => this.warnIfEmpty('cpuPrimaryNodes', cpuPrimaryNodes(this.scored(), count).map(n => n.view)))
  }

  bestCpuNodeForExport (): NodeView | null {
    return this.cached('export', () => this.warnIfNull('bestCpuNodeForExport', bestCpuNodeForExport(this.scored())?.view ?? null))
  }

  bestCpuNodeForGauntlet (): NodeView | null {
    return this.cached('gauntlet', () => this.warnIfNull('bestCpuNodeForGauntlet', bestCpuNodeForGauntlet(this.scored())?.view ?? null))
  }

  nodesForEngineMode (mode: string): NodeView[] {
    return this.cached(`mode:${mode}`, () => this.warnIfEmpty('nodesForEngineMode', nodesForEngineMode(this.scored(), mode).map(n => n.view)))
  }

  /** Alive GPU training nodes (for the training thresholds' cluster-size scaling). */
  trainingGpuNodeCount (): number {
    return this.cached('gpuCount', () => countTrainingGpuNodes(this.scored()))
  }

  private cached<T> (key: string, compute: () => T): T {
    const now = this.c.clock.monoMs()
    const hit = this.cache.get(key)
    if (hit !== undefined && now - hit.atMs < this.cacheMs) return hit.value as T
    const value = compute()
    this.cache.delete(key)
    this.cache.set(key, { atMs: now, value })
    if (this.cache.size > MAX_CACHED_RANKINGS) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    return value
  }

  private warnIfEmpty<T> (what: string, list: T[]): T[] {
    this.noneQualifies.report(what, list.length === 0 ? { key: 'none', msg: 'no node qualifies', fields: { what } } : null)
    return list
  }

  private warnIfNull<T> (what: string, v: T | null): T | null {
    this.noneQualifies.report(what, v === null ? { key: 'none', msg: 'no node qualifies', fields: { what } } : null)
    return v
  }
}

function nonNegative (key: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(key, 'a number ≥ 0', `got ${v}`)
  return v
}

function positiveInt (key: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, 'an integer ≥ 1', `got ${v}`)
  return v
}

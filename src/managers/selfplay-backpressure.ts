/**
 * Self-play backpressure as a pure function: whether the cluster should stop dispatching new
 * self-play, and why, from three signals over the merged view — the operator's `selfplayPaused`
 * setting, the backlog of games no training has used yet, and the disk of the training nodes.
 * Running jobs are never stopped; only new dispatches (every node's target becomes 0).
 */
import { DEFAULT_MAX_DISK_PERCENT_FOR_WORK, DEFAULT_MAX_UNTRAINED_GAMES } from '../config/defaults.js'
import type { ConfigKey } from '../state/schema.js'
import type { NodeView } from './scores.js'

export type BackpressureSignal = 'paused' | 'training-disk' | 'untrained-backlog'

export interface BackpressureParams {
  /** Untrained games (summed over configs) at which self-play pauses. @default 100_000 */
  maxUntrainedGames: number
  /** Disk use (%) at or above which a training node takes no more work or data. @default 70 */
  maxTrainingDiskPercent: number
}

export const DEFAULT_BACKPRESSURE_PARAMS: BackpressureParams = {
  maxUntrainedGames: DEFAULT_MAX_UNTRAINED_GAMES,
  maxTrainingDiskPercent: DEFAULT_MAX_DISK_PERCENT_FOR_WORK
}

export interface BackpressureInput {
  /** The operator's `selfplayPaused` setting. */
  paused: boolean
  /** Games no completed training has used yet, summed over configs (`untrainedBacklog`). */
  untrainedGames: number
  /** The config with the most untrained games (named in the cause), or null. */
  largestBacklog: { config: ConfigKey, games: number } | null
  /** The training node with the most room (`emptiestTrainingDisk`), or null when none is known. */
  trainingDisk: { node: string, diskPercent: number } | null
}

export interface SelfplayBackpressure {
  active: boolean
  /** Every active signal in words, `; `-joined; null when self-play may run. */
  cause: string | null
  /** The active signals, in the order of `cause` (a change of these is logged once). */
  signals: BackpressureSignal[]
  untrainedGames: number
  maxUntrainedGames: number
}

/** Whether self-play should pause, and why (every signal that holds, operator first). */
export function selfplayBackpressure (input: BackpressureInput, p: BackpressureParams = DEFAULT_BACKPRESSURE_PARAMS): SelfplayBackpressure {
  const signals: BackpressureSignal[] = []
  const causes: string[] = []
  if (input.paused) {
    signals.push('paused')
    causes.push('paused by the operator (setting selfplayPaused; unset it to resume)')
  }
  const disk = input.trainingDisk
  if (disk !== null && disk.diskPercent >= p.maxTrainingDiskPercent) {
    signals.push('training-disk')
    causes.push(`every training node's disk is at or above ${p.maxTrainingDiskPercent} % (health.maxDiskPercentForWork): ` +
      `the emptiest, ${disk.node}, is ${disk.diskPercent.toFixed(0)} % full`)
  }
  if (input.untrainedGames >= p.maxUntrainedGames) {
    signals.push('untrained-backlog')
    const most = input.largestBacklog === null ? '' : `; most in ${input.largestBacklog.config}: ${input.largestBacklog.games}`
    causes.push(`${input.untrainedGames} untrained games ≥ ${p.maxUntrainedGames} (scheduler.maxUntrainedGames${most})`)
  }
  return {
    active: signals.length > 0,
    cause: causes.length > 0 ? causes.join('; ') : null,
    signals,
    untrainedGames: input.untrainedGames,
    maxUntrainedGames: p.maxUntrainedGames
  }
}

/**
 * Per config: games in the cluster's manifests minus the games the config's last completed
 * training used (`trainedGames` of its training record; 0 when it never trained), at least 0.
 * `total` sums them; `largest` is the config with the most (ties: the first config key).
 */
export function untrainedBacklog (
  games: ReadonlyMap<ConfigKey, number>, trainedGames: ReadonlyMap<ConfigKey, number | null>
): { total: number, largest: { config: ConfigKey, games: number } | null } {
  let total = 0
  let largest: { config: ConfigKey, games: number } | null = null
  for (const config of [...games.keys()].sort()) {
    const n = Math.max(0, (games.get(config) ?? 0) - (trainedGames.get(config) ?? 0))
    total += n
    if (n > 0 && (largest === null || n > largest.games)) largest = { config, games: n }
  }
  return { total, largest }
}

/**
 * The training node with the most room: the least disk use among `trainingNodes`. null when
 * there is none, or when one of them has not reported its load yet (it might have room).
 */
export function emptiestTrainingDisk (trainingNodes: readonly NodeView[]): { node: string, diskPercent: number } | null {
  let best: { node: string, diskPercent: number } | null = null
  for (const v of trainingNodes) {
    if (v.load === undefined) return null
    if (best === null || v.load.diskPercent < best.diskPercent) best = { node: v.info.nodeId, diskPercent: v.load.diskPercent }
  }
  return best
}

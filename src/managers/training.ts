/**
 * TrainingCoordinator decisions as pure functions: cluster-size threshold scaling, readiness per
 * config (games, new games, nothing in flight, cooldown since the last training ended, dedup), the dedup fingerprint, the
 * gauntlet verdict and the game-by-game Elo update, and leaderless local training.
 */
import { createHash } from 'node:crypto'
import {
  DEFAULT_DEDUP_WINDOW, DEFAULT_ELO_K, DEFAULT_ELO_SCALE, DEFAULT_FIRST_MODEL_WIN_RATE, DEFAULT_GAUNTLET_DRAW_SCORE,
  DEFAULT_INCREMENTAL_GAMES, DEFAULT_INCREMENTAL_GAMES_FLOOR, DEFAULT_MAX_DISPATCH_ATTEMPTS, DEFAULT_MIN_GAMES,
  DEFAULT_MIN_GAMES_FLOOR, DEFAULT_PROMOTE_WIN_RATE, DEFAULT_THRESHOLD_SCALE, DEFAULT_THRESHOLD_SCALE_ABOVE,
  DEFAULT_TRAINING_COOLDOWN_MS, DEFAULT_TRAINING_RETRY_BACKOFF_MS, type ThresholdScaleStep
} from '../config/defaults.js'
import type { ConfigKey } from '../state/schema.js'

export interface TrainingParams {
  minGames: number
  incrementalGames: number
  cooldownMs: number
  thresholdScale: readonly ThresholdScaleStep[]
  thresholdScaleAbove: number
  minGamesFloor: number
  incrementalGamesFloor: number
  dedupWindow: number
  maxDispatchAttempts: number
  /** Wait before an attempt is retried on a node that already tried it (no other node left). */
  retryBackoffMs: number
}

export const DEFAULT_TRAINING_PARAMS: TrainingParams = {
  minGames: DEFAULT_MIN_GAMES,
  incrementalGames: DEFAULT_INCREMENTAL_GAMES,
  cooldownMs: DEFAULT_TRAINING_COOLDOWN_MS,
  thresholdScale: DEFAULT_THRESHOLD_SCALE,
  thresholdScaleAbove: DEFAULT_THRESHOLD_SCALE_ABOVE,
  minGamesFloor: DEFAULT_MIN_GAMES_FLOOR,
  incrementalGamesFloor: DEFAULT_INCREMENTAL_GAMES_FLOOR,
  dedupWindow: DEFAULT_DEDUP_WINDOW,
  maxDispatchAttempts: DEFAULT_MAX_DISPATCH_ATTEMPTS,
  retryBackoffMs: DEFAULT_TRAINING_RETRY_BACKOFF_MS
}

export interface Thresholds {
  factor: number
  minGames: number
  incrementalGames: number
}

/** ×1.0 for ≤ 1 GPU node, 0.7 for ≤ 2, 0.5 for ≤ 4, 0.35 above; floors 500 / 200. */
export function scaledThresholds (gpuNodes: number, p: TrainingParams = DEFAULT_TRAINING_PARAMS): Thresholds {
  const step = p.thresholdScale.find(s => gpuNodes <= s.maxGpuNodes)
  const factor = step?.factor ?? p.thresholdScaleAbove
  // round first so 2000 × 0.35 is 700, not 700.0000000000001 → 701
  const scale = (v: number): number => Math.ceil(Math.round(v * factor * 1e6) / 1e6)
  return {
    factor,
    minGames: Math.max(Math.min(p.minGames, p.minGamesFloor), scale(p.minGames)),
    incrementalGames: Math.max(Math.min(p.incrementalGames, p.incrementalGamesFloor), scale(p.incrementalGames))
  }
}

/** What the document records of a config's trainings (the leader's training register). */
export interface TrainingHistory {
  /** Wall-clock ms of the last training dispatch of this config. */
  lastDispatchAt: number
  /** Wall-clock ms at which the last training of this config ended; absent if none has. */
  lastEndedAt?: number | undefined
  /** Cluster games of the config when its last completed training was dispatched; null if never trained. */
  trainedGames: number | null
  /** Why the last training of this config was given up; null or absent when it was not. */
  lastFailure?: string | null | undefined
}

export interface ReadinessInput {
  config: ConfigKey
  games: number
  fingerprint: string
  history: TrainingHistory | undefined
  /** A training of this config is pending or running (any dispatcher, any epoch). */
  inFlight: boolean
  /** What the training in flight is doing, in words (e.g. waiting to retry). */
  inFlightWhy?: string | undefined
}

export type NotReadyReason = 'too-few-games' | 'too-few-new-games' | 'in-flight' | 'cooldown' | 'duplicate'

export interface ReadinessDecision {
  config: ConfigKey
  ready: boolean
  reason: NotReadyReason | null
  games: number
  newGames: number | null
  fingerprint: string
  /** The reason in words, for `status` and `whyNot`; null when ready. */
  why: string | null
}

/** A readiness decision in words, for `status` and `whyNot`: `ready`, or the reason, then why in parentheses. */
export function readinessText (d: { ready: boolean, reason: string | null, why?: string | null }): string {
  const head = d.ready ? 'ready' : d.reason ?? 'not ready'
  return d.why === undefined || d.why === null ? head : `${head} (${d.why})`
}

/** Readiness of each config (REFERENCE: TrainingCoordinator readiness). */
export function checkTrainingReadiness (
  inputs: readonly ReadinessInput[], thresholds: Thresholds, recentFingerprints: ReadonlySet<string>, nowMs: number,
  p: TrainingParams = DEFAULT_TRAINING_PARAMS
): ReadinessDecision[] {
  return inputs.map(i => {
    const trained = i.history?.trainedGames ?? null
    const newGames = trained === null ? null : i.games - trained
    const base = { config: i.config, games: i.games, newGames, fingerprint: i.fingerprint }
    const failed = i.history?.lastFailure ?? null
    const no = (reason: NotReadyReason, why: string): ReadinessDecision =>
      ({ ...base, ready: false, reason, why: failed === null ? why : `${why}; last training failed: ${failed}` })
    if (i.games < thresholds.minGames) return no('too-few-games', `${i.games} of ${thresholds.minGames} games`)
    if (newGames !== null && newGames < thresholds.incrementalGames) {
      return no('too-few-new-games', `${newGames} of ${thresholds.incrementalGames} new games since the last training`)
    }
    if (i.inFlight) return no('in-flight', i.inFlightWhy ?? 'a training of this config is pending or running')
    const cooledAt = i.history === undefined ? Number.NEGATIVE_INFINITY : cooldownStartMs(i.history) + p.cooldownMs
    if (nowMs < cooledAt) return no('cooldown', `cooldown: ${Math.ceil((cooledAt - nowMs) / 1000)} s left`)
    if (recentFingerprints.has(i.fingerprint)) return no('duplicate', 'same data as a recent dispatch')
    return { ...base, ready: true, reason: null, why: null }
  })
}

/**
 * Where a config's cooldown starts: the end of its last training, or its last dispatch when that
 * is newer (a training dispatched whose end was never recorded).
 */
export function cooldownStartMs (h: TrainingHistory): number {
  return Math.max(h.lastDispatchAt, h.lastEndedAt ?? Number.NEGATIVE_INFINITY)
}

// ---- retries ---------------------------------------------------------------------------------

export interface RetryInput {
  type: 'training' | 'gauntlet'
  /** Attempt number of the job that ended without a result (1: the first dispatch). */
  attempt: number
  maxAttempts: number
  /** The best node that has not tried this job yet, or null. */
  untried: string | null
  /** The best node at all, tried or not, or null when there is none. */
  any: string | null
  /** How long this node has seen the attempt ended (local monotonic ms). */
  endedForMs: number
  backoffMs: number
}

export type RetryPlan =
  | { kind: 'dispatch', node: string }
  | { kind: 'wait', why: string }
  | { kind: 'give-up', why: string | null }

/**
 * What to do with a training or gauntlet attempt that ended without a result: the next attempt
 * on an untried node at once; on a node that tried it once the back-off has passed, when no
 * other is left; give up after the last attempt, or when no node at all turned up within the
 * back-off. It never waits without end, so no config stays in flight for ever.
 */
export function planTrainingRetry (i: RetryInput): RetryPlan {
  if (i.attempt >= i.maxAttempts) return { kind: 'give-up', why: null }
  if (i.untried !== null) return { kind: 'dispatch', node: i.untried }
  const over = i.endedForMs >= i.backoffMs
  const left = `${Math.ceil((i.backoffMs - i.endedForMs) / 1000)} s`
  if (i.any === null) {
    const why = `no ${i.type} node for attempt ${i.attempt + 1}`
    return over ? { kind: 'give-up', why } : { kind: 'wait', why: `${why}: giving up in ${left}` }
  }
  return over ? { kind: 'dispatch', node: i.any } : { kind: 'wait', why: `no other ${i.type} node: retry on ${i.any} in ${left}` }
}

/**
 * Dedup fingerprint: sha256 of the config key, the game-count bucket (games / incremental
 * threshold) and the data digest. The same data seen again (a new leader after failover, a
 * second readiness pass) gives the same fingerprint.
 */
export function trainingFingerprint (config: ConfigKey, games: number, bucketGames: number, dataDigest: string): string {
  const bucket = Math.floor(games / Math.max(1, bucketGames))
  return createHash('sha256').update(`${config}|${bucket}|${dataDigest}`).digest('hex')
}

/** The last `max` fingerprints, oldest dropped first. */
export class FingerprintWindow {
  private readonly order: string[] = []
  private readonly set = new Set<string>()

  constructor (readonly max: number = DEFAULT_DEDUP_WINDOW) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`dedup window must be an integer ≥ 1, got ${max}`)
  }

  add (fp: string): void {
    if (this.set.has(fp)) return
    this.order.push(fp)
    this.set.add(fp)
    while (this.order.length > this.max) this.set.delete(this.order.shift() as string)
  }

  has (fp: string): boolean {
    return this.set.has(fp)
  }

  view (): ReadonlySet<string> {
    return this.set
  }

  get size (): number {
    return this.set.size
  }
}

// ---- gauntlet and Elo ------------------------------------------------------------------------

export type GameResult = 'W' | 'L' | 'D'

export interface GauntletParams {
  promoteWinRate: number
  firstModelWinRate: number
  drawScore: number
  eloK: number
  eloScale: number
}

export const DEFAULT_GAUNTLET_PARAMS: GauntletParams = {
  promoteWinRate: DEFAULT_PROMOTE_WIN_RATE,
  firstModelWinRate: DEFAULT_FIRST_MODEL_WIN_RATE,
  drawScore: DEFAULT_GAUNTLET_DRAW_SCORE,
  eloK: DEFAULT_ELO_K,
  eloScale: DEFAULT_ELO_SCALE
}

/** Parse `WLD…` (the candidate's results, in game order). Throws on any other character. */
export function parseGameResults (text: string): GameResult[] {
  if (!/^[WLD]*$/.test(text)) throw new RangeError(`gauntlet results must be W, L or D characters, got ${JSON.stringify(text.slice(0, 40))}`)
  return [...text] as GameResult[]
}

export function scoreOf (r: GameResult, p: GauntletParams = DEFAULT_GAUNTLET_PARAMS): number {
  return r === 'W' ? 1 : r === 'D' ? p.drawScore : 0
}

/** Expected score of A against B: 1 / (1 + 10^((rB − rA) / scale)). */
export function expectedScore (rA: number, rB: number, scale = DEFAULT_ELO_SCALE): number {
  return 1 / (1 + 10 ** ((rB - rA) / scale))
}

/** Ratings after each game in turn, each game against the ratings the previous one left. */
export function updateElo (rA: number, rB: number, results: readonly GameResult[], p: GauntletParams = DEFAULT_GAUNTLET_PARAMS): { a: number, b: number } {
  let a = rA
  let b = rB
  for (const r of results) {
    const ea = expectedScore(a, b, p.eloScale)
    const s = scoreOf(r, p)
    const delta = p.eloK * (s - ea)
    a += delta
    b -= delta
  }
  return { a, b }
}

export interface GauntletVerdict {
  games: number
  winRate: number
  required: number
  pass: boolean
  /** Candidate's and champion's ratings after the games. */
  candidateElo: number
  championElo: number | null
}

/**
 * Win rate ≥ 0.55 against the current best promotes (≥ 0.5 when there is none: the first model
 * always passes its baseline); draws count 0.5. No games played → fail.
 */
export function gauntletVerdict (
  results: readonly GameResult[], champion: { elo: number } | null, initialElo: number, p: GauntletParams = DEFAULT_GAUNTLET_PARAMS
): GauntletVerdict {
  const games = results.length
  const score = results.reduce((s, r) => s + scoreOf(r, p), 0)
  const winRate = games === 0 ? 0 : score / games
  const required = champion === null ? p.firstModelWinRate : p.promoteWinRate
  const start = champion?.elo ?? initialElo
  const elo = updateElo(start, start, results, p)
  return {
    games,
    winRate,
    required,
    pass: games > 0 && winRate >= required,
    candidateElo: elo.a,
    championElo: champion === null ? null : elo.b
  }
}

// ---- leaderless local training ---------------------------------------------------------------

export interface LeaderlessInput {
  /** Local clock ms since a leader was last known (Infinity if never). */
  leaderlessForMs: number
  timeoutMs: number
  hasGpu: boolean
  canTrain: boolean
  /** Local training jobs this node started on its own that still run. */
  localJobsRunning: number
  maxLocalJobs: number
  /** Games of each config in this node's own data dir. */
  localGames: ReadonlyMap<ConfigKey, number>
  minGames: number
  /** Configs already trained locally with this much data or more (not to repeat). */
  trainedLocally: ReadonlyMap<ConfigKey, number>
}

/**
 * A config this node may train on its own while no leader is known for the timeout: a GPU
 * training node with enough local data, at most `maxLocalJobs` at once; the config with the
 * most local games first. null when none.
 */
export function leaderlessTrainingChoice (i: LeaderlessInput): ConfigKey | null {
  if (i.leaderlessForMs < i.timeoutMs || !i.hasGpu || !i.canTrain) return null
  if (i.localJobsRunning >= i.maxLocalJobs) return null
  let best: ConfigKey | null = null
  let bestGames = -1
  for (const [config, games] of [...i.localGames.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (games < i.minGames) continue
    if ((i.trainedLocally.get(config) ?? -1) >= games) continue
    if (games > bestGames) { best = config; bestGames = games }
  }
  return best
}

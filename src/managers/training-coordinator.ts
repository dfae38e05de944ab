/**
 * TrainingCoordinator: on the leader, starts training for each config whose data is ready
 * (pure `checkTrainingReadiness`), on the strongest GPU node, retrying on up to
 * `maxDispatchAttempts` distinct nodes; then runs the gauntlet and promotes or archives. Its
 * memory lives in the document (training records, job records), so a new leader after a
 * failover continues instead of re-triggering. Without a leader for the leaderless timeout, a
 * GPU node may start one local training itself.
 */
import { timestampMs, type Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { ConfigError } from '../core/errors.js'
import { MAX_TEXT_CHARS } from '../core/vocabulary.js'
import { DEFAULT_LEADERLESS_TRAINING_TIMEOUT_MS, DEFAULT_MAX_LEADERLESS_JOBS_PER_NODE, DEFAULT_GAUNTLET_GAMES_PER_SEAT } from '../config/defaults.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { JobView } from '../state/jobs.js'
import { MAX_CHAIN_HOPS } from '../jobs/lifecycle.js'
import { ALL_CONFIG_KEYS, type ConfigKey, type TrainingRecord } from '../state/schema.js'
import { clusterDataByConfig, localGamesByConfig } from './cluster-data.js'
import type { NodeSelector } from './node-selector.js'
import {
  DEFAULT_GAUNTLET_PARAMS, DEFAULT_TRAINING_PARAMS, FingerprintWindow, checkTrainingReadiness, gauntletVerdict,
  leaderlessTrainingChoice, parseGameResults, planTrainingRetry, scaledThresholds, trainingFingerprint,
  type GameResult, type GauntletParams, type ReadinessDecision, type TrainingParams
} from './training.js'

/** Rating of a config's first model before its gauntlet. @default 1200 */
export const DEFAULT_INITIAL_ELO = 1200
/** Output line prefixes a training / gauntlet job reports in its status `outputs`. */
export const MODEL_OUTPUT_PREFIX = 'model:'
export const RESULTS_OUTPUT_PREFIX = 'results:'
/** Most ended attempts whose end this coordinator remembers for the retry back-off (the oldest forgotten first). */
export const MAX_TRACKED_ENDED_ATTEMPTS = 10_000

export interface Leadership {
  /** Our epoch while we lead, else undefined. */
  leaderEpoch(): number | undefined
  /** The leader we know of (us or another node), if any. */
  currentLeader(): { nodeId: string, epoch: number } | undefined
}

export interface TrainingCoordinatorComponents {
  state: ClusterState
  selector: NodeSelector
  leadership: Leadership
  clock: Clock
  logger: Logger
}

export interface TrainingCoordinatorInit {
  training?: Partial<TrainingParams>
  gauntlet?: Partial<GauntletParams>
  /** Gauntlet games as first player, and again as second. @default 16 */
  gauntletGamesPerSeat?: number
  /** @default 1200 */
  initialElo?: number
  /** No leader for this long lets a GPU node train locally. @default 180_000 */
  leaderlessTrainingTimeoutMs?: number
  /** Local trainings at once while leaderless; 0 turns it off. @default 1 */
  maxLeaderlessJobsPerNode?: number
}

export interface TrainingTickReport {
  role: 'leader' | 'follower' | 'leaderless'
  decisions: ReadinessDecision[]
  dispatched: Array<{ jobId: string, type: string, config: ConfigKey | null, node: string, attempt: number }>
  promoted: ConfigKey[]
  archived: ConfigKey[]
  failed: Array<{ config: ConfigKey | null, reason: string }>
}

const ACTIVE = new Set(['PENDING', 'RUNNING'])
/** Ended without a result (refused, never started, lost with its node, or failed): another attempt may follow. */
const RETRYABLE = new Set(['REFUSED', 'EXPIRED', 'LOST', 'FAILED'])
/** The leader gave up on this attempt's chain (a FAILED verdict): no further attempt. */
const givenUp = (j: JobView): boolean => j.verdicts.some(v => v.verdict === 'FAILED')

export class TrainingCoordinator {
  private readonly log: Logger
  private readonly tp: TrainingParams
  private readonly gp: GauntletParams
  private readonly gamesPerSeat: number
  private readonly initialElo: number
  private readonly leaderlessTimeoutMs: number
  private readonly maxLeaderlessJobs: number
  private readonly fingerprints: FingerprintWindow
  private leaderSeenAtMs: number
  private lastReport: TrainingTickReport | undefined
  /** jobId → local monotonic ms this coordinator first saw the attempt ended without a result (the retry back-off runs from it). */
  private readonly endedSeen = new Map<string, number>()

  constructor (private readonly c: TrainingCoordinatorComponents, init: TrainingCoordinatorInit = {}) {
    this.log = c.logger.child({ component: 'training-coordinator' })
    this.tp = { ...DEFAULT_TRAINING_PARAMS, ...init.training }
    this.gp = { ...DEFAULT_GAUNTLET_PARAMS, ...init.gauntlet }
    this.gamesPerSeat = init.gauntletGamesPerSeat ?? DEFAULT_GAUNTLET_GAMES_PER_SEAT
    this.initialElo = init.initialElo ?? DEFAULT_INITIAL_ELO
    this.leaderlessTimeoutMs = init.leaderlessTrainingTimeoutMs ?? DEFAULT_LEADERLESS_TRAINING_TIMEOUT_MS
    this.maxLeaderlessJobs = init.maxLeaderlessJobsPerNode ?? DEFAULT_MAX_LEADERLESS_JOBS_PER_NODE
    if (!Number.isInteger(this.tp.maxDispatchAttempts) || this.tp.maxDispatchAttempts < 1) throw new ConfigError('training.maxDispatchAttempts', 'an integer ≥ 1')
    if (!Number.isInteger(this.gamesPerSeat) || this.gamesPerSeat < 1) throw new ConfigError('training.gauntletGamesPerSeat', 'an integer ≥ 1')
    if (!(this.leaderlessTimeoutMs > 0)) throw new ConfigError('election.leaderlessTrainingTimeoutMs', 'a number > 0')
    if (!(this.tp.retryBackoffMs >= 0)) throw new ConfigError('training.retryBackoffMs', 'a number ≥ 0')
    this.fingerprints = new FingerprintWindow(this.tp.dedupWindow)
    // a node that just started has not yet had the chance to learn of a leader
    this.leaderSeenAtMs = c.clock.monoMs()
  }

  /** The last tick's decisions (status, REPL). */
  report (): TrainingTickReport | undefined {
    return this.lastReport
  }

  /** One pass: leader work when leading, leaderless local training otherwise. */
  tick (): TrainingTickReport {
    const report: TrainingTickReport = { role: 'follower', decisions: [], dispatched: [], promoted: [], archived: [], failed: [] }
    const epoch = this.c.leadership.leaderEpoch()
    if (this.c.leadership.currentLeader() !== undefined) this.leaderSeenAtMs = this.c.clock.monoMs()
    if (epoch !== undefined) {
      report.role = 'leader'
      const waits = this.advance(this.c.state.jobs(), epoch, report)
      this.readiness(this.c.state.jobs(), epoch, report, waits)
    } else if (this.c.leadership.currentLeader() === undefined) {
      report.role = 'leaderless'
      this.leaderless(report)
    }
    this.lastReport = report
    return report
  }

  // ---- readiness and first dispatch ------------------------------------------------------------

  /** `waits`: per config, the in-flight attempt waiting to be retried and why. */
  private readiness (jobs: JobView[], epoch: number, report: TrainingTickReport, waits: ReadonlyMap<ConfigKey, string>): void {
    const records = this.c.state.trainingRecords()
    for (const r of records.values()) for (const fp of r.fingerprints) this.fingerprints.add(fp)
    const data = clusterDataByConfig(this.c.state.manifests())
    const thresholds = scaledThresholds(this.c.selector.trainingGpuNodeCount(), this.tp)
    const inFlight = new Map<ConfigKey, string>()
    for (const j of jobs) {
      const config = j.dispatch.config
      if (j.dispatch.type !== 'training' || config === null || inFlight.has(config)) continue
      const what = `training attempt ${j.dispatch.attempt} ${j.state}`
      if (ACTIVE.has(j.state)) inFlight.set(config, `${what} on ${j.dispatch.assignedNode}`)
      else if (this.awaitingRetry(j, jobs)) inFlight.set(config, waits.get(config) ?? `${what}: next attempt at the next pass`)
      else if (this.awaitingGauntlet(j)) inFlight.set(config, waits.get(config) ?? `training ${j.jobId} complete: its gauntlet is pending or running`)
    }
    const inputs = ALL_CONFIG_KEYS.flatMap(config => {
      const d = data.get(config)
      if (d === undefined) return []
      const rec = records.get(config)
      return [{
        config,
        games: d.games,
        fingerprint: trainingFingerprint(config, d.games, thresholds.incrementalGames, d.digest),
        history: rec === undefined
          ? undefined
          : { lastDispatchAt: rec.lastDispatchAt, lastEndedAt: rec.lastEndedAt, trainedGames: rec.trainedGames, lastFailure: rec.lastFailure },
        inFlight: inFlight.has(config),
        inFlightWhy: inFlight.get(config)
      }]
    })
    report.decisions = checkTrainingReadiness(inputs, thresholds, this.fingerprints.view(), timestampMs(this.c.clock), this.tp)
    for (const [k, d] of report.decisions.entries()) {
      if (d.reason === 'duplicate') this.log.info({ config: d.config, games: d.games }, 'training skipped: same data as a recent dispatch')
      if (!d.ready) continue
      const node = this.c.selector.bestGpuNodeForTraining()
      if (node === null) {
        report.failed.push({ config: d.config, reason: 'no healthy GPU training node' })
        report.decisions[k] = { ...d, why: 'no healthy GPU training node to run it' }
        continue
      }
      const rec = records.get(d.config)
      const job = this.c.state.dispatchJob({
        type: 'training', config: d.config, engineMode: null, assignedNode: node.info.nodeId, dispatchEpoch: epoch, attempt: 1, previousJobId: null,
        spec: { games: d.games, fingerprint: d.fingerprint }
      })
      this.fingerprints.add(d.fingerprint)
      this.c.selector.invalidate() // the node just chosen is busy now
      this.updateRecord(d.config, epoch, {
        lastDispatchAt: job.createdAt, lastJobId: job.jobId, dispatchedGames: d.games, fingerprints: [...(rec?.fingerprints ?? []), d.fingerprint].slice(-32)
      })
      report.dispatched.push({ jobId: job.jobId, type: 'training', config: d.config, node: node.info.nodeId, attempt: 1 })
      this.log.info({ config: d.config, games: d.games, node: node.info.nodeId, jobId: job.jobId, epoch }, 'training dispatched')
    }
  }

  // ---- retries, gauntlets, promotion -----------------------------------------------------------

  /** Retries, gauntlets and verdicts; returns, per config, why an attempt waits to be retried. */
  private advance (jobs: JobView[], epoch: number, report: TrainingTickReport): Map<ConfigKey, string> {
    const waits = new Map<ConfigKey, string>()
    const successors = new Set<string>()
    const gauntletsFor = new Map<string, JobView[]>()
    for (const j of jobs) {
      if (j.dispatch.previousJobId !== null) successors.add(j.dispatch.previousJobId)
      const cand = j.dispatch.type === 'gauntlet' ? j.dispatch.spec.candidateJobId : undefined
      if (typeof cand === 'string') gauntletsFor.set(cand, [...(gauntletsFor.get(cand) ?? []), j])
    }
    const judged = trainingsToJudge(jobs, id => (gauntletsFor.get(id) ?? []).length > 0)
    for (const j of jobs) {
      const t = j.dispatch.type
      if (t === 'training' && judged.has(j.jobId)) {
        this.recordEnded(j, epoch)
        this.startGauntlet(j, epoch, report)
      }
      if (successors.has(j.jobId)) continue
      if ((t === 'training' || t === 'gauntlet') && RETRYABLE.has(j.state) && !givenUp(j)) {
        const why = this.retry(j, jobs, epoch, report)
        if (why !== null && j.dispatch.config !== null) waits.set(j.dispatch.config, why)
      }
      if (t === 'gauntlet' && j.state === 'COMPLETE') this.finishGauntlet(j, jobs, epoch, report)
    }
    const live = new Set(jobs.map(j => j.jobId))
    for (const id of this.endedSeen.keys()) if (!live.has(id)) this.endedSeen.delete(id)
    return waits
  }

  /** Jobs of the chain ending at `j` (j, its predecessor, …). */
  private chain (j: JobView, jobs: JobView[]): JobView[] {
    const byId = new Map(jobs.map(x => [x.jobId, x]))
    const out: JobView[] = []
    let cur: JobView | undefined = j
    while (cur !== undefined && out.length <= this.tp.maxDispatchAttempts) {
      out.push(cur)
      cur = cur.dispatch.previousJobId === null ? undefined : byId.get(cur.dispatch.previousJobId)
    }
    return out
  }

  private awaitingRetry (j: JobView, jobs: JobView[]): boolean {
    return RETRYABLE.has(j.state) && !givenUp(j) && !jobs.some(x => x.dispatch.previousJobId === j.jobId)
  }

  /** A completed training whose gauntlet verdict (PROMOTED / ARCHIVED) is still to come. */
  private awaitingGauntlet (j: JobView): boolean {
    return j.state === 'COMPLETE'
  }

  /**
   * The next attempt of a training or gauntlet that ended without a result (`planTrainingRetry`):
   * dispatched, given up, or waiting — then returns why, for `status` and `whyNot`.
   */
  private retry (j: JobView, jobs: JobView[], epoch: number, report: TrainingTickReport): string | null {
    const d = j.dispatch
    const type = d.type === 'gauntlet' ? 'gauntlet' : 'training'
    const last = d.attempt >= this.tp.maxDispatchAttempts
    const tried = new Set(this.chain(j, jobs).map(x => x.dispatch.assignedNode))
    const best = last ? null : type === 'training' ? this.c.selector.bestGpuNodeForTraining() : this.c.selector.bestCpuNodeForGauntlet()
    // a gauntlet may go to any node again at once; a training tries the nodes that did not try it first
    const fresh = best === null || type === 'gauntlet' ? best : this.c.selector.bestGpuNodeForTraining(tried)
    const plan = planTrainingRetry({
      type, attempt: d.attempt, maxAttempts: this.tp.maxDispatchAttempts,
      untried: fresh === null || (type === 'training' && tried.has(fresh.info.nodeId)) ? null : fresh.info.nodeId,
      any: best?.info.nodeId ?? null, endedForMs: this.endedForMs(j.jobId), backoffMs: this.tp.retryBackoffMs
    })
    if (plan.kind === 'wait') return `${type} attempt ${d.attempt} ${j.state}; ${plan.why}`
    if (plan.kind === 'give-up') {
      this.giveUp(j, jobs, epoch, report, plan.why)
      return null
    }
    const next = this.c.state.dispatchJob({
      type: d.type, config: d.config, engineMode: d.engineMode, assignedNode: plan.node, dispatchEpoch: epoch,
      attempt: d.attempt + 1, previousJobId: j.jobId, spec: d.spec
    })
    this.c.selector.invalidate()
    report.dispatched.push({ jobId: next.jobId, type: d.type, config: d.config, node: plan.node, attempt: next.attempt })
    this.log.warn({ jobId: next.jobId, previous: j.jobId, state: j.state, node: plan.node, reused: tried.has(plan.node), attempt: next.attempt }, 're-dispatched')
    return null
  }

  /** Local ms since this coordinator first saw the attempt ended (a new leader starts the back-off afresh). */
  private endedForMs (jobId: string): number {
    const now = this.c.clock.monoMs()
    const seen = this.endedSeen.get(jobId)
    if (seen !== undefined) return now - seen
    this.endedSeen.set(jobId, now)
    while (this.endedSeen.size > MAX_TRACKED_ENDED_ATTEMPTS) this.endedSeen.delete(this.endedSeen.keys().next().value as string)
    return 0
  }

  /**
   * End the chain with a FAILED verdict on its last attempt. A training's record then says why
   * and when (the cooldown runs from it, and readiness may trigger again); a gauntlet's
   * candidate is archived.
   */
  private giveUp (j: JobView, jobs: JobView[], epoch: number, report: TrainingTickReport, why: string | null): void {
    const d = j.dispatch
    const error = j.status?.error != null ? `: ${j.status.error}` : ''
    const attempts = `${d.attempt} attempt${d.attempt === 1 ? '' : 's'}`
    const reason = `${d.type} failed on ${attempts} (last: ${j.state}${error})${why === null ? '' : `; ${why}`}`.slice(0, MAX_TEXT_CHARS)
    this.c.state.addVerdict({ jobId: j.jobId, verdict: 'FAILED', epoch, reason })
    this.log.error({ jobId: j.jobId, config: d.config, type: d.type, attempts: d.attempt, state: j.state, reason }, 'giving up')
    if (d.type === 'gauntlet') {
      this.archiveAfterGauntletFailure(j, jobs, epoch, report)
      return
    }
    report.failed.push({ config: d.config, reason })
    if (d.config !== null) this.updateRecord(d.config, epoch, { lastEndedAt: timestampMs(this.c.clock), lastFailure: reason })
  }

  private startGauntlet (training: JobView, epoch: number, report: TrainingTickReport): void {
    const config = training.dispatch.config
    const modelPath = outputValue(training, MODEL_OUTPUT_PREFIX)
    if (config === null || modelPath === undefined) {
      this.c.state.addVerdict({ jobId: training.jobId, verdict: 'ARCHIVED', epoch, reason: 'training reported no model output' })
      report.archived.push(config as ConfigKey)
      return
    }
    const node = this.c.selector.bestCpuNodeForGauntlet()
    if (node === null) {
      report.failed.push({ config, reason: 'no healthy gauntlet node' })
      return
    }
    const champion = this.c.state.model(config)
    const job = this.c.state.dispatchJob({
      type: 'gauntlet', config, engineMode: null, assignedNode: node.info.nodeId, dispatchEpoch: epoch, attempt: 1, previousJobId: null,
      spec: {
        candidateJobId: training.jobId,
        modelPath,
        modelNode: training.dispatch.assignedNode,
        championModelId: champion?.modelId ?? null,
        // '' when there is no current best: the gauntlet then plays the baseline engine
        baselineModelPath: champion?.path ?? '',
        championNode: champion?.ownerNode ?? null,
        gamesPerSeat: this.gamesPerSeat,
        games: 2 * this.gamesPerSeat
      }
    })
    report.dispatched.push({ jobId: job.jobId, type: 'gauntlet', config, node: node.info.nodeId, attempt: 1 })
  }

  private finishGauntlet (g: JobView, jobs: JobView[], epoch: number, report: TrainingTickReport): void {
    const training = jobs.find(j => j.jobId === g.dispatch.spec.candidateJobId)
    const config = g.dispatch.config
    if (training === undefined || config === null || training.state !== 'COMPLETE') return
    const raw = outputValue(g, RESULTS_OUTPUT_PREFIX)
    let results: GameResult[]
    try {
      results = parseGameResults(raw ?? '')
    } catch (err) {
      this.log.warn({ err, jobId: g.jobId }, 'unreadable gauntlet results')
      results = []
    }
    const champion = this.c.state.model(config) ?? null
    const v = gauntletVerdict(results, champion, this.initialElo, this.gp)
    const rec = this.c.state.trainingRecords().get(config)
    const games = typeof training.dispatch.spec.games === 'number' ? training.dispatch.spec.games : rec?.dispatchedGames ?? 0
    const now = timestampMs(this.c.clock)
    if (v.pass) {
      this.c.state.setModel({
        v: 1, config, modelId: training.jobId, path: String(g.dispatch.spec.modelPath), ownerNode: training.dispatch.assignedNode,
        elo: round2(v.candidateElo), promotedAt: now, epoch,
        history: champion === null ? [] : [...champion.history, champion.modelId].slice(-64)
      })
      this.c.state.addVerdict({ jobId: training.jobId, verdict: 'PROMOTED', epoch, reason: `win rate ${v.winRate.toFixed(3)} ≥ ${v.required} over ${v.games} games` })
      report.promoted.push(config)
      this.log.info({ config, jobId: training.jobId, winRate: v.winRate, elo: v.candidateElo }, 'model promoted')
    } else {
      if (champion !== null && v.championElo !== null) this.c.state.setModel({ ...champion, elo: round2(v.championElo) })
      this.c.state.addVerdict({ jobId: training.jobId, verdict: 'ARCHIVED', epoch, reason: `win rate ${v.winRate.toFixed(3)} < ${v.required} over ${v.games} games` })
      report.archived.push(config)
      this.log.info({ config, jobId: training.jobId, winRate: v.winRate }, 'model archived')
    }
    this.recordTrained(config, games, rec, epoch)
  }

  private archiveAfterGauntletFailure (g: JobView, jobs: JobView[], epoch: number, report: TrainingTickReport): void {
    const training = jobs.find(j => j.jobId === g.dispatch.spec.candidateJobId)
    if (training === undefined || training.state !== 'COMPLETE' || g.dispatch.config === null) return
    this.c.state.addVerdict({ jobId: training.jobId, verdict: 'ARCHIVED', epoch, reason: `gauntlet could not run (${g.state})` })
    report.archived.push(g.dispatch.config)
  }

  private recordTrained (config: ConfigKey, games: number, rec: TrainingRecord | undefined, epoch: number): void {
    this.updateRecord(config, epoch, { dispatchedGames: rec?.dispatchedGames ?? games, trainedGames: games })
  }

  /** Note when a training of the config ended (its cooldown runs from then): its node's end time, within [dispatch, now]. */
  private recordEnded (j: JobView, epoch: number): void {
    const config = j.dispatch.config
    if (config === null) return
    const now = timestampMs(this.c.clock)
    const endedAt = Math.min(now, Math.max(j.dispatch.createdAt, j.status?.endedAt ?? now))
    const rec = this.c.state.trainingRecords().get(config)
    if ((rec?.lastEndedAt ?? -1) >= endedAt && (rec?.lastFailure ?? null) === null) return
    this.updateRecord(config, epoch, { lastEndedAt: Math.max(endedAt, rec?.lastEndedAt ?? 0), lastFailure: null })
  }

  /** Write the config's training record: `patch` over the current fields (a first record starts empty, dispatched now). */
  private updateRecord (config: ConfigKey, epoch: number, patch: Partial<Omit<TrainingRecord, 'v' | 'config' | 'epoch'>>): void {
    const rec = this.c.state.trainingRecords().get(config) ??
      { v: 1, config, lastDispatchAt: timestampMs(this.c.clock), lastJobId: null, dispatchedGames: 0, trainedGames: null, fingerprints: [], epoch }
    this.c.state.setTrainingRecord({ ...rec, ...patch, epoch })
  }

  // ---- leaderless ------------------------------------------------------------------------------

  private leaderless (report: TrainingTickReport): void {
    const self = this.c.state.node(this.c.state.selfId)
    if (self === undefined || this.maxLeaderlessJobs === 0) return
    const mine = this.c.state.jobs().filter(j => j.dispatch.dispatchedBy === self.nodeId && j.dispatch.assignedNode === self.nodeId &&
      j.dispatch.type === 'training' && j.dispatch.spec.leaderless === true)
    const trainedLocally = new Map<ConfigKey, number>()
    for (const j of mine) {
      const g = j.dispatch.spec.games
      if (j.dispatch.config !== null && typeof g === 'number') trainedLocally.set(j.dispatch.config, Math.max(g, trainedLocally.get(j.dispatch.config) ?? 0))
    }
    const config = leaderlessTrainingChoice({
      leaderlessForMs: this.c.clock.monoMs() - this.leaderSeenAtMs,
      timeoutMs: this.leaderlessTimeoutMs,
      hasGpu: self.hardware.hasGpu,
      canTrain: self.capabilities.includes('training') && !self.flags.retired,
      localJobsRunning: mine.filter(j => ACTIVE.has(j.state)).length,
      maxLocalJobs: this.maxLeaderlessJobs,
      localGames: localGamesByConfig(this.c.state.manifest(self.nodeId)),
      minGames: this.tp.minGames,
      trainedLocally
    })
    if (config === null) return
    const games = localGamesByConfig(this.c.state.manifest(self.nodeId)).get(config) ?? 0
    const job = this.c.state.dispatchJob({
      type: 'training', config, engineMode: null, assignedNode: self.nodeId, dispatchEpoch: this.c.state.maxKnownEpoch(),
      attempt: 1, previousJobId: null, spec: { games, leaderless: true }
    })
    report.dispatched.push({ jobId: job.jobId, type: 'training', config, node: self.nodeId, attempt: 1 })
    this.log.warn({ config, games, jobId: job.jobId }, 'no leader for the leaderless timeout: training locally')
  }
}

function outputValue (j: JobView, prefix: string): string | undefined {
  const line = j.status?.outputs.find(o => o.startsWith(prefix))
  return line?.slice(prefix.length)
}

const round2 = (v: number): number => Math.round(v * 100) / 100

/**
 * The completed trainings to judge now: per re-dispatch chain (an attempt and the attempts that
 * followed it), the first attempt that completed — unless some attempt of the chain is judged
 * already. An attempt cut off by a partition can complete after its successor was dispatched (or
 * even completed): two models trained on the same data are never both judged.
 */
export function trainingsToJudge (jobs: readonly JobView[], hasGauntlet: (jobId: string) => boolean): Set<string> {
  const trainings = jobs.filter(j => j.dispatch.type === 'training')
  const byId = new Map(trainings.map(j => [j.jobId, j]))
  const rootOf = (j: JobView): string => {
    let cur = j
    for (let hops = 0; hops < MAX_CHAIN_HOPS && cur.dispatch.previousJobId !== null; hops++) {
      const prev = byId.get(cur.dispatch.previousJobId)
      if (prev === undefined) break
      cur = prev
    }
    return cur.jobId
  }
  const chains = new Map<string, JobView[]>()
  for (const j of trainings) chains.set(rootOf(j), [...(chains.get(rootOf(j)) ?? []), j])
  const out = new Set<string>()
  for (const chain of chains.values()) {
    if (chain.some(j => hasGauntlet(j.jobId) || j.state === 'PROMOTED' || j.state === 'ARCHIVED')) continue
    const first = chain.filter(j => j.state === 'COMPLETE').sort((a, b) => a.dispatch.attempt - b.dispatch.attempt || a.dispatch.createdAt - b.dispatch.createdAt)[0]
    if (first !== undefined) out.add(first.jobId)
  }
  return out
}

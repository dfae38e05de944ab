/**
 * AbTestManager: runs A/B tests (ab-test.ts has the decisions). On every node, each tick:
 * - as leader: dispatches the tournament jobs each running test still needs, to the least-loaded
 *   healthy nodes with the `tournament` capability;
 * - as a test's owner: records the games of its finished tournament jobs in the local tables
 *   (one row per game, from model A's view, A's seat alternating), decides once the interval is
 *   clear of 0.5 or the budget is spent, and marks the definition done so dispatch stops;
 * - as leader: adopts the running tests whose owner is gone, from the tally the owner published,
 *   so a test never stalls with its owner (a returning owner then hands the test over).
 */
import type { Clock } from '../core/clock.js'
import { timestampMs } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { ValidationError } from '../core/errors.js'
import type { Rng } from '../core/rng.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { AbTest, AbTestGame } from '../store/tables.js'
import type { GameResult } from './training.js'
import {
  AB_SETTING_PREFIX, DEFAULT_AB_MAX_FAILED_JOBS, DEFAULT_AB_MAX_PARALLEL_JOBS, DEFAULT_AB_MIN_GAMES, DEFAULT_AB_OWNER_GRACE_MS, DEFAULT_AB_Z, MAX_AB_RECORDED_JOBS,
  abAdoptable, abDefinitions, abSettingValue, abStartProblem, abStats, abVerdict, adoptedResults, jobResults, newAbDefinition, planAbDispatch, testJobs,
  type AbDefinition, type AbStats
} from './ab-test.js'
import type { AdmissionLedger } from './admission.js'
import type { NodeSelector } from './node-selector.js'
import type { Leadership } from './training-coordinator.js'

/** Where the owner keeps tests and games (the StateManager's A/B tables). */
export interface AbStore {
  putAbTest: (t: AbTest) => Promise<void>
  abTest: (id: string) => Promise<AbTest | undefined>
  abTests: (status?: AbTest['status']) => Promise<AbTest[]>
  addAbTestGame: (g: AbTestGame) => Promise<void>
  abTestGames: (id: string) => Promise<AbTestGame[]>
}

export interface AbTestManagerComponents {
  state: ClusterState
  store: AbStore
  selector: NodeSelector
  leadership: Leadership
  /** Make the document's changes durable (and so sent). */
  flush: () => Promise<void>
  /** The failure detector's verdict on a node (undefined: never heard of). @default every owner alive */
  health?: (nodeId: string) => string | undefined
  /** What each node admits now: no tournament job beyond it. @default every node admits any */
  admission?: AdmissionLedger
  /** Which of these data-dir paths this node does not hold (a model given to `start` must be held somewhere). @default only the manifests are asked */
  missingLocally?: (paths: readonly string[]) => Promise<string[]>
  clock: Clock
  rng: Rng
  logger: Logger
}

export interface AbTestManagerInit {
  /** @default DEFAULT_AB_MIN_GAMES */
  minGames?: number
  /** @default DEFAULT_AB_Z */
  z?: number
  /** @default DEFAULT_AB_MAX_PARALLEL_JOBS */
  maxParallelJobs?: number
  /** @default DEFAULT_AB_MAX_FAILED_JOBS */
  maxFailedJobs?: number
  /** After this long running, an owner this node never heard of counts as gone. @default DEFAULT_AB_OWNER_GRACE_MS */
  ownerGraceMs?: number
}

export interface AbStartRequest {
  config: string
  modelA: string
  modelB: string
  games?: number
  gamesPerJob?: number
}

export interface AbReport {
  test: AbTest
  stats: AbStats
  /** Tournament jobs of the test in the document, by state. */
  jobs: Record<string, number>
}

/** Job id of the stored games an adopter carries over from the previous owner's tally. */
const ADOPTED_JOB_PREFIX = 'adopted:'

/** A stored game as a result from model A's view. */
function resultForA (g: AbTestGame): GameResult {
  return g.winner === 'A' ? 'W' : g.winner === 'B' ? 'L' : 'D'
}

export class AbTestManager {
  private readonly log: Logger
  private readonly minGames: number
  private readonly z: number
  private readonly maxParallel: number
  private readonly maxFailed: number
  private readonly warned = new Set<string>()
  private readonly ownerGraceMs: number
  private readonly startedAtMs: number
  totals = { dispatched: 0, gamesRecorded: 0, decided: 0, adopted: 0 }

  constructor (private readonly c: AbTestManagerComponents, init: AbTestManagerInit = {}) {
    this.log = c.logger.child({ component: 'ab-tests' })
    this.minGames = init.minGames ?? DEFAULT_AB_MIN_GAMES
    this.z = init.z ?? DEFAULT_AB_Z
    this.maxParallel = init.maxParallelJobs ?? DEFAULT_AB_MAX_PARALLEL_JOBS
    this.maxFailed = init.maxFailedJobs ?? DEFAULT_AB_MAX_FAILED_JOBS
    this.ownerGraceMs = init.ownerGraceMs ?? DEFAULT_AB_OWNER_GRACE_MS
    this.startedAtMs = c.clock.monoMs()
  }

  /** Whether a test's owner is gone: DEAD, or never heard of once this node has run a grace period. */
  private ownerGone (owner: string): boolean {
    const h = this.c.health?.(owner)
    if (h === 'DEAD') return true
    return h === undefined && this.c.health !== undefined && this.c.clock.monoMs() - this.startedAtMs >= this.ownerGraceMs
  }

  /** The leader's part: take over the running tests whose owner is gone. */
  async adopt (defs: readonly AbDefinition[] = this.definitions()): Promise<number> {
    if (this.c.leadership.leaderEpoch() === undefined) return 0
    let n = 0
    for (const d of abAdoptable(defs, this.c.state.selfId, o => this.ownerGone(o))) {
      const results = adoptedResults(d)
      if (await this.c.store.abTest(d.id) === undefined) {
        await this.c.store.putAbTest({ id: d.id, config: d.config, modelA: d.modelA, modelB: d.modelB, createdAt: timestampMs(this.c.clock), gameBudget: d.gameBudget, status: 'running', verdict: null })
        for (const [seq, r] of results.entries()) {
          await this.c.store.addAbTestGame({ testId: d.id, seq, winner: r === 'W' ? 'A' : r === 'L' ? 'B' : 'draw', aSeat: seq % 2, jobId: `${ADOPTED_JOB_PREFIX}${d.owner}`, atMs: timestampMs(this.c.clock) })
        }
      }
      this.c.state.setSetting(`${AB_SETTING_PREFIX}${d.id}`, abSettingValue({ ...d, owner: this.c.state.selfId }))
      this.totals.adopted++
      n++
      this.log.info({ id: d.id, from: d.owner, games: results.length, ownerCounted: d.gamesRecorded }, `adopted A/B test ${d.id}: its owner ${d.owner} is gone; carrying on from its ${results.length} recorded game(s)`)
    }
    if (n > 0) await this.c.flush()
    return n
  }

  /** Start a test owned by this node: kept in the local tables, announced in the settings. */
  async start (req: AbStartRequest): Promise<AbTest> {
    if (req.modelA === req.modelB) throw new ValidationError('abStart', 'model A and model B are the same file')
    const id = `ab-${timestampMs(this.c.clock).toString(36)}-${this.c.rng.int(36 ** 4).toString(36).padStart(4, '0')}`
    let d: AbDefinition
    try {
      d = newAbDefinition({ id, config: req.config, modelA: req.modelA, modelB: req.modelB, gameBudget: req.games, gamesPerJob: req.gamesPerJob, owner: this.c.state.selfId })
    } catch (err) {
      const issue = (err as { issues?: Array<{ path: unknown[], message: string }> }).issues?.[0]
      throw new ValidationError('abStart', issue !== undefined ? `${issue.path.join('.')}: ${issue.message}` : String(err))
    }
    const problem = await this.startProblem(d)
    if (problem !== null) throw new ValidationError('abStart', problem)
    const test: AbTest = { id, config: d.config, modelA: d.modelA, modelB: d.modelB, createdAt: timestampMs(this.c.clock), gameBudget: d.gameBudget, status: 'running', verdict: null }
    await this.c.store.putAbTest(test)
    this.c.state.setSetting(`${AB_SETTING_PREFIX}${id}`, abSettingValue(d))
    await this.c.flush()
    this.log.info({ id, config: d.config, modelA: d.modelA, modelB: d.modelB, budget: d.gameBudget }, 'A/B test started')
    return test
  }

  /** Why a new test could not run (a model no node holds, no node for tournaments), or null. */
  private async startProblem (d: AbDefinition): Promise<string | null> {
    const missingHere = new Set(await this.c.missingLocally?.([d.modelA, d.modelB]) ?? [d.modelA, d.modelB])
    const manifests = this.c.state.manifests()
    const modelHeld = (path: string): boolean | undefined => {
      if (!missingHere.has(path) || manifests.some(m => m.files[path] !== undefined)) return true
      return manifests.some(m => m.truncated) ? undefined : false
    }
    this.c.selector.invalidate() // judge the nodes as they are now
    const alive = this.c.selector.scored().filter(n => n.alive)
    return abStartProblem(d, { modelHeld, aliveNodes: alive.length, tournamentNodes: alive.filter(n => n.view.info.capabilities.includes('tournament')).length })
  }

  /** Stop a test this node owns: no more dispatch, its running jobs cancelled. */
  async cancel (id: string): Promise<AbTest> {
    const test = await this.c.store.abTest(id)
    if (test === undefined) throw new ValidationError('abCancel', `no A/B test ${id} on this node (a test is cancelled on the node that started it)`)
    if (test.status !== 'running') return test
    const done: AbTest = { ...test, status: 'cancelled', verdict: 'cancelled' }
    await this.c.store.putAbTest(done)
    const d = this.definitions().find(x => x.id === id)
    if (d !== undefined) this.c.state.setSetting(`${AB_SETTING_PREFIX}${id}`, abSettingValue({ ...d, state: 'done' }))
    for (const j of testJobs(this.c.state.jobs(), id)) {
      if (j.state === 'PENDING' || j.state === 'RUNNING') this.c.state.addVerdict({ jobId: j.jobId, verdict: 'CANCELLED', epoch: this.c.state.maxKnownEpoch(), reason: `A/B test ${id} cancelled` })
    }
    await this.c.flush()
    return done
  }

  definitions (): AbDefinition[] {
    const { tests, malformed } = abDefinitions(this.c.state.settings())
    for (const name of malformed) {
      if (this.warned.has(name)) continue
      this.warned.add(name)
      this.log.warn({ setting: name }, 'ignoring a malformed A/B test definition')
    }
    return tests
  }

  /** One pass: adopt and dispatch as leader, record and decide as owner. */
  async tick (): Promise<void> {
    if (await this.adopt(this.definitions()) > 0) this.c.selector.invalidate()
    const defs = this.definitions()
    this.dispatch(defs)
    await this.record(defs)
  }

  /** The leader's part: tournament jobs for every running test. */
  dispatch (defs: readonly AbDefinition[] = this.definitions()): number {
    const epoch = this.c.leadership.leaderEpoch()
    const running = defs.filter(d => d.state === 'running')
    if (epoch === undefined || running.length === 0) return 0
    const candidates = this.c.selector.scored()
      .filter(n => n.healthy && n.view.info.capabilities.includes('tournament'))
      .sort((a, b) => a.load - b.load || (a.nodeId < b.nodeId ? -1 : 1))
      .map(n => n.nodeId)
    const jobs = this.c.state.jobs()
    // jobs each candidate still admits now, across all tests (no entry: no limit known)
    const admits = new Map([...this.c.admission?.budgets(candidates, jobs) ?? []].map(([id, b]) => [id, b.admits]))
    let n = 0
    for (const d of running) {
      const open = candidates.filter(id => (admits.get(id) ?? 1) > 0)
      for (const p of planAbDispatch(d, jobs, open, { maxParallelJobs: this.maxParallel, maxFailedJobs: this.maxFailed })) {
        this.c.state.dispatchJob({ type: 'tournament', config: d.config, engineMode: null, spec: p.spec, assignedNode: p.node, dispatchEpoch: epoch, attempt: 1, previousJobId: null })
        const left = admits.get(p.node)
        if (left !== undefined) admits.set(p.node, left - 1)
        n++
      }
    }
    if (n > 0) {
      this.c.selector.invalidate()
      this.totals.dispatched += n
      this.log.info({ jobs: n }, 'dispatched A/B tournament jobs')
    }
    return n
  }

  /** The owner's part: record finished jobs' games, decide, and publish progress. */
  async record (defs: readonly AbDefinition[] = this.definitions()): Promise<void> {
    const byId = new Map(defs.map(d => [d.id, d]))
    const jobs = this.c.state.jobs()
    let changed = false
    for (const test of await this.c.store.abTests('running')) {
      const d = byId.get(test.id)
      if (d !== undefined && d.owner !== this.c.state.selfId) {
        // adopted by the leader while this node was away: it records and decides from now on
        await this.c.store.putAbTest({ ...test, status: 'cancelled', verdict: `handed over to ${d.owner}, which adopted it while this node was away` })
        this.log.info({ id: test.id, owner: d.owner }, 'A/B test was adopted by another node while this one was away; it is theirs now')
        continue
      }
      const games = await this.c.store.abTestGames(test.id)
      const recorded = new Set<string | null>([...games.map(g => g.jobId), ...(d?.recordedJobs ?? [])])
      let seq = games.length
      const results: GameResult[] = games.map(resultForA)
      const mine = testJobs(jobs, test.id)
      const newlyRecorded: string[] = []
      for (const j of mine) {
        if ((j.state !== 'COMPLETE' && j.state !== 'PROMOTED') || recorded.has(j.jobId)) continue
        const rs = jobResults(j)
        newlyRecorded.push(j.jobId)
        for (let i = 0; i < rs.length && seq < test.gameBudget; i++) {
          const r = rs[i] as GameResult
          await this.c.store.addAbTestGame({ testId: test.id, seq, winner: r === 'W' ? 'A' : r === 'L' ? 'B' : 'draw', aSeat: i % 2, jobId: j.jobId, atMs: timestampMs(this.c.clock) })
          results.push(r)
          seq++
          this.totals.gamesRecorded++
        }
      }
      const stats = abStats(results, this.z)
      const v = abVerdict(stats, test.gameBudget, this.minGames)
      const failed = mine.filter(j => j.state === 'FAILED')
      let next: AbTest | undefined
      if (v.status !== 'running') next = { ...test, status: v.status, verdict: v.verdict }
      else if (failed.length >= this.maxFailed) next = { ...test, status: 'cancelled', verdict: `stopped: ${failed.length} tournament jobs failed (last: ${failed.at(-1)?.status?.error ?? 'no error text'})` }
      if (next !== undefined) {
        await this.c.store.putAbTest(next)
        this.totals.decided++
        this.log.info({ id: test.id, status: next.status, verdict: next.verdict }, 'A/B test finished')
      }
      if (d !== undefined && (d.gamesRecorded !== results.length || d.aWins === undefined || newlyRecorded.length > 0 || next !== undefined)) {
        const ids = [...(d.recordedJobs ?? []), ...games.map(g => g.jobId), ...newlyRecorded].filter((id): id is string => id !== null && !id.startsWith(ADOPTED_JOB_PREFIX))
        const recordedJobs = [...new Set(ids)].slice(-MAX_AB_RECORDED_JOBS)
        this.c.state.setSetting(`${AB_SETTING_PREFIX}${test.id}`, abSettingValue({
          ...d, gamesRecorded: results.length, aWins: stats.aWins, bWins: stats.bWins, draws: stats.draws, recordedJobs, state: next === undefined ? 'running' : 'done'
        }))
        changed = true
      }
    }
    if (changed) await this.c.flush()
  }

  /** A test this node owns, with its statistics now. */
  async report (id: string): Promise<AbReport | undefined> {
    const test = await this.c.store.abTest(id)
    if (test === undefined) return undefined
    const games = await this.c.store.abTestGames(id)
    const stats = abStats(games.map(resultForA), this.z)
    const jobs: Record<string, number> = {}
    for (const j of testJobs(this.c.state.jobs(), id)) jobs[j.state] = (jobs[j.state] ?? 0) + 1
    return { test, stats, jobs }
  }

  /** Every test this node owns, newest last. */
  async reports (): Promise<AbReport[]> {
    const out: AbReport[] = []
    for (const t of await this.c.store.abTests()) {
      const r = await this.report(t.id)
      if (r !== undefined) out.push(r)
    }
    return out
  }
}

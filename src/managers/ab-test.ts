/**
 * A/B tests between two models of one config, as pure functions: the test's definition as it
 * travels in the cluster settings, the statistics of its games, its verdict, and the leader's
 * plan of tournament jobs.
 *
 * A test lives in two places. Its owner (the node it was started on) keeps the test and every
 * game in its LevelDB tables (`abTests`, `abTestGames`); the cluster sees its definition as the
 * setting `abTest/<id>`, so that whichever node leads dispatches its tournament jobs. The owner
 * records the games of each finished tournament job, decides, and marks the definition done.
 * It also publishes its tally and the jobs it recorded in the definition, so that when the owner
 * dies the leader can adopt the test and carry on from there (`abAdoptable`).
 */
import { z } from 'zod'
import { configKeySchema, type ConfigKey, type SettingValue } from '../state/schema.js'
import type { JobView } from '../state/jobs.js'
import { parseGameResults, type GameResult } from './training.js'

/** Setting names of A/B test definitions: `abTest/<id>`. */
export const AB_SETTING_PREFIX = 'abTest/'
/** Games before a verdict may be given. @default 20 */
export const DEFAULT_AB_MIN_GAMES = 20
/** z of the confidence interval (99 %: the interval is looked at after every job). @default 2.576 */
export const DEFAULT_AB_Z = 2.576
/** Game budget of a test unless given. @default 400 */
export const DEFAULT_AB_GAME_BUDGET = 400
/** Games per tournament job unless given (even: both seats equally). @default 20 */
export const DEFAULT_AB_GAMES_PER_JOB = 20
/** Tournament jobs of one test running at once, at most. @default 4 */
export const DEFAULT_AB_MAX_PARALLEL_JOBS = 4
/** Failed tournament jobs after which a test stops. @default 5 */
export const DEFAULT_AB_MAX_FAILED_JOBS = 5
/** Output line prefix of a tournament job: the results from model A's view. */
export const TOURNAMENT_RESULTS_PREFIX = 'results:'

/** Most recorded job ids a definition carries (the newest). */
export const MAX_AB_RECORDED_JOBS = 256
/** How long a node waits after its start before it takes an owner it has never heard of for gone. @default 30_000 */
export const DEFAULT_AB_OWNER_GRACE_MS = 30_000

const ID = /^ab-[a-z0-9-]{1,60}$/
const modelPath = z.string().min(1).max(256).refine(p => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the data dir')

export const abDefinitionSchema = z.strictObject({
  config: configKeySchema,
  modelA: modelPath,
  modelB: modelPath,
  gameBudget: z.number().int().min(2).max(100_000),
  gamesPerJob: z.number().int().min(2).max(10_000),
  owner: z.string().min(1).max(128),
  state: z.enum(['running', 'done']),
  /** Games the owner has recorded (covers jobs that already left the document). */
  gamesRecorded: z.number().int().min(0),
  /** The owner's tally from A's view, for an adopter (absent from older owners). */
  aWins: z.number().int().min(0).optional(),
  bWins: z.number().int().min(0).optional(),
  draws: z.number().int().min(0).optional(),
  /** The last tournament jobs the owner recorded, so an adopter does not count them again. */
  recordedJobs: z.array(z.string().min(1).max(256)).max(MAX_AB_RECORDED_JOBS).optional()
})
export type AbDefinition = z.infer<typeof abDefinitionSchema> & { id: string }

export function isAbTestId (id: string): boolean {
  return ID.test(id)
}

/** The A/B test definitions among the settings; malformed ones are returned apart (for a warning). */
export function abDefinitions (settings: ReadonlyMap<string, SettingValue>): { tests: AbDefinition[], malformed: string[] } {
  const tests: AbDefinition[] = []
  const malformed: string[] = []
  for (const [name, value] of settings) {
    if (!name.startsWith(AB_SETTING_PREFIX)) continue
    const id = name.slice(AB_SETTING_PREFIX.length)
    const r = abDefinitionSchema.safeParse(value)
    if (!isAbTestId(id) || !r.success) malformed.push(name)
    else tests.push({ ...r.data, id })
  }
  tests.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { tests, malformed }
}

/** The setting value of a definition (the id is in the setting's name). */
export function abSettingValue (d: AbDefinition): Record<string, string | number | string[]> {
  const { id: _id, ...rest } = d
  return rest
}

/**
 * Running tests the leader should adopt: their owner is gone (`ownerGone`: DEAD to the failure
 * detector, or never heard of for a grace period), so nobody records their games or decides.
 */
export function abAdoptable (defs: readonly AbDefinition[], selfId: string, ownerGone: (owner: string) => boolean): AbDefinition[] {
  return defs.filter(d => d.state === 'running' && d.owner !== selfId && ownerGone(d.owner))
}

/** The games an adopter starts from: the previous owner's published tally, from A's view. */
export function adoptedResults (d: AbDefinition): GameResult[] {
  return [...new Array<GameResult>(d.aWins ?? 0).fill('W'), ...new Array<GameResult>(d.bWins ?? 0).fill('L'), ...new Array<GameResult>(d.draws ?? 0).fill('D')]
}

export interface AbStats {
  games: number
  aWins: number
  bWins: number
  draws: number
  /** A's mean score per game (win 1, draw `drawScore`, loss 0). */
  score: number
  /** Wilson score interval of A's score at the given z. */
  low: number
  high: number
}

/** A's score and its Wilson interval over the games so far (results from A's view). */
export function abStats (results: readonly GameResult[], z = DEFAULT_AB_Z, drawScore = 0.5): AbStats {
  let aWins = 0
  let bWins = 0
  let draws = 0
  for (const r of results) {
    if (r === 'W') aWins++
    else if (r === 'L') bWins++
    else draws++
  }
  const n = results.length
  if (n === 0) return { games: 0, aWins, bWins, draws, score: 0.5, low: 0, high: 1 }
  const p = (aWins + drawScore * draws) / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z / (1 + z2 / n)) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
  return { games: n, aWins, bWins, draws, score: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}

export type AbStatus = 'running' | 'decided' | 'exhausted' | 'cancelled'

export interface AbVerdict {
  status: AbStatus
  /** One line for people; null while running. */
  verdict: string | null
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`

/** Decided once the interval leaves 0.5 (after `minGames`); exhausted when the budget is spent. */
export function abVerdict (s: AbStats, gameBudget: number, minGames = DEFAULT_AB_MIN_GAMES): AbVerdict {
  const line = `A scores ${pct(s.score)} [${pct(s.low)}, ${pct(s.high)}] over ${s.games} games (${s.aWins} W / ${s.draws} D / ${s.bWins} L)`
  if (s.games >= minGames && s.low > 0.5) return { status: 'decided', verdict: `A is stronger: ${line}` }
  if (s.games >= minGames && s.high < 0.5) return { status: 'decided', verdict: `B is stronger: ${line}` }
  if (s.games >= gameBudget) return { status: 'exhausted', verdict: `no significant difference within the budget: ${line}` }
  return { status: 'running', verdict: null }
}

/** The tournament jobs of one test in the document. */
export function testJobs (jobs: readonly JobView[], testId: string): JobView[] {
  return jobs.filter(j => j.dispatch.type === 'tournament' && j.dispatch.spec.testId === testId)
}

/** The results a finished tournament job reported (empty when it reported none or garbage). */
export function jobResults (j: JobView): GameResult[] {
  const line = j.status?.outputs.find(o => o.startsWith(TOURNAMENT_RESULTS_PREFIX))
  if (line === undefined) return []
  try {
    return parseGameResults(line.slice(TOURNAMENT_RESULTS_PREFIX.length))
  } catch {
    return []
  }
}

const specGames = (j: JobView): number => (typeof j.dispatch.spec.games === 'number' ? j.dispatch.spec.games : 0)

export interface AbDispatch {
  node: string
  games: number
  spec: Record<string, string | number>
}

export interface AbPlanParams {
  maxParallelJobs: number
  maxFailedJobs: number
}

/**
 * The tournament jobs the leader should dispatch for a running test now: the budget minus what
 * is done (the owner's count or the finished jobs in the document, whichever is larger) and
 * what is in flight, in jobs of `gamesPerJob`, to the candidates (least loaded first) that do not
 * run one of this test yet. Nothing when the test is done or its jobs keep failing.
 */
export function planAbDispatch (d: AbDefinition, jobs: readonly JobView[], candidates: readonly string[], p: AbPlanParams): AbDispatch[] {
  if (d.state !== 'running') return []
  const mine = testJobs(jobs, d.id)
  if (mine.filter(j => j.state === 'FAILED').length >= p.maxFailedJobs) return []
  const active = mine.filter(j => j.state === 'PENDING' || j.state === 'RUNNING')
  const doneInDoc = mine.filter(j => j.state === 'COMPLETE' || j.state === 'PROMOTED').reduce((n, j) => n + jobResults(j).length, 0)
  let remaining = d.gameBudget - Math.max(d.gamesRecorded, doneInDoc) - active.reduce((n, j) => n + specGames(j), 0)
  const busy = new Set(active.map(j => j.dispatch.assignedNode))
  const out: AbDispatch[] = []
  for (const node of candidates) {
    if (remaining <= 0 || active.length + out.length >= p.maxParallelJobs) break
    if (busy.has(node)) continue
    const games = Math.min(d.gamesPerJob, remaining)
    out.push({ node, games, spec: { testId: d.id, games, modelAPath: d.modelA, modelBPath: d.modelB } })
    remaining -= games
  }
  return out
}

/** A new test's definition (validated). */
export function newAbDefinition (input: { id: string, config: string, modelA: string, modelB: string, gameBudget?: number, gamesPerJob?: number, owner: string }): AbDefinition {
  if (!isAbTestId(input.id)) throw new RangeError(`A/B test id ${JSON.stringify(input.id)} is not of the form ab-<letters, digits, ->`)
  const value = abDefinitionSchema.parse({
    config: input.config as ConfigKey,
    modelA: input.modelA,
    modelB: input.modelB,
    gameBudget: input.gameBudget ?? DEFAULT_AB_GAME_BUDGET,
    gamesPerJob: input.gamesPerJob ?? DEFAULT_AB_GAMES_PER_JOB,
    owner: input.owner,
    state: 'running',
    gamesRecorded: 0
  })
  return { ...value, id: input.id }
}

/** What `ab start` knows of the cluster when it checks a new test. */
export interface AbStartContext {
  /** Whether a model file is held somewhere: this node's data dir or a node's manifest (undefined: cannot tell — a manifest lists only part of its files). */
  modelHeld: (path: string) => boolean | undefined
  /** Alive nodes, and those of them with the `tournament` capability. */
  aliveNodes: number
  tournamentNodes: number
}

/**
 * Why a new test cannot run, in one line naming the fix, or null (pure): a model file no node
 * holds (its tournament jobs would wait for it and be refused), or no alive node able to run
 * tournaments (its jobs would never be dispatched).
 */
export function abStartProblem (models: { modelA: string, modelB: string }, ctx: AbStartContext): string | null {
  const missing = [['A', models.modelA], ['B', models.modelB]].filter(([, p]) => ctx.modelHeld(p as string) === false)
  if (missing.length > 0) {
    const which = missing.map(([k, p]) => `model ${k as string} ${p as string}`).join(' and ')
    return `${which} ${missing.length > 1 ? 'are' : 'is'} on no node (not in this node's data dir nor in any node's manifest): give the path, under the data dir, of a model file that exists (models/<config>/<file>)`
  }
  if (ctx.tournamentNodes === 0) {
    return `no node can run tournaments: none of the ${ctx.aliveNodes} alive node(s) has the tournament capability (add it on a node: --set node.capabilities=selfplay,export,gauntlet,tournament)`
  }
  return null
}

/**
 * Scenario files: YAML, validated. A scenario names the cluster, the network model, the
 * workload, a timeline of faults at virtual times, the safety and liveness phases, and the
 * checks. See sim/README.md for the format.
 */
import { readFile } from 'node:fs/promises'
import YAML from 'yaml'
import { z } from 'zod'
import { ValidationError, errorMessage } from '../src/core/errors.js'
import { configKeySchema } from '../src/state/schema.js'
import { editDistance } from '../src/config/parse.js'

const node = z.number().int().nonnegative()
const ms = z.number().nonnegative()

const event = z.union([
  z.strictObject({ at: ms, partition: z.array(z.array(node).min(1)).min(2) }),
  z.strictObject({ at: ms, cut: z.strictObject({ from: node, to: node, oneWay: z.boolean().default(false) }) }),
  z.strictObject({ at: ms, heal: z.union([z.literal('all'), z.strictObject({ a: node, b: node })]) }),
  z.strictObject({ at: ms, hold: z.strictObject({ from: node, to: node }) }),
  z.strictObject({ at: ms, release: z.strictObject({ from: node, to: node }) }),
  z.strictObject({ at: ms, crash: z.strictObject({ node, mode: z.enum(['process', 'power']).default('process') }) }),
  z.strictObject({ at: ms, restart: node }),
  z.strictObject({ at: ms, pause: node }),
  z.strictObject({ at: ms, resume: node }),
  z.strictObject({ at: ms, clockJump: z.strictObject({ node, deltaMs: z.number() }) }),
  z.strictObject({ at: ms, clockDrift: z.strictObject({ node, drift: z.number().min(-0.5).max(0.5) }) }),
  z.strictObject({ at: ms, link: z.strictObject({ minLatencyMs: ms.optional(), meanExtraLatencyMs: ms.optional(), loss: z.number().min(0).max(1).optional(), duplicate: z.number().min(0).max(1).optional(), from: node.optional(), to: node.optional() }) }),
  z.strictObject({ at: ms, setting: z.strictObject({ node, name: z.string().min(1).max(64), value: z.union([z.string(), z.number(), z.boolean()]) }) }),
  /** Write a job dispatch record (a jobs bucket document) at `node` for `assignedNode`. */
  z.strictObject({ at: ms, dispatch: z.strictObject({ node, assignedNode: node, type: z.enum(['selfplay', 'training', 'export', 'gauntlet', 'tournament', 'sync']).default('selfplay'), epoch: z.number().int().nonnegative().default(1) }) }),
  /** `node` produces `games` new self-play games of `config` (a new data file in its manifest). */
  z.strictObject({ at: ms, data: z.strictObject({ node, config: configKeySchema, games: z.number().int().min(1) }) })
])
export type TimelineEvent = z.infer<typeof event>

/** The kinds of timeline event, each the one key beside `at`. */
export const EVENT_KINDS: readonly string[] = event.options.map(o => Object.keys(o.shape).find(k => k !== 'at') as string)

/** Why timeline event `index` (as read from the file) is not a valid event, in words. */
export function timelineEventProblem (raw: unknown, index: number): string {
  const where = `timeline event ${index}`
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${where}: expected a mapping such as { at: 1000, crash: { node: 1 } }`
  const at = (raw as { at?: unknown }).at
  const here = typeof at === 'number' ? `${where} (at ${at} ms)` : where
  const kinds = Object.keys(raw).filter(k => k !== 'at')
  const known = `events are ${EVENT_KINDS.join(', ')}`
  if (kinds.length === 0) return `${here}: no event beside "at"; ${known}`
  if (kinds.length > 1) return `${here}: one event per entry, got ${kinds.map(k => `"${k}"`).join(' and ')}`
  const kind = kinds[0] as string
  const option = event.options.find(o => Object.hasOwn(o.shape, kind))
  if (option === undefined) {
    const close = EVENT_KINDS.map(k => ({ k, d: editDistance(kind, k) })).filter(c => c.d <= Math.max(2, Math.floor(kind.length / 3))).sort((a, b) => a.d - b.d)[0]
    return `${here}: unknown event "${kind}"${close !== undefined ? ` (did you mean "${close.k}"?)` : ''}; ${known}`
  }
  const r = option.safeParse(raw)
  const issue = r.success ? undefined : r.error.issues[0]
  const path = issue?.path.map(String).join('.') ?? ''
  return `${here}: ${path !== '' ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`
}

export const CHECKS = [
  'convergence', 'acked-writes', 'no-drops', 'one-leader-per-epoch', 'lease-overlap', 'no-double-grant', 'epoch-monotonic', 'leader-liveness',
  'training-threshold', 'training-strongest-gpu', 'training-once', 'training-started', 'job-once', 'job-ledger'
] as const

const gpuSpec = z.strictObject({
  node,
  gpuName: z.string().min(1).max(128),
  gpuCount: z.number().int().min(1).max(64).default(1),
  gpuMemoryGb: z.number().min(0).default(80),
  cpuCount: z.number().int().min(1).default(32),
  memoryGb: z.number().min(0).default(256)
})

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).max(64),
  description: z.string().max(2000).default(''),
  nodes: z.number().int().min(1).max(5000),
  seed: z.number().int().nonnegative().default(1),
  /** Connection graph: every node dials `degree` random others (bootstrap-like), or a full mesh. */
  topology: z.strictObject({
    kind: z.enum(['random', 'full', 'line', 'explicit']).default('random'),
    degree: z.number().int().min(1).default(4),
    /** For `explicit`: the connections (each pair dials the other, like bootstrap lists). */
    edges: z.array(z.tuple([node, node])).default([])
  }).default({ kind: 'random', degree: 4, edges: [] }),
  /** Nodes start at random times within this window (a cold start); 0 = all at once. */
  startSpreadMs: ms.default(0),
  network: z.strictObject({
    minLatencyMs: ms.default(1), meanExtraLatencyMs: ms.default(4), loss: z.number().min(0).max(1).default(0), duplicate: z.number().min(0).max(1).default(0), bytesPerMs: ms.default(0)
  }).default({ minLatencyMs: 1, meanExtraLatencyMs: 4, loss: 0, duplicate: 0, bytesPerMs: 0 }),
  gossip: z.strictObject({ D: z.number().int().min(1).optional(), Dlo: z.number().int().min(1).optional(), Dhi: z.number().int().min(1).optional(), heartbeatMs: ms.optional() }).default({}),
  node: z.strictObject({
    heartbeatIntervalMs: ms.optional(), suspectAfterMs: ms.optional(), deadAfterMs: ms.optional(),
    antiEntropyIntervalMs: ms.optional(), coalesceWindowMs: ms.optional(), syncTimeoutMs: ms.optional(),
    /** Run the heartbeat service (all-to-all gossip: O(N²) messages; large runs may turn it off). */
    heartbeats: z.boolean().optional()
  }).default({}),
  /** The first `voters` nodes vote; 0 runs no election (replication-only scenarios). */
  voters: z.number().int().min(0).default(0),
  election: z.strictObject({
    mode: z.enum(['majority', 'epoch']).default('majority'),
    leaseMs: ms.default(4000), renewIntervalMs: ms.default(1000), driftMarginMs: ms.default(400),
    backoffMinMs: ms.default(200), backoffMaxMs: ms.default(1500),
    /** Node index of the preferred leader (eligibility "preferred"). */
    preferredLeader: node.optional()
  }).default({ mode: 'majority', leaseMs: 4000, renewIntervalMs: 1000, driftMarginMs: 400, backoffMinMs: 200, backoffMaxMs: 1500 }),
  /** Writes of unique settings at random live nodes, to measure propagation and check no acknowledged write is lost. */
  workload: z.strictObject({
    writesPerSecond: z.number().min(0).max(1000).default(2),
    /** Only nodes 0..writers-1 write (e.g. a leader and a few admins); 0 = every node. */
    writers: z.number().int().min(0).default(0)
  }).default({ writesPerSecond: 2, writers: 0 }),
  timeline: z.array(event).default([]),
  /** GPU nodes (every other node is a 16-core CPU box); nodes publish their NodeInfo when any is set or training runs. */
  gpus: z.array(gpuSpec).default([]),
  /** Run the TrainingCoordinator on every node; simulated workers run training and gauntlet jobs. */
  training: z.strictObject({
    minGames: z.number().int().min(1).default(2000),
    incrementalGames: z.number().int().min(1).default(1000),
    cooldownMs: ms.default(300_000),
    readinessIntervalMs: ms.default(5000),
    leaderlessTrainingTimeoutMs: ms.default(180_000),
    /** How long a simulated training / gauntlet job runs. */
    trainingDurationMs: ms.default(20_000),
    gauntletDurationMs: ms.default(5000),
    /** The gauntlet results every simulated gauntlet reports (W/L/D, candidate's view). */
    gauntletResults: z.string().regex(/^[WLD]*$/).default('WLWWLWWDWLWWLWWLWLWWLWWDWLWWLWWL')
  }).optional(),
  /** Run the real JobWorker / JobLeader on every node over simulated job processes (needs voters). */
  jobs: z.strictObject({
    durationMs: ms.default(3000),
    maxProcesses: z.number().int().min(1).default(8),
    dispatchTimeoutMs: ms.default(8000),
    jobHeartbeatTimeoutMs: ms.default(8000),
    jobHeartbeatIntervalMs: ms.default(2000),
    reassignBackoffMs: ms.default(1000),
    reassignBackoffMaxMs: ms.default(8000),
    maxReassignments: z.number().int().min(0).default(3),
    cleanupIntervalMs: ms.default(2000),
    selfplayDispatchIntervalMs: ms.default(2000),
    leaderlessSelfplayAfterMs: ms.default(10_000),
    admissionWaitMs: ms.default(3000),
    /** How long a finished bucket stays before it is retired (jobs.retentionMs; the node's default when absent). */
    retentionMs: ms.optional()
  }).optional(),
  /**
   * The nodes start with a trust root of one operator key (derived like the nodes' keys); the
   * workload's and the timeline's settings are written signed by it, as the CLI does with an
   * operator key.
   */
  operator: z.boolean().default(false),
  /** One node is a hostile member: it forges entries straight into its documents (sim/hostile.ts); needs `operator` and `voters`, and is not a voter. */
  hostile: z.strictObject({
    node,
    /** Mean forged writes per second during the safety phase. */
    writesPerSecond: z.number().min(0.01).max(100).default(2),
    /** Test switch: the hostile also holds the operator key (its settings then take effect: the no-forged-effect check must fail). */
    stolenOperatorKey: z.boolean().default(false)
  }).optional(),
  phases: z.strictObject({
    /** Faults and workload stop here; then the liveness phase heals everything and restarts crashed nodes. */
    safetyUntilMs: ms,
    /** Convergence must follow within this long after the liveness phase starts. */
    livenessWithinMs: ms.default(30_000)
  }),
  /**
   * Quiet points (virtual ms) at which convergence of all live nodes is also required. The
   * workload pauses for `quietWindowMs` before each, so what was written has time to spread.
   */
  quietChecksAtMs: z.array(ms).default([]),
  quietWindowMs: ms.default(5000),
  checks: z.array(z.enum(CHECKS)).default(['convergence', 'acked-writes'])
})
export type Scenario = z.infer<typeof scenarioSchema>

export function parseScenario (text: string, label: string): Scenario {
  let raw: unknown
  try {
    raw = YAML.parse(text)
  } catch (err) {
    throw new ValidationError(label, `not valid YAML: ${errorMessage(err)}`)
  }
  const r = scenarioSchema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]
    const [top, index] = issue?.path ?? []
    if (top === 'timeline' && typeof index === 'number') {
      throw new ValidationError(label, timelineEventProblem((raw as { timeline: unknown[] }).timeline[index], index))
    }
    throw new ValidationError(label, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  const s = r.data
  for (const [a, b] of s.topology.edges) if (a >= s.nodes || b >= s.nodes) throw new ValidationError(label, `topology edge [${a}, ${b}] names a node past ${s.nodes - 1}`)
  for (const g of s.gpus) if (g.node >= s.nodes) throw new ValidationError(label, `gpus names node ${g.node}, but there are ${s.nodes} nodes`)
  if (s.training !== undefined && s.voters === 0) throw new ValidationError(label, 'training needs an election: set voters')
  if (s.jobs !== undefined && s.voters === 0) throw new ValidationError(label, 'jobs need an election: set voters')
  const hostileProblem = s.hostile === undefined ? null : scenarioHostileProblem(s.hostile.node, s)
  if (hostileProblem !== null) throw new ValidationError(label, hostileProblem)
  for (const ev of s.timeline) {
    for (const n of nodesOf(ev)) if (n >= s.nodes) throw new ValidationError(label, `timeline event at ${ev.at} ms names node ${n}, but there are ${s.nodes} nodes (0–${s.nodes - 1})`)
  }
  return s
}

/** Why node `h` cannot be the hostile member of scenario `s`, or null. */
export function scenarioHostileProblem (h: number, s: Pick<Scenario, 'nodes' | 'voters' | 'operator'>): string | null {
  if (h >= s.nodes) return `hostile.node is ${h}, but there are ${s.nodes} nodes`
  if (s.voters === 0) return 'a hostile member needs an election: set voters'
  if (h < s.voters) return `hostile.node ${h} is a voter (the first ${s.voters} nodes vote); pick a node from ${s.voters} on`
  if (!s.operator) return 'a hostile member needs operator: true (without operator keys every member holds cluster authority)'
  return null
}

export async function loadScenario (path: string): Promise<Scenario> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ValidationError(path, `cannot read scenario: ${errorMessage(err)}`)
  }
  return parseScenario(text, path)
}

function nodesOf (ev: TimelineEvent): number[] {
  if ('partition' in ev) return ev.partition.flat()
  if ('cut' in ev) return [ev.cut.from, ev.cut.to]
  if ('hold' in ev) return [ev.hold.from, ev.hold.to]
  if ('release' in ev) return [ev.release.from, ev.release.to]
  if ('heal' in ev) return ev.heal === 'all' ? [] : [ev.heal.a, ev.heal.b]
  if ('crash' in ev) return [ev.crash.node]
  if ('restart' in ev) return [ev.restart]
  if ('pause' in ev) return [ev.pause]
  if ('resume' in ev) return [ev.resume]
  if ('clockJump' in ev) return [ev.clockJump.node]
  if ('clockDrift' in ev) return [ev.clockDrift.node]
  if ('setting' in ev) return [ev.setting.node]
  if ('dispatch' in ev) return [ev.dispatch.node, ev.dispatch.assignedNode]
  if ('data' in ev) return [ev.data.node]
  if ('link' in ev) return [ev.link.from, ev.link.to].filter((x): x is number => x !== undefined)
  return []
}

/**
 * Control ops for operators' views of the cluster (the REPL's helpers and `riftmesh status`):
 * nodes with their scores and roles, the leader's lease, one job, a manifest, the scheduler's
 * plan and `whyNot`, a manual dispatch through the leader, the metrics history, the recent
 * election events.
 */
import { ControlError, type ControlHandler } from '../repl/control.js'
import { explainWhyNot, type WhyNotNode } from '../repl/why-not.js'
import { readinessText } from '../managers/training.js'
import { activeSelfplayByNode } from '../jobs/lifecycle.js'
import { ManagerSettings } from '../managers/cluster-settings.js'
import type { SelfplayBackpressure } from '../managers/selfplay-backpressure.js'
import { selfplayExclusions } from '../managers/selection.js'
import { exclusionText } from '../managers/eligibility.js'
import { configKeySchema, jobTypeSchema, type ConfigKey } from '../state/schema.js'
import type { Parts, RiftNode } from './node.js'
import { timestampMs, type Clock } from '../core/clock.js'
import { whyNoLeader, type NoLeader } from '../election/no-leader.js'

/** Election events returned when no limit is given. @default 50 */
export const DEFAULT_ELECTION_EVENTS_ROWS = 50

/** Most history samples one `metricsHistory` returns. */
export const MAX_METRICS_HISTORY_ROWS = 1_000
/** History samples returned when no limit is given. @default 20 */
export const DEFAULT_METRICS_HISTORY_ROWS = 20

const ACTIVE = new Set(['PENDING', 'RUNNING'])

function optionalText (op: string, args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw new ControlError(`${op}: ${key} must be a non-empty string`)
  return v
}

/** A node named by its id or a unique prefix or suffix of it. */
function resolveNode (p: Parts, op: string, name: string): string {
  const ids = p.state.nodes().map(n => n.nodeId)
  if (ids.includes(name)) return name
  const part = name.replace(/^…|…$/g, '') // a shown prefix (`12D3KooWAb…`) or suffix (`…x7Qz`)
  const matches = ids.filter(id => id.startsWith(part) || id.endsWith(part))
  if (matches.length === 1) return matches[0] as string
  throw new ControlError(`${op}: ${matches.length === 0 ? 'no node' : `${matches.length} nodes`} match ${JSON.stringify(name)}`)
}

/** Why no leader is known (null while one is): the quorum, an election under way, this node not standing… */
function noLeader (p: Parts, cfg: RiftNode['config'], clock: Clock): NoLeader {
  const now = timestampMs(clock)
  const quorum = p.electionEvents.current().quorum
  const candidates = p.state.candidacies()
    .filter(c => c.nodeId !== p.mesh.selfId && !c.renounced && now - c.sentAt < cfg.election.leaseMs)
    .map(c => ({ nodeId: c.nodeId, epoch: c.epoch }))
  return whyNoLeader({
    mode: p.election.mode(), quorum, role: p.election.role, highestEpoch: p.election.highestEpoch, candidates,
    notStanding: p.election.notStanding(), notEligible: p.election.notEligible()
  })
}

function lease (p: Parts, cfg: RiftNode['config'], clock: Clock): Record<string, unknown> {
  const leader = p.election.currentLeader()
  const reading = leader === undefined ? null : p.observe.lease.reading(leader.nodeId)
  return {
    /** Why no leader is known, as `{ cause, text }`; null while one is. */
    noLeader: leader === undefined ? noLeader(p, cfg, clock) : null,
    leader: leader?.nodeId ?? null,
    epoch: leader?.epoch ?? null,
    isLeader: p.election.isLeader(),
    role: p.election.role,
    leaseMs: reading?.leaseMs ?? null,
    leaseRemainingMs: reading === null ? null : Math.max(0, reading.remainingMs),
    round: reading?.round ?? null,
    highestEpoch: p.election.highestEpoch,
    mode: p.election.mode(),
    voters: p.election.voters(),
    /** Majority mode: voters and how many this node sees alive (null in epoch mode and right after a start). */
    quorum: p.electionEvents.current().quorum
  }
}

function nodes (p: Parts): Array<Record<string, unknown>> {
  const leader = p.election.currentLeader()?.nodeId
  const voters = new Set(p.election.voters())
  const scored = new Map(p.managers.selector.scored().map(s => [s.nodeId, s]))
  const jobs = new Map<string, number>()
  for (const j of p.state.jobs()) if (ACTIVE.has(j.state)) jobs.set(j.dispatch.assignedNode, (jobs.get(j.dispatch.assignedNode) ?? 0) + 1)
  return p.state.nodes().map(n => {
    const s = scored.get(n.nodeId)
    const hw = n.hardware
    return {
      nodeId: n.nodeId,
      self: n.nodeId === p.mesh.selfId,
      host: n.host,
      gpu: hw.hasGpu ? `${hw.gpuCount}x ${hw.gpuName ?? 'GPU'}` : 'none',
      cpus: hw.cpuCount,
      gpuScore: s?.gpuScore ?? null,
      cpuScore: s?.cpuScore ?? null,
      role: n.nodeId === leader ? 'leader' : voters.has(n.nodeId) ? 'voter' : 'follower',
      health: s?.view.health ?? p.heartbeat.health(n.nodeId) ?? 'UNKNOWN',
      load: s?.load ?? null,
      cpuPercent: s?.view.load?.cpuPercent ?? null,
      jobs: jobs.get(n.nodeId) ?? 0,
      /** Why it gets no new work (disk, memory, load over their limits, health, retired), or null. */
      unfit: s?.unfit ?? null,
      capabilities: n.capabilities
    }
  })
}

/** Per node: why it takes no selfplay (the dispatch's own exclusions), its active/target jobs (under `backpressure`), the weight of `config` on its table. */
function schedulerNodes (p: Parts, config: ConfigKey | undefined, backpressure: SelfplayBackpressure): WhyNotNode[] {
  const jobs = p.state.jobs()
  const active = activeSelfplayByNode(jobs)
  const scored = p.managers.selector.scored()
  const budgets = p.managers.admission.budgets(scored.map(s => s.nodeId), jobs)
  return scored.map(s => {
    const table = p.managers.scheduler.weightsFor(s.view.info.hardware)
    const i = config === undefined ? -1 : table.candidates.findIndex(c => c.config === config)
    const n = active.get(s.nodeId) ?? 0
    return {
      node: s.nodeId,
      excluded: [...new Set([...selfplayExclusions(s, 'heuristic'), ...p.managers.scheduler.targetExclusions(s.view.info)].map(exclusionText))],
      hasGpu: s.view.info.hardware.hasGpu,
      gpuMemoryGb: s.view.info.hardware.gpuMemoryGb,
      health: s.view.health,
      weight: i < 0 ? 0 : table.weights[i] as number,
      totalWeight: table.total,
      activeSelfplay: n,
      targetSelfplay: p.managers.scheduler.targetJobsForNode(s.view, n, backpressure),
      budget: budgets.get(s.nodeId) ?? null
    }
  })
}

export function inspectionHandlers (node: RiftNode, p: Parts, clock: Clock): Record<string, ControlHandler> {
  const cfg = node.config
  const settings = new ManagerSettings(p.state)
  return {
    nodes: async () => nodes(p),
    lease: async () => lease(p, cfg, clock),
    job: async args => {
      const jobId = optionalText('job', args, 'jobId')
      if (jobId === undefined) throw new ControlError('job needs a jobId')
      const j = p.state.job(jobId)
      if (j === undefined) throw new ControlError(`no job ${jobId} in the document`)
      return j
    },
    manifest: async args => {
      const name = optionalText('manifest', args, 'node')
      const id = name === undefined ? p.mesh.selfId : resolveNode(p, 'manifest', name)
      const m = p.state.manifest(id)
      if (m === undefined) throw new ControlError(`node ${id} has published no manifest yet`)
      return m
    },
    plan: async () => {
      const self = p.state.node(p.mesh.selfId)
      const table = self === undefined ? undefined : p.managers.scheduler.weightsFor(self.hardware)
      const leader = p.election.currentLeader()
      const backpressure = p.managers.jobLeader.selfplayBackpressure()
      return {
        dispatcher: leader === undefined ? 'no leader (leaderless selfplay only)' : leader.nodeId === p.mesh.selfId ? 'this node leads' : `leader ${leader.nodeId}`,
        backpressure,
        selfplay: schedulerNodes(p, undefined, backpressure).map(n => ({ node: n.node, eligible: n.excluded.length === 0, excluded: n.excluded, health: n.health, active: n.activeSelfplay, target: n.targetSelfplay, wants: n.excluded.length === 0 ? Math.max(0, n.targetSelfplay - n.activeSelfplay) : 0 })),
        weights: table === undefined
          ? []
          : table.candidates.map((c, i) => ({ config: c.config, engineMode: c.engineMode, weight: table.weights[i], share: table.total > 0 ? (table.weights[i] as number) / table.total : 0 })),
        sync: p.managers.sync?.status().lastPlan ?? null
      }
    },
    whyNot: async args => {
      const parsed = configKeySchema.safeParse(args.config)
      if (!parsed.success) throw new ControlError(`whyNot needs a config key like hex8_2p, got ${JSON.stringify(args.config)}`)
      const config = parsed.data
      const jobs = p.state.jobs().filter(j => j.dispatch.type === 'selfplay' && j.dispatch.config === config && ACTIVE.has(j.state))
      const training = p.managers.training.report()?.decisions.find(d => d.config === config)
      const backpressure = p.managers.jobLeader.selfplayBackpressure()
      return explainWhyNot({
        config,
        staticPriority: settings.staticPriority(cfg.scheduler.staticPriority)[config] ?? 0,
        largeBoardMinVramGb: cfg.scheduler.largeBoardMinVramGb,
        leader: p.election.currentLeader()?.nodeId ?? null,
        noLeader: p.election.currentLeader() === undefined ? noLeader(p, cfg, clock).text : null,
        selfId: p.mesh.selfId,
        activeJobs: jobs.length,
        nodes: schedulerNodes(p, config, backpressure),
        backpressure: backpressure.cause,
        training: training === undefined ? null : readinessText(training)
      })
    },
    dispatch: async args => {
      // the leader's path: only the holder of a valid lease dispatches, fenced by its epoch
      const epoch = p.election.leaderEpoch()
      if (epoch === undefined) {
        const leader = p.election.currentLeader()
        throw new ControlError(leader === undefined
          ? 'dispatch: no leader is known; retry once one is elected'
          : `dispatch: this node is not the leader; attach to the leader ${leader.nodeId} (epoch ${leader.epoch})`)
      }
      const type = jobTypeSchema.safeParse(args.type)
      if (!type.success) throw new ControlError(`dispatch: type must be one of ${jobTypeSchema.options.join(', ')}`)
      const target = optionalText('dispatch', args, 'node')
      if (target === undefined) throw new ControlError('dispatch needs a node (its id or a unique prefix or suffix)')
      const assignedNode = resolveNode(p, 'dispatch', target)
      const config = args.config === undefined || args.config === null ? null : configKeySchema.safeParse(args.config)
      if (config !== null && !config.success) throw new ControlError(`dispatch: config must be a config key like hex8_2p, got ${JSON.stringify(args.config)}`)
      const engineMode = optionalText('dispatch', args, 'engineMode') ?? null
      const spec = args.spec ?? {}
      if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ControlError('dispatch: spec must be an object of scalars')
      let d
      try {
        d = p.state.dispatchJob({
          type: type.data, config: config?.data ?? null, engineMode, spec: spec as Record<string, string | number | boolean | null>,
          assignedNode, dispatchEpoch: epoch, attempt: 1, previousJobId: null
        })
      } catch (err) {
        throw new ControlError(`dispatch refused: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`, { cause: err })
      }
      await p.store.flush()
      return { jobId: d.jobId, type: d.type, config: d.config, node: d.assignedNode, epoch: d.dispatchEpoch }
    },
    electionEvents: async args => {
      const max = p.electionEvents.maxEvents
      const limit = args.limit === undefined || args.limit === null ? Math.min(DEFAULT_ELECTION_EVENTS_ROWS, max) : Number(args.limit)
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= max)) throw new ControlError(`electionEvents: limit must be an integer 1–${max}`)
      return p.electionEvents.events(limit)
    },
    metricsHistory: async args => {
      const limit = args.limit === undefined ? DEFAULT_METRICS_HISTORY_ROWS : Number(args.limit)
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_METRICS_HISTORY_ROWS)) throw new ControlError(`metrics: limit must be an integer 1–${MAX_METRICS_HISTORY_ROWS}`)
      const sinceMs = args.sinceMs === undefined ? undefined : Number(args.sinceMs)
      if (sinceMs !== undefined && !Number.isFinite(sinceMs)) throw new ControlError('metrics: sinceMs must be a ms timestamp')
      const rows = await p.stateManager.metrics({ ...(sinceMs !== undefined ? { sinceMs } : {}), limit, newestFirst: true })
      // the stored samples, oldest first, then the values now (not stored)
      return [...rows.reverse(), { atMs: timestampMs(clock), values: p.observe.metrics.current(), now: true }]
    }
  }
}

/**
 * What a running node answers on its control socket. Each op returns plain JSON.
 */
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import type { JobView } from '../state/jobs.js'
import type { Parts, RiftNode } from './node.js'
import type { Logger } from '../core/logger.js'
import type { Clock } from '../core/clock.js'
import { abControlHandlers } from './control-ab.js'
import { settingsControlHandlers } from './control-settings.js'
import { trustControlHandlers, trustReport } from './control-trust.js'
import { modelsControlHandlers } from './control-models.js'
import { documentBytes, storeHealth } from './metrics-snapshot.js'
import { nodesControlHandlers } from './control-nodes.js'
import { inspectionHandlers } from './metrics-views.js'
import { stateDigest } from '../mesh/heartbeat.js'

export function controlHandlers (node: RiftNode, p: Parts, logger: Logger, clock: Clock): Record<string, ControlHandler> {
  return {
    ...abControlHandlers(p.managers.abTests),
    ...inspectionHandlers(node, p, clock),
    ...settingsControlHandlers(p, { configVoters: node.config.election.voters, electionMode: node.config.election.mode }),
    ...nodesControlHandlers(p, { deadAfterMs: node.config.health.deadAfterMs, logger }),
    ...trustControlHandlers(p),
    ...modelsControlHandlers(p, clock),
    status: async () => ({
      peerId: p.mesh.selfId,
      listen: p.mesh.listenAddrs(),
      connected: p.mesh.connectedPeers(),
      mesh: p.peers.report(),
      peers: p.heartbeat.peers(),
      nodes: p.state.nodes().map(n => ({ nodeId: n.nodeId, host: n.host, cpuCount: n.hardware.cpuCount, hasGpu: n.hardware.hasGpu, capabilities: n.capabilities })),
      drops: { total: p.drops.total(), byReason: p.drops.byReason(), perPeer: p.drops.perPeer() },
      replicator: { ...p.replicator.counters },
      invalidEntries: p.state.stats.snapshot(),
      /** Operators and revoked peers in effect (status warns when there is no operator key). */
      trust: trustReport(p.state, p.heartbeat.otherTrustRoots()),
      docBytes: documentBytes(p.state),
      /** The digest heartbeats carry (equal on two nodes ⇔ equal documents). */
      digest: Buffer.from(stateDigest(p.state.docs)).toString('hex'),
      restore: p.restore,
      /** Whether updates reach the disk; while not, why and what waits in memory. */
      store: storeHealth(p.store.persistence(), p.guard.state(), clock.nowMs()),
      /** Peers whose clock is off by more than health.maxClockSkewMs. */
      clock: { maxSkewMs: p.heartbeat.clockSkewBoundMs, skewed: p.heartbeat.clockSkews() },
      incarnation: p.incarnation,
      cluster: node.config.node.clusterName,
      election: {
        role: p.election.role,
        leader: p.election.currentLeader() ?? null,
        isLeader: p.election.isLeader(),
        highestEpoch: p.election.highestEpoch,
        mode: p.election.mode(),
        voters: p.election.voters(),
        notStanding: p.election.notStanding()
      },
      managers: {
        healthy: p.managers.loops.healthy(),
        loops: p.managers.loops.health(),
        training: p.managers.training.report() ?? null,
        /** Self-play backpressure as this node sees it: active, its cause, the untrained backlog. */
        selfplay: p.managers.jobLeader.selfplayBackpressure(),
        selfplayDiversity: p.managers.scheduler.diversity()
      }
    }),
    rankings: async () => ({
      scores: p.managers.selector.scored().map(n => ({ node: n.nodeId, gpuScore: n.gpuScore, cpuScore: n.cpuScore, load: n.load, alive: n.alive, healthy: n.healthy, unfit: n.unfit, trainingJobs: n.trainingJobs })),
      trainingPrimary: p.managers.selector.trainingPrimaryNodes().map(v => v.info.nodeId),
      bestGpuForTraining: p.managers.selector.bestGpuNodeForTraining()?.info.nodeId ?? null,
      cpuPrimary: p.managers.selector.cpuPrimaryNodes().map(v => v.info.nodeId),
      bestCpuForGauntlet: p.managers.selector.bestCpuNodeForGauntlet()?.info.nodeId ?? null,
      bestCpuForExport: p.managers.selector.bestCpuNodeForExport()?.info.nodeId ?? null
    }),
    leader: async () => p.election.currentLeader() ?? null,
    sync: async () => p.managers.sync?.status() ?? null,
    doc: async () => p.state.toJSON(),
    peers: async () => p.heartbeat.peers(),
    mesh: async () => p.peers.report(),
    jobs: async args => jobsMatching(p, args).map(j => ({
      jobId: j.jobId, type: j.dispatch.type, config: j.dispatch.config, engineMode: j.status?.engineMode ?? j.dispatch.engineMode, node: j.dispatch.assignedNode,
      state: j.state, attempt: j.dispatch.attempt, previousJobId: j.dispatch.previousJobId, epoch: j.dispatch.dispatchEpoch,
      dispatchedBy: j.dispatch.dispatchedBy, leaderless: j.dispatch.spec?.leaderless === true,
      exitCode: j.status?.exitCode ?? null, error: j.status?.error ?? null, outputs: j.status?.outputs ?? [], pid: j.status?.pid ?? null,
      createdAt: j.dispatch.createdAt, startedAt: j.status?.startedAt ?? null, endedAt: j.status?.endedAt ?? null
    })),
    models: async () => Object.fromEntries([...p.state.models()].map(([config, m]) => [config, { modelId: m.modelId, elo: m.elo, path: m.path, ownerNode: m.ownerNode, promotedAt: m.promotedAt }])),
    cancelJob: async args => {
      const jobId = args.jobId
      if (typeof jobId !== 'string') throw new ControlError('cancelJob needs a jobId')
      const j = p.state.job(jobId)
      if (j === undefined) throw new ControlError(`no job ${jobId} in the document`)
      const reason = typeof args.reason === 'string' ? args.reason.slice(0, 200) : `cancelled from ${p.mesh.selfId}`
      const epoch = p.state.maxKnownEpoch()
      if (!p.state.verdictCounts(j.dispatch, p.mesh.selfId, epoch, 'CANCELLED')) {
        throw new ControlError(`this node may not cancel ${jobId}: a cancel counts from the job's dispatcher (${j.dispatch.dispatchedBy}), the leader or an operator; cancel it through the leader's node`)
      }
      p.state.addVerdict({ jobId, verdict: 'CANCELLED', epoch, reason })
      await p.store.flush()
      return { jobId, state: p.state.job(jobId)?.state ?? null }
    }
  }
}

const JOB_LIST_MAX = 10_000

/** Jobs filtered by `{state, node, type}` (a node may be named by a suffix of its id), newest last, at most `limit`. */
function jobsMatching (p: Parts, args: Record<string, unknown>): JobView[] {
  const text = (k: string): string | undefined => {
    const v = args[k]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw new ControlError(`jobs: ${k} must be a non-empty string`)
    return v
  }
  const state = text('state')?.toUpperCase()
  const type = text('type')
  const node = text('node')
  const limit = args.limit === undefined ? JOB_LIST_MAX : Number(args.limit)
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= JOB_LIST_MAX)) throw new ControlError(`jobs: limit must be an integer 1–${JOB_LIST_MAX}`)
  const jobs = p.state.jobs().filter(j => (state === undefined || j.state === state) && (type === undefined || j.dispatch.type === type) &&
    (node === undefined || j.dispatch.assignedNode.endsWith(node)))
  return jobs.sort((a, b) => a.dispatch.createdAt - b.dispatch.createdAt).slice(-limit)
}

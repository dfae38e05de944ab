/**
 * One simulated node: the real ClusterState, DocStore, LocalTables, Replicator and heartbeat
 * service, on a SimClock, a seeded Rng, a SimDisk and a SimMesh. Crash and restart rebuild the
 * node from its disk, as a real restart would.
 */
import { orderedSeededSigners, seededSigner, type EntrySigner } from '../../src/state/entry-sig.js'
import type { Logger } from '../../src/core/logger.js'
import type { Rng } from '../../src/core/rng.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { DocStore } from '../../src/store/doc-store.js'
import { LocalTables } from '../../src/store/tables.js'
import { DropCounters } from '../../src/mesh/drops.js'
import { Replicator } from '../../src/mesh/replicator.js'
import { HeartbeatService, type LoadSource } from '../../src/mesh/heartbeat.js'
import { docTopic, heartbeatTopic } from '../../src/node/node.js'
import { ElectionService } from '../../src/election/election.js'
import type { Hardware } from '../../src/state/schema.js'
import { ClusterViews, trainingJobsByNode } from '../../src/managers/views.js'
import { NodeSelector } from '../../src/managers/node-selector.js'
import { TrainingCoordinator } from '../../src/managers/training-coordinator.js'
import type { TrainingParams } from '../../src/managers/training.js'
import { LoopManager } from '../../src/node/loops.js'
import { jobLeaderInit, nodeSelectorInit, selfplaySchedulerInit, trainingCoordinatorInit } from '../../src/node/manager-init.js'
import { resolveConfig, type RiftmeshConfig } from '../../src/config/index.js'
import { SelfplayScheduler } from '../../src/managers/selfplay-scheduler.js'
import { JobWorker } from '../../src/managers/job-worker.js'
import { JobLeader } from '../../src/managers/job-leader.js'
import type { CleanupParams } from '../../src/jobs/lifecycle.js'
import { SimJobRunner, type SimMachine } from './sim-jobs.js'
import type { Scheduler } from '../core/scheduler.js'
import { SimClock } from '../core/sim-clock.js'
import { SimDisk } from '../disk/sim-disk.js'
import type { SimNetwork } from '../net/sim-network.js'
import type { SimMesh } from '../net/sim-mesh.js'

export const SIM_CLUSTER = 'sim'

export interface SimNodeConfig {
  heartbeatIntervalMs: number
  suspectAfterMs: number
  deadAfterMs: number
  antiEntropyIntervalMs: number
  coalesceWindowMs: number
  syncTimeoutMs: number
  /** Test switch: run without anti-entropy (convergence then depends on gossip alone). */
  antiEntropy: boolean
  /** Run the heartbeat service. */
  heartbeats: boolean
  /** Run the election with these voters and timings; undefined: no election. */
  election?: {
    voters: string[]
    mode: 'majority' | 'epoch'
    leaseMs: number
    renewIntervalMs: number
    driftMarginMs: number
    backoffMinMs: number
    backoffMaxMs: number
    preferredLeader: string | null
  }
  /** This node's hardware, published in its NodeInfo; undefined: no NodeInfo (replication-only runs). */
  hardwareOf?: (index: number) => Hardware
  /** Run the TrainingCoordinator (and the node selector it uses) on every node. */
  training?: {
    params: Partial<TrainingParams>
    readinessIntervalMs: number
    leaderlessTrainingTimeoutMs: number
  }
  /** The trust root every node starts with: operator ids. @default [] */
  operators?: string[]
  /** The hostile member's index: it does not stand for election (sim/hostile.ts forges in its name). */
  hostile?: number
  /** Run the real JobWorker and JobLeader over a simulated machine per node. */
  jobs?: {
    machineOf: (index: number) => SimMachine
    maxProcesses: number
    cleanup: Partial<CleanupParams>
    cleanupIntervalMs: number
    selfplayDispatchIntervalMs: number
    jobHeartbeatIntervalMs: number
    leaderlessSelfplayAfterMs: number
    admissionWaitMs: number
    /** jobs.retentionMs of every node. @default the node's default */
    retentionMs?: number
  }
}

export const DEFAULT_SIM_NODE_CONFIG: SimNodeConfig = {
  heartbeatIntervalMs: 1000, suspectAfterMs: 3000, deadAfterMs: 5000, antiEntropyIntervalMs: 10_000, coalesceWindowMs: 30, syncTimeoutMs: 10_000, antiEntropy: true, heartbeats: true
}

const idleLoad: LoadSource = {
  sample: () => ({ cpuPercent: 5, memoryPercent: 20, diskPercent: 20, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 0, trainingJobs: 0 })
}

/** Games one simulated selfplay job plays. */
export const SIM_SELFPLAY_GAMES_PER_JOB = 10

/** The node configuration a simulated node's managers are set up from, through the same functions as a real node's. */
export function simManagersConfig (c: SimNodeConfig): RiftmeshConfig {
  const flags: Record<string, unknown> = { 'jobs.selfplayGamesPerJob': SIM_SELFPLAY_GAMES_PER_JOB }
  const t = c.training
  if (t !== undefined) {
    for (const [k, v] of Object.entries(t.params)) flags[`training.${k}`] = v
    Object.assign(flags, { 'training.readinessIntervalMs': t.readinessIntervalMs, 'election.leaderlessTrainingTimeoutMs': t.leaderlessTrainingTimeoutMs })
  }
  const j = c.jobs
  if (j !== undefined) {
    for (const [k, v] of Object.entries(j.cleanup)) flags[`jobs.${k}`] = v
    Object.assign(flags, {
      'jobs.cleanupIntervalMs': j.cleanupIntervalMs, 'jobs.selfplayDispatchIntervalMs': j.selfplayDispatchIntervalMs, 'jobs.jobHeartbeatIntervalMs': j.jobHeartbeatIntervalMs,
      'jobs.leaderlessSelfplayAfterMs': j.leaderlessSelfplayAfterMs, 'jobs.admissionWaitMs': j.admissionWaitMs, 'jobs.maxProcessesPerNode': j.maxProcesses
    })
  }
  return resolveConfig({ flags }, { cwd: '/sim', homeDir: null })
}

/** Simulated nodes whose ids sort like their indexes (ties broken by node id fall as before). */
const ORDERED_SIM_NODES = 1_024
let simPool: EntrySigner[] | undefined
const simSigners = new Map<number, EntrySigner>()

/** The simulated node's signing key, derived from its index (the same in every run). */
export function simSigner (index: number): EntrySigner {
  if (index < ORDERED_SIM_NODES) {
    simPool ??= orderedSeededSigners('simnode', ORDERED_SIM_NODES)
    return simPool[index] as EntrySigner
  }
  let s = simSigners.get(index)
  if (s === undefined) {
    s = seededSigner(`simnode${String(index).padStart(5, '0')}`)
    simSigners.set(index, s)
  }
  return s
}

/** The simulated cluster's operator key (scenarios with `operator: true`), derived like the nodes' keys; no node holds it. */
export function simOperatorSigner (): EntrySigner {
  return seededSigner('simoperator')
}

/** A simulated node's id: the peer id of its derived key, so its entries are signed as any node's. */
export function simNodeId (index: number): string {
  return simSigner(index).id
}

interface Running {
  state: ClusterState
  store: DocStore
  tables: LocalTables
  replicator: Replicator
  heartbeat: HeartbeatService
  drops: DropCounters
  election: ElectionService | undefined
  training: TrainingCoordinator | undefined
  worker: JobWorker | undefined
  loops: LoopManager
}

export type NodeStatus = 'up' | 'crashed' | 'paused'

export class SimNode {
  readonly id: string
  readonly clock: SimClock
  readonly disk: SimDisk
  readonly mesh: SimMesh
  status: NodeStatus = 'crashed'
  incarnation = 0
  private running: Running | undefined
  private readonly listeners: Array<(n: SimNode) => void> = []

  constructor (
    readonly index: number,
    private readonly sched: Scheduler,
    private readonly net: SimNetwork,
    private readonly rng: Rng,
    private readonly logger: Logger,
    private readonly config: SimNodeConfig
  ) {
    this.id = simNodeId(index)
    this.clock = new SimClock(sched, index)
    this.disk = new SimDisk(sched, index)
    this.mesh = net.attach(index, this.id)
  }

  get state (): ClusterState {
    if (this.running === undefined) throw new Error(`node ${this.index} is not running`)
    return this.running.state
  }

  get isUp (): boolean {
    return this.status === 'up'
  }

  get parts (): Running | undefined {
    return this.running
  }

  /** Called after every (re)start, e.g. to attach observers to the new state. */
  onStart (listener: (n: SimNode) => void): void {
    this.listeners.push(listener)
  }

  async start (): Promise<void> {
    if (this.running !== undefined) return
    this.incarnation++
    const rng = this.rng.fork(`incarnation-${this.incarnation}`)
    const logger = this.logger.child({ node: this.index })
    const db = await this.disk.open()
    const c = this.config
    const retentionMs = c.jobs?.retentionMs
    const state = new ClusterState({ clock: this.clock, logger, rng: rng.fork('state'), signer: simSigner(this.index) }, { selfId: this.id, operators: c.operators ?? [], voters: c.election?.voters ?? [], ...(retentionMs !== undefined ? { retentionMs } : {}) })
    const store = new DocStore({ db, state, clock: this.clock, logger }, { syncWrites: true })
    await store.start()
    const tables = new LocalTables(db, logger)
    const drops = new DropCounters(logger)
    this.sched.setNodeState(this.index, 'up')
    this.mesh.start()
    const replicator = new Replicator({ mesh: this.mesh, state, updates: store, clock: this.clock, rng: rng.fork('replicator'), logger, drops }, {
      topic: docTopic(SIM_CLUSTER), coalesceWindowMs: c.coalesceWindowMs, antiEntropyIntervalMs: c.antiEntropyIntervalMs, syncTimeoutMs: c.syncTimeoutMs, antiEntropy: c.antiEntropy
    })
    await replicator.start()
    const heartbeat = new HeartbeatService({ mesh: this.mesh, clock: this.clock, logger, drops, load: idleLoad, docs: state.docs }, {
      topic: heartbeatTopic(SIM_CLUSTER), heartbeatIntervalMs: c.heartbeatIntervalMs, suspectAfterMs: c.suspectAfterMs, deadAfterMs: c.deadAfterMs,
      cpuHighPercent: 80, cpuCriticalPercent: 95, stretchHigh: 1.2, stretchCritical: 1.4
    })
    heartbeat.onDigestMismatch(peer => replicator.requestSync(peer, 'digest'))
    if (c.heartbeats) heartbeat.start()
    let election: ElectionService | undefined
    if (c.election !== undefined) {
      const e = c.election
      election = new ElectionService({ state, tables, clock: this.clock, logger, isAlive: id => heartbeat.health(id) === 'ALIVE' }, {
        voters: e.voters, mode: e.mode, leaseMs: e.leaseMs, renewIntervalMs: e.renewIntervalMs, driftMarginMs: e.driftMarginMs,
        backoffMinMs: e.backoffMinMs, backoffMaxMs: e.backoffMaxMs,
        eligibility: e.preferredLeader !== null ? 'preferred' : 'all', preferredLeader: e.preferredLeader, selfEligible: this.index !== c.hostile
      })
      await election.start()
    }
    if (c.hardwareOf !== undefined) {
      const hardware = c.hardwareOf(this.index)
      state.setNodeInfo({
        v: 1, nodeId: this.id, host: `sim-${this.index}`, addrs: [], version: 'sim', startedAt: Math.max(0, Math.floor(this.clock.nowMs())), hardware,
        capabilities: hardware.hasGpu ? ['selfplay', 'training', 'gauntlet', 'tournament', 'export'] : ['selfplay', 'export', 'gauntlet'],
        flags: { voter: c.election?.voters.includes(this.id) ?? false, retired: false, leaderEligible: this.index !== c.hostile }
      })
    }
    const loops = new LoopManager({ clock: this.clock, logger })
    let training: TrainingCoordinator | undefined
    let worker: JobWorker | undefined
    if ((c.training !== undefined || c.jobs !== undefined) && election !== undefined) {
      const views = new ClusterViews({ state, health: heartbeat, selfLoad: () => idleLoad.sample() })
      const cfg = simManagersConfig(c)
      const selector = new NodeSelector({ views, clock: this.clock, logger, trainingRunning: () => trainingJobsByNode(state) }, nodeSelectorInit(cfg))
      if (c.training !== undefined) {
        const coordinator = new TrainingCoordinator({ state, selector, leadership: election, clock: this.clock, logger }, trainingCoordinatorInit(cfg))
        training = coordinator
        loops.add({ name: 'training', intervalMs: c.training.readinessIntervalMs, run: () => { coordinator.tick() } })
      }
      const j = c.jobs
      if (j !== undefined) {
        const machine = j.machineOf(this.index)
        const el = election
        const w = new JobWorker({
          state, flush: async () => await store.flush(), tables, runner: new SimJobRunner(machine, j.maxProcesses), voters: () => el.voters(), clock: this.clock, logger
        }, {
          dataDir: '/sim', hasGpu: () => state.node(this.id)?.hardware.hasGpu ?? false, capabilities: () => state.node(this.id)?.capabilities ?? [],
          maxProcesses: j.maxProcesses, jobHeartbeatIntervalMs: j.jobHeartbeatIntervalMs, admissionWaitMs: j.admissionWaitMs,
          readOutputs: async r => machine.outputsOf(r.jobId, r.type),
          missingInputs: async () => [] // simulated machines hold every model
        })
        await w.start()
        worker = w
        const scheduler = new SelfplayScheduler({ state, clock: this.clock, rng: rng.fork('selfplay'), logger }, selfplaySchedulerInit(cfg))
        const leader = new JobLeader({
          state, selector, scheduler, leadership: election, health: id => heartbeat.health(id), clock: this.clock, logger,
          retireBucket: async id => await store.retireBucket(id, Math.max(0, Math.floor(this.clock.nowMs())))
        }, jobLeaderInit(cfg))
        loops.add({ name: 'jobs-worker', intervalMs: 1000, run: async () => { await w.scan() } })
        loops.add({ name: 'job-heartbeat', intervalMs: j.jobHeartbeatIntervalMs, run: () => { w.heartbeat() } })
        loops.add({ name: 'jobs-cleanup', intervalMs: j.cleanupIntervalMs, run: () => { leader.cleanup() } })
        loops.add({ name: 'selfplay-dispatch', intervalMs: j.selfplayDispatchIntervalMs, run: () => { leader.dispatchSelfplay() } })
        loops.add({ name: 'jobs-retire', intervalMs: 10_000, run: async () => { leader.sealOld(); await leader.retire() } })
        state.onUpdate(u => { if (u.doc.startsWith('jobs/')) loops.trigger('jobs-worker') })
      }
    }
    loops.start()
    this.running = { state, store, tables, replicator, heartbeat, drops, election, training, worker, loops }
    this.status = 'up'
    this.sched.trace(`start node ${this.index} incarnation ${this.incarnation}`)
    for (const l of this.listeners) l(this)
  }

  /** Crash: nothing is flushed; `power` also loses the disk's unsynced writes. */
  async crash (mode: 'process' | 'power'): Promise<void> {
    if (this.running === undefined) return
    this.sched.trace(`crash node ${this.index} (${mode})`)
    this.running.heartbeat.stop()
    this.running.election?.stop()
    this.running.loops.stop()
    void this.running.worker?.stop()
    if (mode === 'power') this.config.jobs?.machineOf(this.index).powerLoss()
    this.clock.dropAll()
    this.mesh.stop()
    this.sched.setNodeState(this.index, 'crashed')
    this.running.state.destroy()
    this.running = undefined
    this.status = 'crashed'
    await this.disk.crash(mode)
  }

  pause (): void {
    if (this.status !== 'up') return
    this.sched.trace(`pause node ${this.index}`)
    this.status = 'paused'
    this.sched.setNodeState(this.index, 'paused')
  }

  resume (): void {
    if (this.status !== 'paused') return
    this.sched.trace(`resume node ${this.index}`)
    this.status = 'up'
    this.sched.setNodeState(this.index, 'up')
  }
}

/**
 * One simulated node: the simulated platform — a SimClock, a seeded Rng, a SimDisk
 * (memory-level), a SimMesh and a SimMachine of job processes — under the node's one
 * composition (`composeNode`, as the binary runs it). Crash and restart rebuild the node from
 * its disk, as a real restart would.
 */
import { orderedSeededSigners, seededSigner, type EntrySigner } from '../../src/state/entry-sig.js'
import type { Logger } from '../../src/core/logger.js'
import type { Rng } from '../../src/core/rng.js'
import type { ClusterState } from '../../src/state/cluster-state.js'
import type { LoadSource } from '../../src/mesh/heartbeat.js'
import type { Capability, Hardware } from '../../src/state/schema.js'
import type { TrainingParams } from '../../src/managers/training.js'
import { defaultCapabilities } from '../../src/managers/hardware.js'
import { composeNode, type ComposedNode } from '../../src/node/compose.js'
import { resolveConfig, type RiftmeshConfig } from '../../src/config/index.js'
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
  /** This node's hardware, published in its NodeInfo. @default a 16-core CPU box */
  hardwareOf?: (index: number) => Hardware
  /** Training parameters of every node's TrainingCoordinator (it runs on every node). */
  training?: {
    params: Partial<TrainingParams>
    readinessIntervalMs: number
    leaderlessTrainingTimeoutMs: number
  }
  /** The trust root every node starts with: operator ids. @default [] */
  operators?: string[]
  /** The hostile member's index: it does not stand for election (sim/hostile.ts forges in its name). */
  hostile?: number
  /** Node `index`'s machine: its job processes outlive a crash of the node. */
  machineOf: (index: number) => SimMachine
  /** Nodes take selfplay work (the real JobLeader dispatches it); without, they take none. */
  jobs?: {
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

export const DEFAULT_SIM_NODE_CONFIG: Omit<SimNodeConfig, 'machineOf'> = {
  heartbeatIntervalMs: 1000, suspectAfterMs: 3000, deadAfterMs: 5000, antiEntropyIntervalMs: 10_000, coalesceWindowMs: 30, syncTimeoutMs: 10_000, antiEntropy: true
}

/** A simulated node's hardware when the scenario names none. */
export const SIM_CPU_BOX: Hardware = { cpuCount: 16, memoryGb: 64, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: false, gpuName: '', gpuCount: 0, gpuMemoryGb: 0 }

const idleLoad: LoadSource = {
  sample: () => ({ cpuPercent: 5, memoryPercent: 20, diskPercent: 20, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 0, trainingJobs: 0 })
}

/** Games one simulated selfplay job plays. */
export const SIM_SELFPLAY_GAMES_PER_JOB = 10

/**
 * What node `index` takes work for: without `jobs` it takes no selfplay (so the real JobLeader
 * dispatches none, and the real JobWorker refuses the scenario's own selfplay dispatches);
 * otherwise what its hardware gives, as on a real host. Pure.
 */
export function simCapabilities (c: SimNodeConfig, hardware: Hardware): Capability[] {
  const caps = defaultCapabilities(hardware)
  return c.jobs !== undefined ? caps : caps.filter(x => x !== 'selfplay')
}

/**
 * Node `index`'s configuration: the scenario's timings and roles as the config keys a real
 * node would be given, resolved (and validated) by the same function the CLI uses.
 */
export function simNodeConfig (c: SimNodeConfig, index: number): RiftmeshConfig {
  const hardware = c.hardwareOf?.(index) ?? SIM_CPU_BOX
  const e = c.election
  const flags: Record<string, unknown> = {
    'node.clusterName': SIM_CLUSTER,
    'node.capabilities': simCapabilities(c, hardware),
    // without an election nobody stands (the node only observes); the hostile member never does
    'node.leaderEligible': e !== undefined && index !== c.hostile,
    'trust.operators': c.operators ?? [],
    'health.heartbeatIntervalMs': c.heartbeatIntervalMs,
    'health.suspectAfterMs': c.suspectAfterMs,
    'health.deadAfterMs': c.deadAfterMs,
    'mesh.antiEntropyIntervalMs': c.antiEntropyIntervalMs,
    'mesh.coalesceWindowMs': c.coalesceWindowMs,
    'mesh.syncTimeoutMs': c.syncTimeoutMs,
    'jobs.selfplayGamesPerJob': SIM_SELFPLAY_GAMES_PER_JOB
  }
  if (e !== undefined) {
    Object.assign(flags, {
      'election.voters': e.voters, 'election.mode': e.mode, 'election.leaseMs': e.leaseMs, 'election.renewIntervalMs': e.renewIntervalMs,
      'election.driftMarginMs': e.driftMarginMs, 'election.backoffMinMs': e.backoffMinMs, 'election.backoffMaxMs': e.backoffMaxMs,
      'election.eligibility': e.preferredLeader !== null ? 'preferred' : 'all', 'election.preferredLeader': e.preferredLeader
    })
  }
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
      'jobs.leaderlessSelfplayAfterMs': j.leaderlessSelfplayAfterMs, 'jobs.admissionWaitMs': j.admissionWaitMs, 'jobs.maxProcessesPerNode': j.maxProcesses,
      ...(j.retentionMs !== undefined ? { 'jobs.retentionMs': j.retentionMs } : {})
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

/** A running simulated node: the composed node on its simulated platform. */
export type Running = ComposedNode<SimMesh>

export type NodeStatus = 'up' | 'crashed' | 'paused'

export class SimNode {
  readonly id: string
  readonly clock: SimClock
  readonly disk: SimDisk
  readonly mesh: SimMesh
  status: NodeStatus = 'crashed'
  incarnation = 0
  private running: Running | undefined
  private nodeConfig: RiftmeshConfig | undefined
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
    const c = this.config
    this.nodeConfig ??= simNodeConfig(c, this.index)
    const hardware = c.hardwareOf?.(this.index) ?? SIM_CPU_BOX
    const machine = c.machineOf(this.index)
    const db = await this.disk.open()
    this.sched.setNodeState(this.index, 'up')
    this.running = await composeNode({
      config: this.nodeConfig,
      mesh: this.mesh,
      db,
      signer: simSigner(this.index),
      incarnation: this.incarnation,
      host: `sim-${this.index}`,
      runner: new SimJobRunner(machine, this.nodeConfig.jobs.maxProcessesPerNode),
      load: idleLoad,
      hardware: { current: () => hardware, onChange: () => () => {} },
      // simulated machines hold every input and report their outputs themselves
      files: { readOutputs: async r => machine.outputsOf(r.jobId, r.type), missingInputs: async () => [] },
      clock: this.clock,
      rng: this.rng.fork(`incarnation-${this.incarnation}`),
      logger: this.logger.child({ node: this.index })
    }, { antiEntropy: c.antiEntropy })
    this.status = 'up'
    this.sched.trace(`start node ${this.index} incarnation ${this.incarnation}`)
    for (const l of this.listeners) l(this)
  }

  /** Crash: nothing is flushed; `power` also loses the disk's unsynced writes and kills the machine's processes. */
  async crash (mode: 'process' | 'power'): Promise<void> {
    if (this.running === undefined) return
    this.sched.trace(`crash node ${this.index} (${mode})`)
    this.running.halt()
    if (mode === 'power') this.config.machineOf(this.index).powerLoss()
    this.clock.dropAll()
    this.mesh.stop()
    this.sched.setNodeState(this.index, 'crashed')
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

/**
 * Builds one node's managers from its config and runs their periodic work on the LoopManager:
 * NodeSelector, SelfplayScheduler and TrainingCoordinator over the merged view, each set up from
 * the config by its function in `manager-init.ts`. The training
 * loop runs every `training.readinessIntervalMs` and early when new data lands in a manifest.
 */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import type { RiftmeshConfig } from '../config/index.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { LoadSample, LoadSource } from '../mesh/heartbeat.js'
import { ClusterViews, trainingJobsByNode, type PeerHealthSource } from '../managers/views.js'
import { NodeSelector } from '../managers/node-selector.js'
import { SelfplayScheduler } from '../managers/selfplay-scheduler.js'
import { TrainingCoordinator, type Leadership } from '../managers/training-coordinator.js'
import { LoopManager } from './loops.js'
import type { LocalTables } from '../store/tables.js'
import type { JobView } from '../state/jobs.js'
import type { Capability } from '../state/schema.js'
import type { Health } from '../mesh/health.js'
import type { JobResult, JobRunner } from '../jobs/runner.js'
import { JobWorker } from '../managers/job-worker.js'
import { JobLeader } from '../managers/job-leader.js'
import { AdmissionLedger } from '../managers/admission.js'
import { missingInDataDir, requiredInputs } from '../managers/job-worker.js'
import { SyncPlanner, type DataPuller, type DataScanner } from '../managers/sync-planner.js'
import { wantsForRole, type Wants } from '../managers/sync-plan.js'
import { loadScore } from '../managers/scores.js'
import { AbTestManager, type AbStore } from '../managers/ab-tests.js'
import { jobLeaderInit, loadWeights, nodeSelectorInit, selfplaySchedulerInit, syncPlannerInit, trainingCoordinatorInit } from './manager-init.js'

/** Shortest wait between two data-triggered readiness passes. @default 5_000 */
export const DEFAULT_DATA_TRIGGER_MIN_MS = 5_000

/** How often A/B tests dispatch (leader) and record their games (owner). @default 5_000 */
export const DEFAULT_AB_TEST_INTERVAL_MS = 5_000

/** Shortest wait between two looks at the job starts on job updates (for the admission budgets). @default 1_000 */
export const DEFAULT_ADMISSION_OBSERVE_MIN_MS = 1_000

/** Shortest wait between two update-triggered sync passes. @default 1_000 */
export const DEFAULT_SYNC_TRIGGER_MIN_MS = 1_000

/** A load source that remembers its last sample, so the views and the heartbeat agree. */
export class SampledLoad implements LoadSource {
  private lastSample: LoadSample | undefined
  constructor (private readonly source: LoadSource) {}
  sample (): LoadSample {
    this.lastSample = this.source.sample()
    return this.lastSample
  }

  last (): LoadSample {
    return this.lastSample ?? this.sample()
  }
}

export interface NodeManagers {
  selector: NodeSelector
  scheduler: SelfplayScheduler
  training: TrainingCoordinator
  worker: JobWorker
  jobLeader: JobLeader
  /** What each node admits now (process slots, spawn rate): the dispatch holds to it, whyNot shows it. */
  admission: AdmissionLedger
  /** A/B tests: tournament dispatch as leader, games and verdicts as a test's owner. */
  abTests: AbTestManager
  /** Data sync: manifest publishing and pulls (absent when the node runs without a data plane). */
  sync: SyncPlanner | undefined
  loops: LoopManager
  /** Start what needs I/O first (re-adopting jobs), then the loops. */
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** The data dir as jobs and A/B tests see it (the simulator's machines hold their files elsewhere). */
export interface DataDirFiles {
  /** The outputs a finished job reports. @default read from its output dir */
  readOutputs?: (result: JobResult) => Promise<string[]>
  /** Which of a job's input files (data dir relative) are not there yet. @default checked in the data dir */
  missingInputs?: (paths: readonly string[]) => Promise<string[]>
}

export interface NodeManagersComponents {
  config: RiftmeshConfig
  state: ClusterState
  health: PeerHealthSource
  load: SampledLoad
  leadership: Leadership & { voters: () => string[] }
  tables: LocalTables
  /** Where A/B tests this node owns and their games are kept (the StateManager). */
  abStore: AbStore
  runner: JobRunner
  flush: () => Promise<void>
  retireBucket: (bucketId: string) => Promise<JobView[]>
  peerHealth: (nodeId: string) => Health | undefined
  hasGpu: () => boolean
  capabilities: () => readonly Capability[]
  /** Whether this node has a connection to a peer (sync prefers connected holders). */
  connected?: (nodeId: string) => boolean
  /** The data dir's files as jobs see them. @default the files under `node.dataDir` */
  files?: DataDirFiles
  /** The data plane: the scanner of the data dir and the transfer client. */
  data?: { scanner: DataScanner, client: DataPuller }
  clock: Clock
  rng: Rng
  logger: Logger
}

export function buildManagers (c: NodeManagersComponents): NodeManagers {
  const { config: cfg, state, clock, logger } = c
  const views = new ClusterViews({ state, health: c.health, selfLoad: () => c.load.last() })
  const selector = new NodeSelector({ views, clock, logger, trainingRunning: () => trainingJobsByNode(state) }, nodeSelectorInit(cfg))
  const scheduler = new SelfplayScheduler({ state, clock, rng: c.rng.fork('selfplay'), logger }, selfplaySchedulerInit(cfg))
  const training = new TrainingCoordinator({ state, selector, leadership: c.leadership, clock, logger }, trainingCoordinatorInit(cfg))
  const j = cfg.jobs
  const worker = new JobWorker({ state, flush: c.flush, tables: c.tables, runner: c.runner, voters: () => c.leadership.voters(), clock, logger }, {
    dataDir: cfg.node.dataDir, hasGpu: c.hasGpu, capabilities: c.capabilities, maxProcesses: j.maxProcessesPerNode,
    jobHeartbeatIntervalMs: j.jobHeartbeatIntervalMs, admissionWaitMs: j.admissionWaitMs,
    ...(c.files?.readOutputs !== undefined ? { readOutputs: c.files.readOutputs } : {}),
    ...(c.files?.missingInputs !== undefined ? { missingInputs: c.files.missingInputs } : {})
  })
  // selfplay, re-dispatches and A/B tournaments all stay within what each node admits
  const admission = new AdmissionLedger({ state, clock })
  const jobLeader = new JobLeader({ state, selector, scheduler, leadership: c.leadership, health: c.peerHealth, retireBucket: c.retireBucket, admission, clock, logger }, jobLeaderInit(cfg))
  const abTests = new AbTestManager({
    state, store: c.abStore, selector, leadership: c.leadership, flush: c.flush, health: c.peerHealth, admission, clock, rng: c.rng.fork('ab-tests'), logger,
    missingLocally: c.files?.missingInputs ?? (async paths => await missingInDataDir(cfg.node.dataDir, paths))
  })
  const sync = c.data === undefined ? undefined : buildSync(c, selector, views)
  const loops = new LoopManager({ clock, logger })
  loops.add({ name: 'training', intervalMs: cfg.training.readinessIntervalMs, initialDelayMs: cfg.election.leaseMs, run: () => { training.tick() } })
  loops.add({ name: 'jobs-worker', intervalMs: 2_000, run: async () => { await worker.scan() } })
  loops.add({ name: 'job-heartbeat', intervalMs: j.jobHeartbeatIntervalMs, initialDelayMs: j.jobHeartbeatIntervalMs, run: () => { worker.heartbeat() } })
  loops.add({ name: 'jobs-cleanup', intervalMs: j.cleanupIntervalMs, run: () => { jobLeader.cleanup() } })
  loops.add({ name: 'selfplay-dispatch', intervalMs: j.selfplayDispatchIntervalMs, initialDelayMs: cfg.election.leaseMs, run: () => { jobLeader.dispatchSelfplay() } })
  loops.add({ name: 'ab-tests', intervalMs: DEFAULT_AB_TEST_INTERVAL_MS, initialDelayMs: cfg.election.leaseMs, run: async () => { await abTests.tick() } })
  loops.add({ name: 'jobs-retire', intervalMs: 60_000, run: async () => { jobLeader.sealOld(); await jobLeader.retire() } })
  if (sync !== undefined) {
    loops.add({ name: 'sync-manifest', intervalMs: cfg.sync.manifestCollectionIntervalMs, run: async () => { await sync.publishManifest() } })
    loops.add({ name: 'sync', intervalMs: cfg.sync.planIntervalMs, initialDelayMs: Math.min(cfg.sync.planIntervalMs, 1_000), run: async () => { await sync.tick() } })
  }
  // new data or a settings/model change: re-read soon instead of waiting for the next period
  let lastTrigger = -Infinity
  let lastSyncTrigger = -Infinity
  let lastAdmissionObserve = -Infinity
  const finishedHere = new Set<string>()
  const offUpdate = state.onUpdate(u => {
    if (u.doc === 'control') scheduler.invalidate()
    if (u.doc.startsWith('jobs/')) {
      loops.trigger('jobs-worker')
      // note job starts soon after they are heard of: a start frees its node's window 60 s after it was seen
      const now = clock.monoMs()
      if (now - lastAdmissionObserve >= DEFAULT_ADMISSION_OBSERVE_MIN_MS) {
        lastAdmissionObserve = now
        admission.observe()
      }
    }
    if (sync !== undefined && u.origin !== 'local') {
      // a new manifest, model or job input may mean files to pull; a finished local job, files to publish
      const now = clock.monoMs()
      if (now - lastSyncTrigger >= DEFAULT_SYNC_TRIGGER_MIN_MS) {
        lastSyncTrigger = now
        loops.trigger('sync')
      }
    }
    if (sync !== undefined && u.origin === 'local' && u.doc.startsWith('jobs/')) {
      // a job of this node just completed: its output files are worth publishing now
      let fresh = false
      for (const j of state.jobs()) {
        if (j.dispatch.assignedNode !== state.selfId || j.state !== 'COMPLETE' || finishedHere.has(j.jobId)) continue
        finishedHere.add(j.jobId)
        fresh = true
      }
      if (finishedHere.size > 10_000) finishedHere.clear()
      if (fresh) loops.trigger('sync-manifest')
    }
    if (u.doc !== 'manifests') return
    const now = clock.monoMs()
    if (now - lastTrigger < DEFAULT_DATA_TRIGGER_MIN_MS) return
    lastTrigger = now
    loops.trigger('training')
  })
  return {
    selector,
    scheduler,
    training,
    worker,
    jobLeader,
    admission,
    abTests,
    sync,
    loops,
    start: async () => {
      await worker.start()
      loops.start()
    },
    stop: async () => {
      offUpdate()
      loops.stop()
      await sync?.stop()
      await worker.stop()
      await c.runner.stop() // jobs keep running; the next start re-adopts them
    }
  }
}

/** The node's SyncPlanner: wants from its role (training node, model user) and its unfinished jobs. */
function buildSync (c: NodeManagersComponents, selector: NodeSelector, views: ClusterViews): SyncPlanner {
  const { config: cfg, state } = c
  const data = c.data as { scanner: DataScanner, client: DataPuller }
  const weights = loadWeights(cfg)
  const wants = (): Wants => {
    const self = state.selfId
    const caps = c.capabilities()
    const configsWithData = new Set<string>()
    for (const m of state.manifests()) for (const k of Object.keys(m.summary)) configsWithData.add(k)
    const myJobs = state.jobs()
      .filter(j => j.dispatch.assignedNode === self && (j.state === 'PENDING' || j.state === 'RUNNING'))
      .map(j => ({ type: j.dispatch.type, config: j.dispatch.config, inputs: requiredInputs(j.dispatch.spec) }))
    return wantsForRole({
      isTrainingNode: caps.includes('training') && selector.bestGpuNodeForTraining()?.info.nodeId === self,
      usesModels: caps.some(x => x === 'gauntlet' || x === 'tournament' || x === 'selfplay'),
      configsWithData,
      bestModelPaths: [...state.models().values()].map(m => m.path),
      myJobs
    })
  }
  const holder = (nodeId: string): { alive: boolean, load: number, connected?: boolean } => {
    const v = views.nodeViews().find(n => n.info.nodeId === nodeId)
    if (v === undefined) return { alive: false, load: Number.POSITIVE_INFINITY }
    return { alive: v.health === 'ALIVE', load: loadScore(v.load, v.info.hardware.hasGpu, weights), ...(c.connected !== undefined ? { connected: c.connected(nodeId) } : {}) }
  }
  return new SyncPlanner({
    state, scanner: data.scanner, client: data.client, wants, holder, diskPercent: () => c.load.last().diskPercent, clock: c.clock, logger: c.logger
  }, syncPlannerInit(cfg))
}

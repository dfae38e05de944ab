import { describe, expect, it } from 'vitest'
import { CONFIG_KEYS, configValue, resolveConfig, type RiftmeshConfig } from '../../../src/config/index.js'
import {
  jobLeaderInit, nodeSelectorInit, selfplaySchedulerInit, syncPlannerInit, trainingCoordinatorInit
} from '../../../src/node/manager-init.js'

const ctx = { cwd: '/srv/node', homeDir: null }
const INITS = {
  selector: nodeSelectorInit, scheduler: selfplaySchedulerInit, training: trainingCoordinatorInit, jobLeader: jobLeaderInit, sync: syncPlannerInit
} satisfies Record<string, (cfg: RiftmeshConfig) => object>
type Manager = keyof typeof INITS

/** Config key, a value unlike its default, where it lands (manager, path in its init), and what is there when not the value itself. */
const MAPPING: Array<[string, unknown, Manager, string, unknown?]> = [
  ['selector.rankingCacheMs', 1_234, 'selector', 'rankingCacheMs'],
  ['selector.gpuScores', { H100: 2_100 }, 'selector', 'gpuScores.H100', 2_100],
  ['selector.unknownGpuScore', 7, 'selector', 'unknownGpuScore'],
  ['selector.trainingPrimaryCount', 9, 'selector', 'trainingPrimaryCount'],
  ['selector.cpuPrimaryCount', 4, 'selector', 'cpuPrimaryCount'],
  ['scheduler.minMemoryGbForTasks', 12, 'selector', 'minMemoryGbForTasks'],
  ['scheduler.minMemoryGbForTasks', 12, 'scheduler', 'target.minMemoryGbForTasks'],
  ['training.allowCpuTraining', true, 'selector', 'allowCpuTraining'],
  ['health.loadCpuWeight', 0.5, 'selector', 'loadWeights.cpu'],
  ['health.loadMemoryWeight', 0.2, 'selector', 'loadWeights.memory'],
  ['health.loadJobsWeight', 0.1, 'selector', 'loadWeights.jobs'],
  ['health.loadPercentPerJob', 10, 'selector', 'loadWeights.percentPerJob'],
  ['health.loadTrainingJobFactor', 3, 'selector', 'loadWeights.trainingJobFactor'],
  ['health.loadGpuWeight', 0.4, 'selector', 'loadWeights.gpu'],
  ['health.maxDiskPercentForWork', 60, 'selector', 'workRule.maxDiskPercent'],
  ['health.maxDiskPercentForWork', 60, 'scheduler', 'target.maxDiskPercent'],
  ['health.maxMemoryPercentForWork', 65, 'selector', 'workRule.maxMemoryPercent'],
  ['health.maxMemoryPercentForWork', 65, 'scheduler', 'target.maxMemoryPercent'],
  ['health.maxLoadScoreForWork', 70, 'selector', 'workRule.maxLoadScore'],
  ['scheduler.weightsCacheMs', 5_000, 'scheduler', 'weightsCacheMs'],
  ['scheduler.diversityWindow', 50, 'scheduler', 'diversityWindow'],
  ['scheduler.staticPriority', { hex8_2p: 1 }, 'scheduler', 'staticPriority.hex8_2p', 1],
  ['scheduler.largeBoardMinVramGb', 24, 'scheduler', 'priority.largeBoardMinVramGb'],
  ['scheduler.bootstrapBoost', true, 'scheduler', 'priority.bootstrap.enabled'],
  ['scheduler.stalenessBoost', true, 'scheduler', 'priority.staleness.enabled'],
  ['scheduler.plateauHalving', true, 'scheduler', 'priority.plateau.enabled'],
  ['scheduler.eloBoostBaseElo', 1_300, 'scheduler', 'priority.eloBoostBaseElo'],
  ['scheduler.eloBoostStepElo', 50, 'scheduler', 'priority.eloBoostStepElo'],
  ['scheduler.eloBoostMax', 5, 'scheduler', 'priority.eloBoostMax'],
  ['scheduler.defaultCurriculumWeight', 1.5, 'scheduler', 'priority.defaultCurriculumWeight'],
  ['scheduler.curriculumBoostScale', 2, 'scheduler', 'priority.curriculumBoostScale'],
  ['scheduler.curriculumBoostMin', -1, 'scheduler', 'priority.curriculumBoostMin'],
  ['scheduler.curriculumBoostMax', 2, 'scheduler', 'priority.curriculumBoostMax'],
  ['scheduler.boardBoost', { critical: 9, high: 4, medium: 2, low: 0 }, 'scheduler', 'priority.boardBoost'],
  ['scheduler.minEffectivePriority', 2, 'scheduler', 'priority.minEffectivePriority'],
  ['scheduler.selfplayJobCaps', [{ gpuMatch: ['H100'], cpuFraction: 0.1, maxJobs: 3 }], 'scheduler', 'target.caps'],
  ['scheduler.otherGpuJobCap', { cpuFraction: 0.1, maxJobs: 3 }, 'scheduler', 'target.otherGpuCap'],
  ['scheduler.cpuOnlyJobCap', { cpuFraction: 0.1, maxJobs: 3 }, 'scheduler', 'target.cpuOnlyCap'],
  ['scheduler.busyGpuPercent', 80, 'scheduler', 'target.busyGpuPercent'],
  ['scheduler.busyGpuPenaltyJobs', 3, 'scheduler', 'target.busyGpuPenaltyJobs'],
  ['scheduler.busyCpuPercent', 80, 'scheduler', 'target.busyCpuPercent'],
  ['scheduler.busyCpuPenaltyJobs', 3, 'scheduler', 'target.busyCpuPenaltyJobs'],
  ['scheduler.maxRampUpJobs', 3, 'scheduler', 'target.maxRampUpJobs'],
  ['scheduler.diskPressureMaxJobs', 3, 'scheduler', 'target.diskPressureMaxJobs'],
  ['scheduler.memoryPressureMaxJobs', 3, 'scheduler', 'target.memoryPressureMaxJobs'],
  ['scheduler.minTargetJobs', 2, 'scheduler', 'target.minTargetJobs'],
  ['scheduler.maxUntrainedGames', 5_000, 'scheduler', 'backpressure.maxUntrainedGames'],
  ['health.maxDiskPercentForWork', 60, 'scheduler', 'backpressure.maxTrainingDiskPercent'],
  ['training.minGames', 3_000, 'training', 'training.minGames'],
  ['training.incrementalGames', 1_500, 'training', 'training.incrementalGames'],
  ['training.cooldownMs', 120_000, 'training', 'training.cooldownMs'],
  ['training.thresholdScale', [{ maxGpuNodes: 3, factor: 0.9 }], 'training', 'training.thresholdScale'],
  ['training.thresholdScaleAbove', 0.2, 'training', 'training.thresholdScaleAbove'],
  ['training.minGamesFloor', 400, 'training', 'training.minGamesFloor'],
  ['training.incrementalGamesFloor', 100, 'training', 'training.incrementalGamesFloor'],
  ['training.dedupWindow', 50, 'training', 'training.dedupWindow'],
  ['training.maxDispatchAttempts', 5, 'training', 'training.maxDispatchAttempts'],
  ['training.retryBackoffMs', 30_000, 'training', 'training.retryBackoffMs'],
  ['training.promoteWinRate', 0.6, 'training', 'gauntlet.promoteWinRate'],
  ['training.firstModelWinRate', 0.45, 'training', 'gauntlet.firstModelWinRate'],
  ['training.gauntletDrawScore', 0.4, 'training', 'gauntlet.drawScore'],
  ['training.eloK', 16, 'training', 'gauntlet.eloK'],
  ['training.eloScale', 300, 'training', 'gauntlet.eloScale'],
  ['training.gauntletGamesPerSeat', 8, 'training', 'gauntletGamesPerSeat'],
  ['training.maxLeaderlessJobsPerNode', 2, 'training', 'maxLeaderlessJobsPerNode'],
  ['election.leaderlessTrainingTimeoutMs', 90_000, 'training', 'leaderlessTrainingTimeoutMs'],
  ['jobs.dispatchTimeoutMs', 100_000, 'jobLeader', 'cleanup.dispatchTimeoutMs'],
  ['jobs.jobHeartbeatTimeoutMs', 200_000, 'jobLeader', 'cleanup.jobHeartbeatTimeoutMs'],
  ['jobs.reassignBackoffMs', 10_000, 'jobLeader', 'cleanup.reassignBackoffMs'],
  ['jobs.reassignBackoffFactor', 3, 'jobLeader', 'cleanup.reassignBackoffFactor'],
  ['jobs.reassignBackoffMaxMs', 100_000, 'jobLeader', 'cleanup.reassignBackoffMaxMs'],
  ['jobs.maxReassignments', 5, 'jobLeader', 'cleanup.maxReassignments'],
  ['jobs.selfplayGamesPerJob', 7, 'jobLeader', 'selfplayGamesPerJob'],
  ['jobs.leaderlessSelfplayAfterMs', 20_000, 'jobLeader', 'leaderlessSelfplayAfterMs'],
  ['sync.manifestMaxEntries', 500, 'sync', 'manifestMaxEntries'],
  ['sync.manifestCacheAgeMs', 400_000, 'sync', 'manifestCacheAgeMs'],
  ['sync.maxFilesPerSyncJob', 20, 'sync', 'maxFilesPerSyncJob'],
  ['sync.maxSyncJobsPerNode', 2, 'sync', 'maxSyncJobsPerNode'],
  ['sync.mtimeToleranceMs', 5_000, 'sync', 'mtimeToleranceMs'],
  ['sync.maxDiskPercent', 80, 'sync', 'maxDiskPercent'],
  ['sync.retryBackoffMinMs', 2_000, 'sync', 'retryBackoffMinMs'],
  ['sync.retryBackoffMaxMs', 20_000, 'sync', 'retryBackoffMaxMs']
]

/** Keys of the managers' sections that no manager init takes, and who reads them instead. */
const READ_ELSEWHERE: Record<string, string> = {
  'training.readinessIntervalMs': 'the training loop period (buildManagers)',
  'scheduler.eloTarget': 'nothing yet',
  'jobs.cleanupIntervalMs': 'the jobs-cleanup loop period (buildManagers)',
  'jobs.selfplayDispatchIntervalMs': 'the selfplay-dispatch loop period (buildManagers)',
  'jobs.jobHeartbeatIntervalMs': 'the JobWorker and the job-heartbeat loop',
  'jobs.maxProcessesPerNode': 'the JobWorker',
  'jobs.admissionWaitMs': 'the JobWorker',
  'jobs.bucketMaxJobs': 'ClusterState',
  'jobs.bucketMaxAgeMs': 'ClusterState',
  'jobs.retentionMs': 'ClusterState',
  'jobs.spawnRatePerMinute': 'the process runner',
  'jobs.maxRuntimeMs': 'the process runner',
  'jobs.killGraceMs': 'the process runner',
  'jobs.maxLogBytes': 'the process runner'
}

function at (value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value)
}

describe('manager inits from a configuration alone', () => {
  it.each(MAPPING)('%s → %s init %s', (key, value, manager, path, expected = value) => {
    const defaults = INITS[manager](resolveConfig({}, ctx))
    const set = INITS[manager](resolveConfig({ flags: { [key]: value } }, ctx))
    expect(at(set, path)).toEqual(expected)
    expect(at(set, path)).not.toEqual(at(defaults, path))
  })

  it('maps every key of the training, selector, scheduler and jobs sections, or says who reads it instead', () => {
    const mapped = new Set(MAPPING.map(([key]) => key))
    const sections = [...CONFIG_KEYS.keys()].filter(k => /^(training|selector|scheduler|jobs)\./.test(k))
    expect(sections.filter(k => !mapped.has(k) && READ_ELSEWHERE[k] === undefined)).toEqual([])
    expect(Object.keys(READ_ELSEWHERE).filter(k => mapped.has(k) || !CONFIG_KEYS.has(k))).toEqual([])
  })

  it('the defaults give the same settings as a manager built without an init', () => {
    const cfg = resolveConfig({}, ctx)
    expect(trainingCoordinatorInit(cfg).training).toMatchObject({ cooldownMs: 300_000, maxDispatchAttempts: 3, retryBackoffMs: 60_000 })
    expect(jobLeaderInit(cfg).cleanup).toEqual({
      dispatchTimeoutMs: configValue(cfg, 'jobs.dispatchTimeoutMs'), jobHeartbeatTimeoutMs: 300_000, reassignBackoffMs: 30_000,
      reassignBackoffFactor: 2, reassignBackoffMaxMs: 300_000, maxReassignments: 3
    })
  })
})

/**
 * How a node's configuration sets up each manager: one function per manager, config in, init
 * out. `buildManagers` uses them, and so does anything else that wants a manager configured like
 * a real node (the simulator, tests, tools) — the mapping lives in one place only.
 */
import type { RiftmeshConfig } from '../config/index.js'
import type { JobLeaderInit } from '../managers/job-leader.js'
import type { NodeSelectorInit } from '../managers/node-selector.js'
import type { LoadWeights, WorkHealthRule } from '../managers/scores.js'
import type { SelfplaySchedulerInit } from '../managers/selfplay-scheduler.js'
import { DEFAULT_PRIORITY_PARAMS } from '../managers/selfplay.js'
import type { SyncPlannerInit } from '../managers/sync-planner.js'
import type { TrainingCoordinatorInit } from '../managers/training-coordinator.js'

export function loadWeights (cfg: RiftmeshConfig): LoadWeights {
  const h = cfg.health
  return { cpu: h.loadCpuWeight, memory: h.loadMemoryWeight, jobs: h.loadJobsWeight, percentPerJob: h.loadPercentPerJob, trainingJobFactor: h.loadTrainingJobFactor, gpu: h.loadGpuWeight }
}

export function workRule (cfg: RiftmeshConfig): WorkHealthRule {
  const h = cfg.health
  return { maxDiskPercent: h.maxDiskPercentForWork, maxMemoryPercent: h.maxMemoryPercentForWork, maxLoadScore: h.maxLoadScoreForWork }
}

export function nodeSelectorInit (cfg: RiftmeshConfig): NodeSelectorInit {
  const s = cfg.selector
  return {
    rankingCacheMs: s.rankingCacheMs,
    gpuScores: s.gpuScores,
    unknownGpuScore: s.unknownGpuScore,
    trainingPrimaryCount: s.trainingPrimaryCount,
    cpuPrimaryCount: s.cpuPrimaryCount,
    minMemoryGbForTasks: cfg.scheduler.minMemoryGbForTasks,
    loadWeights: loadWeights(cfg),
    workRule: workRule(cfg),
    allowCpuTraining: cfg.training.allowCpuTraining
  }
}

export function selfplaySchedulerInit (cfg: RiftmeshConfig): SelfplaySchedulerInit {
  const s = cfg.scheduler
  return {
    weightsCacheMs: s.weightsCacheMs,
    diversityWindow: s.diversityWindow,
    staticPriority: s.staticPriority,
    priority: {
      minEffectivePriority: s.minEffectivePriority,
      eloBoostBaseElo: s.eloBoostBaseElo,
      eloBoostStepElo: s.eloBoostStepElo,
      eloBoostMax: s.eloBoostMax,
      defaultCurriculumWeight: s.defaultCurriculumWeight,
      curriculumBoostScale: s.curriculumBoostScale,
      curriculumBoostMin: s.curriculumBoostMin,
      curriculumBoostMax: s.curriculumBoostMax,
      boardBoost: s.boardBoost,
      largeBoardMinVramGb: s.largeBoardMinVramGb,
      // the optional boosts' amounts have no setting: only whether each is on
      bootstrap: { ...DEFAULT_PRIORITY_PARAMS.bootstrap, enabled: s.bootstrapBoost },
      staleness: { ...DEFAULT_PRIORITY_PARAMS.staleness, enabled: s.stalenessBoost },
      plateau: { ...DEFAULT_PRIORITY_PARAMS.plateau, enabled: s.plateauHalving }
    },
    target: {
      minMemoryGbForTasks: s.minMemoryGbForTasks,
      caps: s.selfplayJobCaps,
      otherGpuCap: s.otherGpuJobCap,
      cpuOnlyCap: s.cpuOnlyJobCap,
      busyGpuPercent: s.busyGpuPercent,
      busyGpuPenaltyJobs: s.busyGpuPenaltyJobs,
      busyCpuPercent: s.busyCpuPercent,
      busyCpuPenaltyJobs: s.busyCpuPenaltyJobs,
      maxRampUpJobs: s.maxRampUpJobs,
      maxDiskPercent: cfg.health.maxDiskPercentForWork,
      diskPressureMaxJobs: s.diskPressureMaxJobs,
      maxMemoryPercent: cfg.health.maxMemoryPercentForWork,
      memoryPressureMaxJobs: s.memoryPressureMaxJobs,
      minTargetJobs: s.minTargetJobs
    },
    // the training nodes' disk limit is the one that stops them taking work (and so data)
    backpressure: { maxUntrainedGames: s.maxUntrainedGames, maxTrainingDiskPercent: cfg.health.maxDiskPercentForWork }
  }
}

export function trainingCoordinatorInit (cfg: RiftmeshConfig): TrainingCoordinatorInit {
  const t = cfg.training
  return {
    training: {
      minGames: t.minGames,
      incrementalGames: t.incrementalGames,
      cooldownMs: t.cooldownMs,
      thresholdScale: t.thresholdScale,
      thresholdScaleAbove: t.thresholdScaleAbove,
      minGamesFloor: t.minGamesFloor,
      incrementalGamesFloor: t.incrementalGamesFloor,
      dedupWindow: t.dedupWindow,
      maxDispatchAttempts: t.maxDispatchAttempts,
      retryBackoffMs: t.retryBackoffMs
    },
    gauntlet: { promoteWinRate: t.promoteWinRate, firstModelWinRate: t.firstModelWinRate, drawScore: t.gauntletDrawScore, eloK: t.eloK, eloScale: t.eloScale },
    gauntletGamesPerSeat: t.gauntletGamesPerSeat,
    leaderlessTrainingTimeoutMs: cfg.election.leaderlessTrainingTimeoutMs,
    maxLeaderlessJobsPerNode: t.maxLeaderlessJobsPerNode
  }
}

export function jobLeaderInit (cfg: RiftmeshConfig): JobLeaderInit {
  const j = cfg.jobs
  return {
    cleanup: {
      dispatchTimeoutMs: j.dispatchTimeoutMs,
      jobHeartbeatTimeoutMs: j.jobHeartbeatTimeoutMs,
      reassignBackoffMs: j.reassignBackoffMs,
      reassignBackoffFactor: j.reassignBackoffFactor,
      reassignBackoffMaxMs: j.reassignBackoffMaxMs,
      maxReassignments: j.maxReassignments
    },
    selfplayGamesPerJob: j.selfplayGamesPerJob,
    leaderlessSelfplayAfterMs: j.leaderlessSelfplayAfterMs
  }
}

export function syncPlannerInit (cfg: RiftmeshConfig): SyncPlannerInit {
  const s = cfg.sync
  return {
    manifestMaxEntries: s.manifestMaxEntries,
    manifestCacheAgeMs: s.manifestCacheAgeMs,
    maxFilesPerSyncJob: s.maxFilesPerSyncJob,
    maxSyncJobsPerNode: s.maxSyncJobsPerNode,
    mtimeToleranceMs: s.mtimeToleranceMs,
    maxDiskPercent: s.maxDiskPercent,
    retryBackoffMinMs: s.retryBackoffMinMs,
    retryBackoffMaxMs: s.retryBackoffMaxMs
  }
}

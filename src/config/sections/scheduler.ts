/** `scheduler`: selfplay config weighting and how many selfplay jobs a node targets. */
import { z } from 'zod'
import * as D from '../defaults.js'
import * as V from '../../core/vocabulary.js'
import { bool, field, fixedMap, int, json, ms, num, percent } from '../fields.js'

const gpuMatch = z.string().min(1).max(64).regex(/^[A-Z0-9][A-Z0-9 ._-]*$/)
const cpuFraction = z.number().gt(0).max(4)
const maxJobs = z.number().int().min(1).max(4_096)
const capText = 'cpuFraction: a number > 0 and ≤ 4, maxJobs: an integer from 1 to 4096'
const capSchema = z.strictObject({ cpuFraction, maxJobs })

export const schedulerFields = {
  weightsCacheMs: field(ms(0), D.DEFAULT_WEIGHTS_CACHE_MS,
    'How long computed config weights, and the cluster\'s games per config that backpressure counts, are reused.'),
  diversityWindow: field(int(1, 100_000, 'selections'), D.DEFAULT_DIVERSITY_WINDOW,
    'Number of recent selections the diversity metrics count over.'),
  minMemoryGbForTasks: field(num(0, 100_000, 'GB'), D.DEFAULT_MIN_MEMORY_GB_FOR_TASKS,
    'Nodes with less memory get no selfplay or training work.'),
  largeBoardMinVramGb: field(num(0, 100_000, 'GB'), D.DEFAULT_LARGE_BOARD_MIN_VRAM_GB,
    'Large boards (square19, hexagonal) only go to nodes with at least this much VRAM, when VRAM is known.'),
  staticPriority: field(fixedMap(V.BOARD_CONFIGS, int(0, 100, 'priority'), 'each board config'), D.DEFAULT_STATIC_PRIORITY,
    'Base selection priority of each board config.'),
  bootstrapBoost: field(bool(), D.DEFAULT_BOOTSTRAP_BOOST, 'Boost configs that have very few games.'),
  stalenessBoost: field(bool(), D.DEFAULT_STALENESS_BOOST, 'Boost configs by hours since their last dispatch.'),
  plateauHalving: field(bool(), D.DEFAULT_PLATEAU_HALVING, 'Halve the priority of configs whose Elo has plateaued.'),
  eloTarget: field(int(0, 10_000, 'Elo'), D.DEFAULT_ELO_TARGET, 'Elo a config aims for.'),
  eloBoostBaseElo: field(int(0, 10_000, 'Elo'), D.DEFAULT_ELO_BOOST_BASE_ELO,
    'The Elo boost is min(max, floor((elo − base) / step)) above this Elo, else 0.'),
  eloBoostStepElo: field(int(1, 10_000, 'Elo'), D.DEFAULT_ELO_BOOST_STEP_ELO, 'Elo per point of Elo boost.'),
  eloBoostMax: field(int(0, 100, 'priority'), D.DEFAULT_ELO_BOOST_MAX, 'Largest Elo boost.'),
  defaultCurriculumWeight: field(num(0, 100, 'weight'), D.DEFAULT_CURRICULUM_WEIGHT,
    'Curriculum weight of a config that has none set.'),
  curriculumBoostScale: field(num(0, 100, 'priority per weight'), D.DEFAULT_CURRICULUM_BOOST_SCALE,
    'Curriculum boost = clamp(trunc((w − 1) · scale), min, max).'),
  curriculumBoostMin: field(int(-100, 0, 'priority'), D.DEFAULT_CURRICULUM_BOOST_MIN, 'Lowest curriculum boost.'),
  curriculumBoostMax: field(int(0, 100, 'priority'), D.DEFAULT_CURRICULUM_BOOST_MAX, 'Highest curriculum boost.'),
  boardBoost: field(fixedMap(V.BOARD_PRIORITY_LEVELS, int(0, 100, 'priority'), 'each board override level'), D.DEFAULT_BOARD_BOOST,
    'Priority added by a board override level (configs without an override are "low").'),
  minEffectivePriority: field(int(1, 100, 'priority'), D.DEFAULT_MIN_EFFECTIVE_PRIORITY,
    'Floor of a config\'s effective priority.'),
  selfplayJobCaps: field(
    json(z.array(z.strictObject({ gpuMatch: z.array(gpuMatch).min(1).max(16), cpuFraction, maxJobs: maxJobs.nullable() })).max(32),
      `a list of at most 32 rows { gpuMatch: [upper-case GPU name substrings], ${capText} or null }`),
    D.DEFAULT_SELFPLAY_JOB_CAPS,
    'Selfplay job cap of a GPU node: the first row with a gpuMatch substring in the upper-cased GPU name gives min(cpuFraction·cpuCount, maxJobs).'),
  otherGpuJobCap: field(json(capSchema, `{ ${capText} }`), D.DEFAULT_OTHER_GPU_JOB_CAP,
    'Selfplay job cap of a GPU node that matches no selfplayJobCaps row.'),
  cpuOnlyJobCap: field(json(capSchema, `{ ${capText} }`), D.DEFAULT_CPU_ONLY_JOB_CAP,
    'Selfplay job cap of a node without a GPU.'),
  busyGpuPercent: field(percent(), D.DEFAULT_BUSY_GPU_PERCENT, 'GPU or GPU memory use above which the target drops.'),
  busyGpuPenaltyJobs: field(int(0, 1_000, 'jobs'), D.DEFAULT_BUSY_GPU_PENALTY_JOBS, 'Jobs taken off the target on a busy GPU.'),
  busyCpuPercent: field(percent(), D.DEFAULT_BUSY_CPU_PERCENT, 'CPU use above which the target drops.'),
  busyCpuPenaltyJobs: field(int(0, 1_000, 'jobs'), D.DEFAULT_BUSY_CPU_PENALTY_JOBS, 'Jobs taken off the target on a busy CPU.'),
  maxRampUpJobs: field(int(1, 1_000, 'jobs'), D.DEFAULT_MAX_RAMP_UP_JOBS,
    'The target rises at most this much above the current job count.'),
  diskPressureMaxJobs: field(int(0, 1_000, 'jobs'), D.DEFAULT_DISK_PRESSURE_MAX_JOBS,
    'Target cap while disk use is at or above health.maxDiskPercentForWork.'),
  memoryPressureMaxJobs: field(int(0, 1_000, 'jobs'), D.DEFAULT_MEMORY_PRESSURE_MAX_JOBS,
    'Target cap while memory use is at or above health.maxMemoryPercentForWork.'),
  minTargetJobs: field(int(0, 1_000, 'jobs'), D.DEFAULT_MIN_TARGET_JOBS,
    'Floor of the target for a node that may run selfplay at all.'),
  maxUntrainedGames: field(int(1, 1_000_000_000, 'games'), D.DEFAULT_MAX_UNTRAINED_GAMES,
    'Backpressure: no new selfplay anywhere while the games no training has used yet reach this (per config, cluster games minus the games of its last completed training; summed over configs). Running jobs finish.')
}

/** `health`: heartbeats, failure detection, "healthy for work" and the load score. */
import * as D from '../defaults.js'
import { field, ms, num, percent } from '../fields.js'

const weight = (): ReturnType<typeof num> => num(0, 1, 'weight')

export const healthFields = {
  heartbeatIntervalMs: field(ms(1), D.DEFAULT_HEARTBEAT_INTERVAL_MS, 'How often a node publishes its heartbeat.'),
  suspectAfterMs: field(ms(1), D.DEFAULT_SUSPECT_AFTER_MS,
    'A peer whose last heartbeat is older than this is SUSPECT (still counted alive, gets no new work).'),
  deadAfterMs: field(ms(1), D.DEFAULT_DEAD_AFTER_MS,
    'A peer whose last heartbeat is older than this is DEAD. Every node must use the same value.'),
  maxClockSkewMs: field(ms(1), D.DEFAULT_MAX_CLOCK_SKEW_MS,
    'Warn (log, status, metric) when a peer\'s clock, read from its heartbeats, differs from this node\'s by more than this.'),
  cpuHighPercent: field(percent(), D.DEFAULT_CPU_HIGH_PERCENT,
    'CPU use at or above which a peer\'s deadAfterMs is stretched by cpuStretch80.'),
  cpuCriticalPercent: field(percent(), D.DEFAULT_CPU_CRITICAL_PERCENT,
    'CPU use at or above which a peer\'s deadAfterMs is stretched by cpuStretch95.'),
  cpuStretch80: field(num(1, 10, 'multiplier'), D.DEFAULT_CPU_STRETCH_80,
    'deadAfterMs multiplier for a peer that last reported CPU ≥ cpuHighPercent.'),
  cpuStretch95: field(num(1, 10, 'multiplier'), D.DEFAULT_CPU_STRETCH_95,
    'deadAfterMs multiplier for a peer that last reported CPU ≥ cpuCriticalPercent.'),
  maxDiskPercentForWork: field(percent(), D.DEFAULT_MAX_DISK_PERCENT_FOR_WORK,
    'A node is healthy for work only while its disk use is below this. When every training node is at or above it, no new selfplay is dispatched anywhere (backpressure: no training node can take the data).'),
  maxMemoryPercentForWork: field(percent(), D.DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK,
    'A node is healthy for work only while its memory use is below this.'),
  maxLoadScoreForWork: field(num(0, 100, 'load score'), D.DEFAULT_MAX_LOAD_SCORE_FOR_WORK,
    'A node is healthy for work only while its load score is below this.'),
  loadCpuWeight: field(weight(), D.DEFAULT_LOAD_CPU_WEIGHT, 'Weight of CPU % in the load score.'),
  loadMemoryWeight: field(weight(), D.DEFAULT_LOAD_MEMORY_WEIGHT, 'Weight of memory % in the load score.'),
  loadJobsWeight: field(weight(), D.DEFAULT_LOAD_JOBS_WEIGHT,
    'Weight of the job term min(100, (selfplayJobs + factor·trainingJobs) · percentPerJob) in the load score.'),
  loadPercentPerJob: field(num(0, 100, 'percent per job'), D.DEFAULT_LOAD_PERCENT_PER_JOB,
    'Load percent one job unit adds to the job term of the load score.'),
  loadTrainingJobFactor: field(num(0, 100, 'job units'), D.DEFAULT_LOAD_TRAINING_JOB_FACTOR,
    'Job units one training job counts for in the load score (a selfplay job counts 1).'),
  loadGpuWeight: field(weight(), D.DEFAULT_LOAD_GPU_WEIGHT,
    'On a GPU node with GPU % > 0: load = (1 − w)·load + w·gpu%.')
}

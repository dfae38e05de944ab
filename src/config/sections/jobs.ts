/** `jobs`: job buckets, timeouts, reassignment, spawn limits, process limits. */
import * as D from '../defaults.js'
import * as V from '../../core/vocabulary.js'
import { bytes, field, fixedMap, int, ms, num } from '../fields.js'

export const jobsFields = {
  bucketMaxJobs: field(int(1, 100_000, 'dispatches'), D.DEFAULT_BUCKET_MAX_JOBS,
    'A jobs bucket document is sealed after this many dispatches.'),
  bucketMaxAgeMs: field(ms(1), D.DEFAULT_BUCKET_MAX_AGE_MS,
    'A dispatcher seals its open jobs bucket after this age.'),
  retentionMs: field(ms(1), D.DEFAULT_JOB_RETENTION_MS,
    'Finished job records leave the cluster document this long after they end.'),
  dispatchTimeoutMs: field(ms(1), D.DEFAULT_DISPATCH_TIMEOUT_MS,
    'A PENDING job not started within this time becomes EXPIRED.'),
  jobHeartbeatTimeoutMs: field(ms(1), D.DEFAULT_JOB_HEARTBEAT_TIMEOUT_MS,
    'A RUNNING job without a job heartbeat for this long is stale and cleaned up.'),
  reassignBackoffMs: field(ms(1), D.DEFAULT_REASSIGN_BACKOFF_MS,
    'Delay before the first reassignment of a stale job.'),
  reassignBackoffFactor: field(num(1, 10, 'multiplier'), D.DEFAULT_REASSIGN_BACKOFF_FACTOR,
    'Each further reassignment waits this many times longer.'),
  reassignBackoffMaxMs: field(ms(1), D.DEFAULT_REASSIGN_BACKOFF_MAX_MS, 'Cap on the reassignment delay.'),
  maxReassignments: field(int(0, 100, 'reassignments'), D.DEFAULT_MAX_REASSIGNMENTS,
    'After this many reassignments a stale job is permanently FAILED.'),
  cleanupIntervalMs: field(ms(1), D.DEFAULT_CLEANUP_INTERVAL_MS, 'Period of the stale-job cleanup loop.'),
  spawnRatePerMinute: field(int(1, 10_000, 'processes per minute'), D.DEFAULT_SPAWN_RATE_PER_MINUTE,
    'Most job processes a node starts per minute.'),
  maxProcessesPerNode: field(int(1, 4_096, 'processes'), D.DEFAULT_MAX_PROCESSES_PER_NODE,
    'Most job processes running at once on a node; further starts are refused.'),
  maxRuntimeMs: field(fixedMap(V.JOB_TYPE_NAMES, ms(1), 'each job type'), D.DEFAULT_MAX_RUNTIME_MS,
    'Longest a job of each type may run before it is cancelled.'),
  killGraceMs: field(ms(1), D.DEFAULT_KILL_GRACE_MS,
    'On cancel a job gets SIGTERM, then SIGKILL after this grace period.'),
  selfplayDispatchIntervalMs: field(ms(1), D.DEFAULT_SELFPLAY_DISPATCH_INTERVAL_MS,
    'How often the leader dispatches selfplay to fill each node\'s target.'),
  selfplayGamesPerJob: field(int(1, 1_000_000, 'games'), D.DEFAULT_SELFPLAY_GAMES_PER_JOB, 'Games one selfplay job plays.'),
  jobHeartbeatIntervalMs: field(ms(1), D.DEFAULT_JOB_HEARTBEAT_INTERVAL_MS, 'How often a running job\'s heartbeat is written into its record.'),
  leaderlessSelfplayAfterMs: field(ms(1), D.DEFAULT_LEADERLESS_SELFPLAY_AFTER_MS,
    'Without a known leader for this long, a node dispatches selfplay to itself.'),
  admissionWaitMs: field(ms(0), D.DEFAULT_ADMISSION_WAIT_MS,
    'A dispatch whose epoch holder this node cannot see yet waits this long before it is refused.'),
  maxLogBytes: field(bytes(1_024), D.DEFAULT_MAX_LOG_BYTES,
    'Largest stdout/stderr log file of one job; output beyond it is dropped.')
}

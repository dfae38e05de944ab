/**
 * Every default of a riftmesh node's configuration, one named constant each, grouped by
 * section. The JSDoc names the config key the constant is the default of. Numbers marked REF
 * come from docs REFERENCE.md ("every number below is a config default, not a constant in code").
 */
import type { LogLevel } from '../core/logger.js'
import type {
  BOARD_PRIORITY_LEVELS, BoardConfigName, CapabilityName, ELECTION_MODES, ELIGIBILITY_RULES, JobTypeName
} from '../core/vocabulary.js'

const SECOND_MS = 1_000
const MINUTE_MS = 60 * SECOND_MS
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS
const MIB = 1_024 * 1_024

/** Environment variables that set config keys start with this. */
export const ENV_PREFIX = 'RIFTMESH_'
/** Environment variable naming the config file when `loadConfig` gets no `file`. */
export const CONFIG_FILE_ENV = 'RIFTMESH_CONFIG'
/** A config file larger than this is refused. */
export const MAX_CONFIG_FILE_BYTES = 1 * MIB

// ---- node ------------------------------------------------------------------------------------
/** node.dataDir is `<homeDir>/<this>` (or `<cwd>/<this>` without a home dir). @default '.riftmesh' */
export const DEFAULT_DATA_DIR_NAME = '.riftmesh'
/** node.clusterName. @default 'default' */
export const DEFAULT_CLUSTER_NAME = 'default'
/** node.listen. @default ['/ip4/0.0.0.0/tcp/4100'] */
export const DEFAULT_LISTEN_ADDRS: readonly string[] = ['/ip4/0.0.0.0/tcp/4100']
/** node.bootstrap. @default [] */
export const DEFAULT_BOOTSTRAP_ADDRS: readonly string[] = []
/** node.announce: addresses advertised instead of the listen addresses (none: the listen addresses). @default [] */
export const DEFAULT_ANNOUNCE_ADDRS: readonly string[] = []
/** node.noAnnounce: address ranges never advertised. @default [] */
export const DEFAULT_NO_ANNOUNCE: readonly string[] = []
/** node.mdns: find peers of the same swarm key on the LAN by multicast DNS. @default false */
export const DEFAULT_MDNS = false
/**
 * node.upnp: ask the LAN's UPnP gateway (a home or office router) to publish the listen port and
 * advertise the mapped address. Off: it opens a port on the router for the whole internet, and on
 * a network without a gateway (clouds, data centres) it sends SSDP searches forever for nothing.
 * @default false
 */
export const DEFAULT_UPNP = false
/** node.relay: 'auto' serves relays and reserves on two when not dialable from outside; 'off' neither. @default 'auto' */
export const DEFAULT_RELAY_MODE = 'auto'
/** node.relayReservations: relays an unreachable node holds a reservation on. @default 2 */
export const DEFAULT_RELAY_RESERVATIONS = 2
/** node.relayMaxReservations: reservations one relay grants at most. @default 128 */
export const DEFAULT_RELAY_MAX_RESERVATIONS = 128
/** node.relayMaxBytes: bytes one relayed connection carries before the relay resets it (both ways). @default 268_435_456 (256 MiB) */
export const DEFAULT_RELAY_MAX_BYTES = 256 * 1024 * 1024
/** node.relayMaxDurationMs: longest life of one relayed connection; the peer manager dials a new one. @default 1_800_000 (30 min) */
export const DEFAULT_RELAY_MAX_DURATION_MS = 30 * 60_000
/** node.swarmKeyFile; null means `<dataDir>/swarm.key`. @default null */
export const DEFAULT_SWARM_KEY_FILE: string | null = null
/** File name of the swarm key inside the data dir. @default 'swarm.key' */
export const DEFAULT_SWARM_KEY_FILE_NAME = 'swarm.key'
/** node.logLevel. @default 'info' */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
/** node.metricsPort; 0 turns the metrics endpoint off. @default 0 */
export const DEFAULT_METRICS_PORT = 0
/** node.metricsHost: address the metrics endpoint listens on. @default '127.0.0.1' */
export const DEFAULT_METRICS_HOST = '127.0.0.1'
/** node.metricsHistoryIntervalMs: between two metrics history samples in LevelDB; 0 keeps none. @default 60_000 */
export const DEFAULT_METRICS_HISTORY_INTERVAL_MS = 60 * SECOND_MS
/** node.capabilities; null derives them from the hardware. @default null */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] | null = null
/** node.leaderEligible. @default true */
export const DEFAULT_LEADER_ELIGIBLE = true
/** node.cpuPowerMultiplier (CPU power score = cpuCount × this; REF). @default 1 */
export const DEFAULT_CPU_POWER_MULTIPLIER = 1

// ---- mesh ------------------------------------------------------------------------------------
/** mesh.coalesceWindowMs. @default 30 */
export const DEFAULT_COALESCE_WINDOW_MS = 30
/** mesh.maxCoalesceDelayMs. @default 200 */
export const DEFAULT_MAX_COALESCE_DELAY_MS = 200
/** mesh.maxGossipMessageBytes. @default 1_048_576 (1 MiB) */
export const DEFAULT_MAX_GOSSIP_MESSAGE_BYTES = 1 * MIB
/** mesh.maxStreamMessageBytes. @default 67_108_864 (64 MiB) */
export const DEFAULT_MAX_STREAM_MESSAGE_BYTES = 64 * MIB
/** mesh.antiEntropyIntervalMs. @default 10_000 */
export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 10 * SECOND_MS
/** mesh.syncTimeoutMs. @default 10_000 */
export const DEFAULT_MESH_SYNC_TIMEOUT_MS = 10 * SECOND_MS
/** mesh.maxPeers. @default 200 */
export const DEFAULT_MAX_PEERS = 200

// ---- health ----------------------------------------------------------------------------------
/** health.heartbeatIntervalMs. @default 1_000 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1 * SECOND_MS
/** health.suspectAfterMs. @default 3_000 */
export const DEFAULT_SUSPECT_AFTER_MS = 3 * SECOND_MS
/** health.deadAfterMs. @default 5_000 */
export const DEFAULT_DEAD_AFTER_MS = 5 * SECOND_MS
/** health.maxClockSkewMs: a peer whose heartbeats show its clock this far from ours is warned about. @default 10_000 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 10 * SECOND_MS
/** health.cpuHighPercent (REF: CPU ≥ 80 % stretches deadAfter). @default 80 */
export const DEFAULT_CPU_HIGH_PERCENT = 80
/** health.cpuCriticalPercent (REF: CPU ≥ 95 %). @default 95 */
export const DEFAULT_CPU_CRITICAL_PERCENT = 95
/** health.cpuStretch80 (REF ×1.2). @default 1.2 */
export const DEFAULT_CPU_STRETCH_80 = 1.2
/** health.cpuStretch95 (REF ×1.4). @default 1.4 */
export const DEFAULT_CPU_STRETCH_95 = 1.4
/** health.maxDiskPercentForWork (REF: healthy while disk < 70 %). @default 70 */
export const DEFAULT_MAX_DISK_PERCENT_FOR_WORK = 70
/** health.maxMemoryPercentForWork (REF: memory < 75 %). @default 75 */
export const DEFAULT_MAX_MEMORY_PERCENT_FOR_WORK = 75
/** health.maxLoadScoreForWork (REF: load score < 80). @default 80 */
export const DEFAULT_MAX_LOAD_SCORE_FOR_WORK = 80
/** health.loadCpuWeight (REF 0.4·cpu%). @default 0.4 */
export const DEFAULT_LOAD_CPU_WEIGHT = 0.4
/** health.loadMemoryWeight (REF 0.3·mem%). @default 0.3 */
export const DEFAULT_LOAD_MEMORY_WEIGHT = 0.3
/** health.loadJobsWeight (REF 0.3·jobs term). @default 0.3 */
export const DEFAULT_LOAD_JOBS_WEIGHT = 0.3
/** health.loadPercentPerJob (REF ×12.5 per job unit). @default 12.5 */
export const DEFAULT_LOAD_PERCENT_PER_JOB = 12.5
/** health.loadTrainingJobFactor (REF: a training job counts 2 units). @default 2 */
export const DEFAULT_LOAD_TRAINING_JOB_FACTOR = 2
/** health.loadGpuWeight (REF: GPU node 0.7·load + 0.3·gpu%). @default 0.3 */
export const DEFAULT_LOAD_GPU_WEIGHT = 0.3

// ---- store -----------------------------------------------------------------------------------
/** store.compactAfterBytes. @default 4_194_304 (4 MiB) */
export const DEFAULT_COMPACT_AFTER_BYTES = 4 * MIB
/** store.syncWrites. @default true */
export const DEFAULT_SYNC_WRITES = true
/** store.persistRetryMaxMs: longest wait between two tries of a failed document write. @default 5_000 */
export const DEFAULT_PERSIST_RETRY_MAX_MS = 5 * SECOND_MS
/** store.maxUnpersistedBytes: document updates kept in memory while writes fail, before they collapse into snapshots. @default 67_108_864 (64 MiB) */
export const DEFAULT_MAX_UNPERSISTED_BYTES = 64 * MIB
/** store.jobHistoryMax. @default 100_000 */
export const DEFAULT_JOB_HISTORY_MAX = 100_000
/** store.metricsHistoryMax. @default 100_000 */
export const DEFAULT_METRICS_HISTORY_MAX = 100_000
/** store.peerCacheMax (REF ≤ 200 entries). @default 200 */
export const DEFAULT_PEER_CACHE_MAX = 200
/** store.peerCacheTtlMs (REF 7 days). @default 604_800_000 */
export const DEFAULT_PEER_CACHE_TTL_MS = 7 * DAY_MS
/** store.reputationAlpha (REF EWMA α = 0.2). @default 0.2 */
export const DEFAULT_REPUTATION_ALPHA = 0.2
/** store.staleJobAgeMs (REF 24 h). @default 86_400_000 */
export const DEFAULT_STALE_JOB_AGE_MS = 24 * HOUR_MS
/** store.stalePeerAgeMs (REF 5 min). @default 300_000 */
export const DEFAULT_STALE_PEER_AGE_MS = 5 * MINUTE_MS

// ---- jobs ------------------------------------------------------------------------------------
/** jobs.bucketMaxJobs. @default 500 */
export const DEFAULT_BUCKET_MAX_JOBS = 500
/** jobs.bucketMaxAgeMs. @default 3_600_000 */
export const DEFAULT_BUCKET_MAX_AGE_MS = 1 * HOUR_MS
/** jobs.retentionMs. @default 600_000 */
export const DEFAULT_JOB_RETENTION_MS = 10 * MINUTE_MS
/** jobs.dispatchTimeoutMs (REF: PENDING → EXPIRED after 5 min). @default 300_000 */
export const DEFAULT_DISPATCH_TIMEOUT_MS = 5 * MINUTE_MS
/** jobs.jobHeartbeatTimeoutMs (REF: RUNNING without heartbeat for 5 min is stale). @default 300_000 */
export const DEFAULT_JOB_HEARTBEAT_TIMEOUT_MS = 5 * MINUTE_MS
/** jobs.reassignBackoffMs (REF 30 s). @default 30_000 */
export const DEFAULT_REASSIGN_BACKOFF_MS = 30 * SECOND_MS
/** jobs.reassignBackoffFactor (REF 30 s, 60 s, 120 s, …). @default 2 */
export const DEFAULT_REASSIGN_BACKOFF_FACTOR = 2
/** jobs.reassignBackoffMaxMs (REF 300 s). @default 300_000 */
export const DEFAULT_REASSIGN_BACKOFF_MAX_MS = 300 * SECOND_MS
/** jobs.maxReassignments (REF 3). @default 3 */
export const DEFAULT_MAX_REASSIGNMENTS = 3
/** jobs.cleanupIntervalMs (REF 60 s). @default 60_000 */
export const DEFAULT_CLEANUP_INTERVAL_MS = 60 * SECOND_MS
/** jobs.spawnRatePerMinute (REF 5 per minute per node). @default 5 */
export const DEFAULT_SPAWN_RATE_PER_MINUTE = 5
/** jobs.maxProcessesPerNode. @default 32 */
export const DEFAULT_MAX_PROCESSES_PER_NODE = 32
/**
 * jobs.maxRuntimeMs per job type (REF: selfplay 45 min, training 24 h, gauntlet 1 h,
 * tournament 2 h; export and sync 1 h).
 * @default { selfplay: 2_700_000, training: 86_400_000, export: 3_600_000, gauntlet: 3_600_000, tournament: 7_200_000, sync: 3_600_000 }
 */
export const DEFAULT_MAX_RUNTIME_MS: Readonly<Record<JobTypeName, number>> = {
  selfplay: 45 * MINUTE_MS,
  training: 24 * HOUR_MS,
  export: 1 * HOUR_MS,
  gauntlet: 1 * HOUR_MS,
  tournament: 2 * HOUR_MS,
  sync: 1 * HOUR_MS
}
/** jobs.killGraceMs. @default 10_000 */
export const DEFAULT_KILL_GRACE_MS = 10 * SECOND_MS
/** jobs.selfplayDispatchIntervalMs: how often the leader fills the nodes' selfplay targets. @default 10_000 */
export const DEFAULT_SELFPLAY_DISPATCH_INTERVAL_MS = 10 * SECOND_MS
/** jobs.selfplayGamesPerJob. @default 200 */
export const DEFAULT_SELFPLAY_GAMES_PER_JOB = 200
/** jobs.jobHeartbeatIntervalMs: how often a running job's heartbeat is written. @default 60_000 */
export const DEFAULT_JOB_HEARTBEAT_INTERVAL_MS = 60 * SECOND_MS
/** jobs.leaderlessSelfplayAfterMs: without a leader this long, a node runs selfplay of its own. @default 30_000 */
export const DEFAULT_LEADERLESS_SELFPLAY_AFTER_MS = 30 * SECOND_MS
/** jobs.admissionWaitMs: a dispatch whose epoch holder is not visible yet waits this long before it is refused. @default 30_000 */
export const DEFAULT_ADMISSION_WAIT_MS = 30 * SECOND_MS
/** jobs.maxLogBytes. @default 10_485_760 (10 MiB) */
export const DEFAULT_MAX_LOG_BYTES = 10 * MIB

// ---- trust -----------------------------------------------------------------------------------
/** trust.operators. @default [] */
export const DEFAULT_OPERATORS: readonly string[] = []

// ---- election --------------------------------------------------------------------------------
/** election.voters. @default [] */
export const DEFAULT_VOTERS: readonly string[] = []
/** election.mode. @default 'majority' */
export const DEFAULT_ELECTION_MODE: typeof ELECTION_MODES[number] = 'majority'
/** election.leaseMs. @default 4_000 */
export const DEFAULT_LEASE_MS = 4 * SECOND_MS
/** election.renewIntervalMs. @default 1_000 */
export const DEFAULT_RENEW_INTERVAL_MS = 1 * SECOND_MS
/** election.driftMarginMs. @default 400 */
export const DEFAULT_DRIFT_MARGIN_MS = 400
/** election.backoffMinMs. @default 200 */
export const DEFAULT_ELECTION_BACKOFF_MIN_MS = 200
/** election.backoffMaxMs. @default 1_500 */
export const DEFAULT_ELECTION_BACKOFF_MAX_MS = 1_500
/** election.leaderlessTrainingTimeoutMs (REF 180 s). @default 180_000 */
export const DEFAULT_LEADERLESS_TRAINING_TIMEOUT_MS = 180 * SECOND_MS
/** election.eligibility. @default 'all' */
export const DEFAULT_ELIGIBILITY: typeof ELIGIBILITY_RULES[number] = 'all'
/** election.preferredLeader. @default null */
export const DEFAULT_PREFERRED_LEADER: string | null = null

// ---- selector --------------------------------------------------------------------------------
/** selector.rankingCacheMs (REF 10 s). @default 10_000 */
export const DEFAULT_RANKING_CACHE_MS = 10 * SECOND_MS
/** selector.trainingPrimaryCount (REF count=5). @default 5 */
export const DEFAULT_TRAINING_PRIMARY_COUNT = 5
/** selector.cpuPrimaryCount (REF count=3). @default 3 */
export const DEFAULT_CPU_PRIMARY_COUNT = 3
/**
 * selector.gpuScores: GPU power per device, keyed by a substring of the upper-cased GPU name;
 * longer keys are checked first (REF table).
 * @default { B200: 4500, H200: 2500, H100: 2000, GH200: 1900, A100: 624, … 'APPLE M3': 30, M2: 25, M1: 20 }
 */
export const DEFAULT_GPU_SCORES: Readonly<Record<string, number>> = {
  B200: 4500,
  H200: 2500,
  H100: 2000,
  GH200: 1900,
  A100: 624,
  L40S: 420,
  L40: 362,
  'RTX 5090': 419,
  4090: 330,
  5080: 300,
  A10G: 250,
  A10: 250,
  4080: 242,
  5070: 200,
  4070: 184,
  3090: 142,
  V100: 125,
  4060: 120,
  3080: 119,
  3070: 81,
  3060: 51,
  'APPLE M3': 30,
  M2: 25,
  M1: 20
}
/** selector.unknownGpuScore (REF 10). @default 10 */
export const DEFAULT_UNKNOWN_GPU_SCORE = 10

// ---- scheduler -------------------------------------------------------------------------------
/** scheduler.weightsCacheMs (REF 60 s). @default 60_000 */
export const DEFAULT_WEIGHTS_CACHE_MS = 60 * SECOND_MS
/** scheduler.diversityWindow (REF last 1000 selections). @default 1_000 */
export const DEFAULT_DIVERSITY_WINDOW = 1_000
/** scheduler.minMemoryGbForTasks (REF 8). @default 8 */
export const DEFAULT_MIN_MEMORY_GB_FOR_TASKS = 8
/** scheduler.largeBoardMinVramGb (REF 48 GB). @default 48 */
export const DEFAULT_LARGE_BOARD_MIN_VRAM_GB = 48
/**
 * scheduler.staticPriority per board config (REF: 8 for hexagonal, hex8, square19; 7 for
 * square8 3p/4p; 5 for square8 2p).
 * @default { square8_2p: 5, square8_3p: 7, square8_4p: 7, (every other config): 8 }
 */
export const DEFAULT_STATIC_PRIORITY: Readonly<Record<BoardConfigName, number>> = {
  square8_2p: 5,
  square8_3p: 7,
  square8_4p: 7,
  square19_2p: 8,
  square19_3p: 8,
  square19_4p: 8,
  hex8_2p: 8,
  hex8_3p: 8,
  hex8_4p: 8,
  hexagonal_2p: 8,
  hexagonal_3p: 8,
  hexagonal_4p: 8
}
/** scheduler.bootstrapBoost (REF: optional, off). @default false */
export const DEFAULT_BOOTSTRAP_BOOST = false
/** scheduler.stalenessBoost (REF: optional, off). @default false */
export const DEFAULT_STALENESS_BOOST = false
/** scheduler.plateauHalving (REF: optional, off). @default false */
export const DEFAULT_PLATEAU_HALVING = false
/** scheduler.eloTarget (REF 2000). @default 2_000 */
export const DEFAULT_ELO_TARGET = 2_000
/** scheduler.eloBoostBaseElo (REF: boost only above 1200). @default 1_200 */
export const DEFAULT_ELO_BOOST_BASE_ELO = 1_200
/** scheduler.eloBoostStepElo (REF: +1 per 100 Elo). @default 100 */
export const DEFAULT_ELO_BOOST_STEP_ELO = 100
/** scheduler.eloBoostMax (REF +3). @default 3 */
export const DEFAULT_ELO_BOOST_MAX = 3
/** scheduler.defaultCurriculumWeight (REF 1.0). @default 1 */
export const DEFAULT_CURRICULUM_WEIGHT = 1
/** scheduler.curriculumBoostScale (REF trunc((w − 1)·4)). @default 4 */
export const DEFAULT_CURRICULUM_BOOST_SCALE = 4
/** scheduler.curriculumBoostMin (REF −2). @default -2 */
export const DEFAULT_CURRICULUM_BOOST_MIN = -2
/** scheduler.curriculumBoostMax (REF +3). @default 3 */
export const DEFAULT_CURRICULUM_BOOST_MAX = 3
/** scheduler.boardBoost per override level (REF CRITICAL +6, HIGH +4, MEDIUM +2, LOW 0). @default { critical: 6, high: 4, medium: 2, low: 0 } */
export const DEFAULT_BOARD_BOOST: Readonly<Record<typeof BOARD_PRIORITY_LEVELS[number], number>> = {
  critical: 6,
  high: 4,
  medium: 2,
  low: 0
}
/** scheduler.minEffectivePriority (REF: floored at 1). @default 1 */
export const DEFAULT_MIN_EFFECTIVE_PRIORITY = 1

/** A row of the selfplay job cap table: GPUs whose upper-cased name contains one of `gpuMatch`. */
export interface SelfplayJobCap {
  readonly gpuMatch: readonly string[]
  /** Target jobs = floor(cpuFraction × cpuCount) … */
  readonly cpuFraction: number
  /** … capped at this; null = no cap. */
  readonly maxJobs: number | null
}
/**
 * scheduler.selfplayJobCaps: hardware caps for `targetJobsForNode`, first matching row wins
 * (REF: GH200 0.8·cpu; H100/H200 min(0.5·cpu, 48); A100/L40 min(0.4·cpu, 32);
 * 4090/3090/A10 min(0.3·cpu, 24); 4080/4070/3080/4060 min(0.25·cpu, 12)).
 * @default [GH200 0.8/none, H100|H200 0.5/48, A100|L40 0.4/32, 4090|3090|A10 0.3/24, 4080|4070|3080|4060 0.25/12]
 */
export const DEFAULT_SELFPLAY_JOB_CAPS: readonly SelfplayJobCap[] = [
  { gpuMatch: ['GH200'], cpuFraction: 0.8, maxJobs: null },
  { gpuMatch: ['H100', 'H200'], cpuFraction: 0.5, maxJobs: 48 },
  { gpuMatch: ['A100', 'L40'], cpuFraction: 0.4, maxJobs: 32 },
  { gpuMatch: ['4090', '3090', 'A10'], cpuFraction: 0.3, maxJobs: 24 },
  { gpuMatch: ['4080', '4070', '3080', '4060'], cpuFraction: 0.25, maxJobs: 12 }
]
/** scheduler.otherGpuJobCap (REF other GPU min(0.2·cpu, 8)). @default { cpuFraction: 0.2, maxJobs: 8 } */
export const DEFAULT_OTHER_GPU_JOB_CAP: Readonly<{ cpuFraction: number, maxJobs: number }> = { cpuFraction: 0.2, maxJobs: 8 }
/** scheduler.cpuOnlyJobCap (REF CPU-only min(0.3·cpu, 32)). @default { cpuFraction: 0.3, maxJobs: 32 } */
export const DEFAULT_CPU_ONLY_JOB_CAP: Readonly<{ cpuFraction: number, maxJobs: number }> = { cpuFraction: 0.3, maxJobs: 32 }
/** scheduler.busyGpuPercent (REF: GPU or GPU memory > 85 %). @default 85 */
export const DEFAULT_BUSY_GPU_PERCENT = 85
/** scheduler.busyGpuPenaltyJobs (REF −2). @default 2 */
export const DEFAULT_BUSY_GPU_PENALTY_JOBS = 2
/** scheduler.busyCpuPercent (REF: CPU > 90 %). @default 90 */
export const DEFAULT_BUSY_CPU_PERCENT = 90
/** scheduler.busyCpuPenaltyJobs (REF −1). @default 1 */
export const DEFAULT_BUSY_CPU_PENALTY_JOBS = 1
/** scheduler.maxRampUpJobs (REF: at most +2 over the current count). @default 2 */
export const DEFAULT_MAX_RAMP_UP_JOBS = 2
/** scheduler.diskPressureMaxJobs (REF: disk ≥ 70 % → ≤ 4). @default 4 */
export const DEFAULT_DISK_PRESSURE_MAX_JOBS = 4
/** scheduler.memoryPressureMaxJobs (REF: memory ≥ 75 % → ≤ 2). @default 2 */
export const DEFAULT_MEMORY_PRESSURE_MAX_JOBS = 2
/** scheduler.minTargetJobs (REF: floor 1). @default 1 */
export const DEFAULT_MIN_TARGET_JOBS = 1
/**
 * scheduler.maxUntrainedGames: self-play pauses cluster-wide while the games no completed
 * training has used yet (per config: cluster games − the last training's games; summed) reach
 * this (REF: "backpressure says stop"). @default 100_000
 */
export const DEFAULT_MAX_UNTRAINED_GAMES = 100_000

// ---- training --------------------------------------------------------------------------------
/** training.readinessIntervalMs (REF every 5 min). @default 300_000 */
export const DEFAULT_READINESS_INTERVAL_MS = 5 * MINUTE_MS
/** training.minGames (REF 2000). @default 2_000 */
export const DEFAULT_MIN_GAMES = 2_000
/** training.incrementalGames (REF 1000). @default 1_000 */
export const DEFAULT_INCREMENTAL_GAMES = 1_000
/** training.cooldownMs (REF 5 min). @default 300_000 */
export const DEFAULT_TRAINING_COOLDOWN_MS = 5 * MINUTE_MS
/**
 * training.retryBackoffMs: wait before a failed training attempt is retried on a node that
 * already tried it (no untried training node left). @default 60_000
 */
export const DEFAULT_TRAINING_RETRY_BACKOFF_MS = 1 * MINUTE_MS
/** training.dedupWindow (REF last 100 dispatches). @default 100 */
export const DEFAULT_DEDUP_WINDOW = 100
/** training.maxDispatchAttempts (REF up to 3 distinct nodes). @default 3 */
export const DEFAULT_MAX_DISPATCH_ATTEMPTS = 3
/** training.gauntletGamesPerSeat (REF 16 + 16). @default 16 */
export const DEFAULT_GAUNTLET_GAMES_PER_SEAT = 16
/** training.promoteWinRate (REF 0.55). @default 0.55 */
export const DEFAULT_PROMOTE_WIN_RATE = 0.55
/** training.firstModelWinRate (REF 0.5). @default 0.5 */
export const DEFAULT_FIRST_MODEL_WIN_RATE = 0.5
/** training.gauntletDrawScore (REF: draws count 0.5). @default 0.5 */
export const DEFAULT_GAUNTLET_DRAW_SCORE = 0.5
/** training.eloK (REF K = 32). @default 32 */
export const DEFAULT_ELO_K = 32
/** training.eloScale (REF E = 1 / (1 + 10^((rB − rA)/400))). @default 400 */
export const DEFAULT_ELO_SCALE = 400

/** A step of the readiness threshold scaling: up to `maxGpuNodes` GPU nodes, thresholds × `factor`. */
export interface ThresholdScaleStep {
  readonly maxGpuNodes: number
  readonly factor: number
}
/** training.thresholdScale (REF ×1.0 for ≤ 1, 0.7 for ≤ 2, 0.5 for ≤ 4). @default [{1, 1}, {2, 0.7}, {4, 0.5}] */
export const DEFAULT_THRESHOLD_SCALE: readonly ThresholdScaleStep[] = [
  { maxGpuNodes: 1, factor: 1 },
  { maxGpuNodes: 2, factor: 0.7 },
  { maxGpuNodes: 4, factor: 0.5 }
]
/** training.thresholdScaleAbove (REF 0.35 above the last step). @default 0.35 */
export const DEFAULT_THRESHOLD_SCALE_ABOVE = 0.35
/** training.minGamesFloor (REF floor 500). @default 500 */
export const DEFAULT_MIN_GAMES_FLOOR = 500
/** training.incrementalGamesFloor (REF floor 200). @default 200 */
export const DEFAULT_INCREMENTAL_GAMES_FLOOR = 200
/** training.allowCpuTraining: with no GPU training node, train on the strongest CPU node with the training capability (small clusters, laptops, the demo). @default false */
export const DEFAULT_ALLOW_CPU_TRAINING = false
/** training.maxLeaderlessJobsPerNode (REF: at most one local job while leaderless). @default 1 */
export const DEFAULT_MAX_LEADERLESS_JOBS_PER_NODE = 1

// ---- sync ------------------------------------------------------------------------------------
/** sync.manifestCacheAgeMs (REF 300 s). @default 300_000 */
export const DEFAULT_MANIFEST_CACHE_AGE_MS = 300 * SECOND_MS
/** sync.manifestCollectionIntervalMs (REF 60 s). @default 60_000 */
export const DEFAULT_MANIFEST_COLLECTION_INTERVAL_MS = 60 * SECOND_MS
/** sync.manifestCollectionTimeoutMs (REF 30 s). @default 30_000 */
export const DEFAULT_MANIFEST_COLLECTION_TIMEOUT_MS = 30 * SECOND_MS
/** sync.planIntervalMs: how often a node plans and runs its pulls (also on new manifests). @default 10_000 */
export const DEFAULT_SYNC_PLAN_INTERVAL_MS = 10 * SECOND_MS
/** sync.fastPathEncryption: seal the TCP side channel's frames with AES-256-GCM (else plain, token-authorised, sha256-verified). @default false */
export const DEFAULT_FAST_PATH_ENCRYPTION = false
/** sync.fastPath: offer the TCP side channel for transfers (else every byte goes through libp2p). @default true */
export const DEFAULT_FAST_PATH = true
/** sync.maxFilesPerSyncJob (REF 50). @default 50 */
export const DEFAULT_MAX_FILES_PER_SYNC_JOB = 50
/** sync.mtimeToleranceMs (REF 60 s). @default 60_000 */
export const DEFAULT_MTIME_TOLERANCE_MS = 60 * SECOND_MS
/** sync.retryBackoffMinMs (REF 1 s). @default 1_000 */
export const DEFAULT_SYNC_RETRY_BACKOFF_MIN_MS = 1 * SECOND_MS
/** sync.retryBackoffMaxMs (REF 30 s). @default 30_000 */
export const DEFAULT_SYNC_RETRY_BACKOFF_MAX_MS = 30 * SECOND_MS
/** sync.maxDiskPercent (REF: refuse over 90 %). @default 90 */
export const DEFAULT_SYNC_MAX_DISK_PERCENT = 90
/** sync.maxSyncJobsPerNode (REF: one sync at a time per node). @default 1 */
export const DEFAULT_MAX_SYNC_JOBS_PER_NODE = 1
/** sync.maxConcurrentTransfers. @default 4 */
export const DEFAULT_MAX_CONCURRENT_TRANSFERS = 4
/** sync.chunkBytes. @default 1_048_576 (1 MiB) */
export const DEFAULT_CHUNK_BYTES = 1 * MIB
/** sync.fsync: fsync every received file and its directory before it counts as here. @default true */
export const DEFAULT_SYNC_FSYNC = true
/** sync.syncfs: with sync.fsync, make each group of batched files durable with one syncfs per file system. @default true */
export const DEFAULT_SYNC_SYNCFS = true
/** sync.nativeBatch: send and receive batches of small files on a plain side channel in C (native addon). @default true */
export const DEFAULT_SYNC_NATIVE_BATCH = true
/** sync.directIo: with sync.fsync, write received files of 1 MiB or more with O_DIRECT. @default true */
export const DEFAULT_SYNC_DIRECT_IO = true
/** sync.batchFiles: small files pulled in one BATCH request (0 or 1: one GET per file). @default 64 */
export const DEFAULT_SYNC_BATCH_FILES = 64
/** sync.batchMaxFileBytes: largest file pulled in a batch. @default 1_048_576 (1 MiB) */
export const DEFAULT_SYNC_BATCH_MAX_FILE_BYTES = 1 * MIB
/** sync.diskThreads: worker threads that read, verify and write batched files (0: the main thread). @default 2 */
export const DEFAULT_SYNC_DISK_THREADS = 2
/** sync.manifestMaxEntries. @default 2_000 */
export const DEFAULT_MANIFEST_MAX_ENTRIES = 2_000

/**
 * The shapes of every entry in the cluster document. Entries are plain JSON values replaced
 * whole; every read is validated here, so an entry from a buggy or hostile peer is skipped and
 * counted instead of reaching a manager. Objects are strict: an unknown field makes the entry
 * invalid (a newer writer must bump `v`).
 */
import { z } from 'zod'
import { BOARD_CONFIGS, CAPABILITY_NAMES, FILE_KINDS, JOB_TYPE_NAMES, MAX_TEXT_CHARS } from '../core/vocabulary.js'

/** Limits on what one entry may hold. */
export const MAX_ID_CHARS = 128
export { MAX_TEXT_CHARS } from '../core/vocabulary.js'
export const MAX_ERROR_CHARS = 4_096
export const MAX_LIST_ITEMS = 64
export const MAX_MANIFEST_FILES = 10_000
export const MAX_SPEC_KEYS = 64

const id = z.string().min(1).max(MAX_ID_CHARS).regex(/^[A-Za-z0-9._:@/+=-]+$/, 'id characters')
const text = z.string().max(MAX_TEXT_CHARS)
const ms = z.number().int().nonnegative().finite()
const count = z.number().int().nonnegative().finite()
const finite = z.number().finite()

export const CAPABILITIES = CAPABILITY_NAMES
export const capabilitySchema = z.enum(CAPABILITIES)
export type Capability = z.infer<typeof capabilitySchema>

export const BOARDS = ['square8', 'square19', 'hex8', 'hexagonal'] as const
export const PLAYER_COUNTS = [2, 3, 4] as const
export type Board = typeof BOARDS[number]
/** `<board>_<players>p`, e.g. `hex8_3p`. hex8 and hexagonal are different boards. */
export const configKeySchema = z.string().regex(/^(square8|square19|hex8|hexagonal)_[234]p$/, 'a config key like square8_2p')
export type ConfigKey = z.infer<typeof configKeySchema>
export const ALL_CONFIG_KEYS: readonly ConfigKey[] = BOARD_CONFIGS

export const hardwareSchema = z.strictObject({
  cpuCount: count.max(4096),
  memoryGb: finite.nonnegative().max(1e6),
  diskFreeGb: finite.nonnegative().max(1e9),
  diskTotalGb: finite.nonnegative().max(1e9),
  hasGpu: z.boolean(),
  gpuName: text.max(128),
  gpuCount: count.max(64),
  gpuMemoryGb: finite.nonnegative().max(1e5)
})
export type Hardware = z.infer<typeof hardwareSchema>

export const nodeInfoSchema = z.strictObject({
  v: z.literal(1),
  nodeId: id,
  host: text.max(256),
  addrs: z.array(text.max(256)).max(MAX_LIST_ITEMS),
  version: text.max(64),
  startedAt: ms,
  hardware: hardwareSchema,
  capabilities: z.array(capabilitySchema).max(CAPABILITIES.length),
  /** Multiplier of this node's CPU power score (config node.cpuPowerMultiplier); absent means 1. */
  cpuPowerMultiplier: finite.positive().max(100).optional(),
  /**
   * The job-start limits its worker applies, so dispatchers stay within them; absent means the
   * defaults (32 processes, 5 starts a minute). Written only when they differ from the defaults,
   * since the schema is strict: a node older than this field skips a NodeInfo that carries it.
   */
  admission: z.strictObject({
    /** Most job processes it runs at once (`jobs.maxProcessesPerNode`). */
    maxProcesses: count.min(1).max(100_000),
    /** Most job starts in any 60 s window on its clock (`jobs.spawnRatePerMinute`). */
    spawnRatePerMinute: count.min(1).max(100_000)
  }).optional(),
  flags: z.strictObject({
    voter: z.boolean(),
    retired: z.boolean(),
    leaderEligible: z.boolean()
  })
})
export type NodeInfo = z.infer<typeof nodeInfoSchema>

export { FILE_KINDS } from '../core/vocabulary.js'
export const manifestFileSchema = z.strictObject({
  size: count,
  mtimeMs: ms,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  kind: z.enum(FILE_KINDS),
  config: configKeySchema.nullable(),
  gameCount: count
})
export type ManifestFile = z.infer<typeof manifestFileSchema>

export const manifestSummarySchema = z.strictObject({ files: count, bytes: count, games: count })

export const manifestSchema = z.strictObject({
  v: z.literal(1),
  nodeId: id,
  generatedAt: ms,
  totalFiles: count,
  totalBytes: count,
  /** Per config key (and `other` for files without one). */
  summary: z.record(z.string().max(32), manifestSummarySchema),
  /** Per-file entries, up to the publish budget; `truncated` says the full list is served by stream. */
  files: z.record(z.string().min(1).max(MAX_TEXT_CHARS), manifestFileSchema),
  truncated: z.boolean()
}).refine(m => Object.keys(m.files).length <= MAX_MANIFEST_FILES, 'too many files in one manifest entry')
export type Manifest = z.infer<typeof manifestSchema>

export const JOB_TYPES = JOB_TYPE_NAMES
export const jobTypeSchema = z.enum(JOB_TYPES)
export type JobType = z.infer<typeof jobTypeSchema>

const specValue = z.union([z.string().max(MAX_TEXT_CHARS), finite, z.boolean(), z.null()])

/** What the dispatcher writes (its own key in a jobs bucket's `dispatch` map). */
export const jobDispatchSchema = z.strictObject({
  v: z.literal(1),
  jobId: id,
  type: jobTypeSchema,
  config: configKeySchema.nullable(),
  engineMode: z.string().max(32).nullable(),
  spec: z.record(z.string().max(64), specValue).refine(s => Object.keys(s).length <= MAX_SPEC_KEYS, 'too many spec keys'),
  assignedNode: id,
  dispatchEpoch: count,
  dispatchedBy: id,
  createdAt: ms,
  attempt: count.max(100),
  /** The job this one re-dispatches after a failure or loss, if any. */
  previousJobId: id.nullable()
})
export type JobDispatch = z.infer<typeof jobDispatchSchema>

/** States the assigned node writes (one writer: the assigned node). */
export const RUN_STATES = ['RUNNING', 'COMPLETE', 'FAILED', 'REFUSED'] as const
export const jobStatusSchema = z.strictObject({
  v: z.literal(1),
  jobId: id,
  node: id,
  state: z.enum(RUN_STATES),
  pid: count.nullable(),
  startedAt: ms.nullable(),
  heartbeatAt: ms.nullable(),
  endedAt: ms.nullable(),
  exitCode: z.number().int().nullable(),
  error: z.string().max(MAX_ERROR_CHARS).nullable(),
  outputs: z.array(text).max(MAX_LIST_ITEMS),
  /** Engine mode actually used (differs from the dispatch on a CPU fallback). */
  engineMode: z.string().max(32).nullable()
})
export type JobStatus = z.infer<typeof jobStatusSchema>

/** Verdicts a leader (or the dispatcher) adds; keyed `<jobId>@<writer>` so each writer owns its key. */
/** FAILED: the leader gave up on a job (reassigned too often, or it could not be placed). */
export const VERDICTS = ['EXPIRED', 'LOST', 'CANCELLED', 'PROMOTED', 'ARCHIVED', 'FAILED'] as const
export const jobVerdictSchema = z.strictObject({
  v: z.literal(1),
  jobId: id,
  writer: id,
  verdict: z.enum(VERDICTS),
  epoch: count,
  at: ms,
  reason: text.nullable()
})
export type JobVerdict = z.infer<typeof jobVerdictSchema>

export const bucketMetaSchema = z.strictObject({
  v: z.literal(1),
  bucketId: id,
  dispatcher: id,
  epoch: count,
  sealed: z.boolean(),
  jobCount: count
})
export type BucketMeta = z.infer<typeof bucketMetaSchema>

export const candidacySchema = z.strictObject({
  v: z.literal(1),
  nodeId: id,
  epoch: count,
  /** The candidate's current round: a new one every renew interval while it campaigns or leads. */
  round: count,
  /** Wall-clock ms (the writer's clock) at which `round` was sent, or the renunciation was written. */
  sentAt: ms,
  renounced: z.boolean()
})
export const grantSchema = z.strictObject({ v: z.literal(1), voter: id, candidate: id, epoch: count, round: count, leaseMs: count })
export const leaseSchema = z.strictObject({
  v: z.literal(1),
  nodeId: id,
  epoch: count,
  /** The leader's round this entry was written in (one per renewal). */
  round: count,
  leaseMs: count,
  voters: z.array(id).max(MAX_LIST_ITEMS),
  /**
   * Wall-clock ms (the leader's clock) at which `round` was sent. The leader's lease ends no
   * later than renewedAt + leaseMs on its clock; see docs/ARCHITECTURE.md "Election" for how an
   * outside reader judges it. Absent in entries of nodes older than this field.
   */
  renewedAt: ms.optional()
})
export type Candidacy = z.infer<typeof candidacySchema>
export type Grant = z.infer<typeof grantSchema>
export type Lease = z.infer<typeof leaseSchema>

export const modelSchema = z.strictObject({
  v: z.literal(1),
  config: configKeySchema,
  modelId: id,
  path: text,
  ownerNode: id,
  elo: finite.min(-10_000).max(10_000),
  promotedAt: ms,
  epoch: count,
  history: z.array(id).max(MAX_LIST_ITEMS)
})
export type ModelEntry = z.infer<typeof modelSchema>

/** What the leader records of a config's trainings, so a new leader continues where the old one was. */
export const trainingRecordSchema = z.strictObject({
  v: z.literal(1),
  config: configKeySchema,
  /** Wall-clock ms of the last training dispatch of this config. */
  lastDispatchAt: ms,
  /**
   * Wall-clock ms at which the last training of this config ended (its node's end time, kept
   * within [dispatch, the leader's now]); the cooldown runs from it. Absent until a training of
   * the config ends, and in records of nodes older than this field.
   */
  lastEndedAt: ms.optional(),
  /** Why the last training of this config was given up (FAILED after its last attempt); null or absent when it was not. */
  lastFailure: text.nullable().optional(),
  lastJobId: id.nullable(),
  /** Cluster games of the config at the last dispatch. */
  dispatchedGames: count,
  /** Cluster games at the dispatch of the last training that completed; null if none did. */
  trainedGames: count.nullable(),
  /** Dedup fingerprints of the config's recent dispatches, newest last. */
  fingerprints: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(32),
  epoch: count
})
export type TrainingRecord = z.infer<typeof trainingRecordSchema>

/** A setting value: JSON scalars, lists and one level of records, size-bounded. */
const settingScalar = z.union([z.string().max(MAX_TEXT_CHARS), finite, z.boolean(), z.null()])
export const settingValueSchema = z.union([
  settingScalar,
  z.array(settingScalar).max(256),
  z.record(z.string().max(128), z.union([settingScalar, z.array(settingScalar).max(256)])).refine(r => Object.keys(r).length <= 256, 'too many keys')
])
export type SettingValue = z.infer<typeof settingValueSchema>

/** A last-writer-wins register entry keyed `<name>@<writer>`: highest (version, writer) wins. */
export function registerSchema<T extends z.ZodType> (value: T) {
  return z.strictObject({ v: z.literal(1), name: z.string().min(1).max(MAX_ID_CHARS), writer: id, version: count, value })
}
export const settingRegisterSchema = registerSchema(settingValueSchema)
export const modelRegisterSchema = registerSchema(modelSchema)
export const trainingRegisterSchema = registerSchema(trainingRecordSchema)
export type Register<T> = { v: 1, name: string, writer: string, version: number, value: T }

/** A leader's proof that it held an epoch: the voters' own signed grant entries for it (certificates.ts). */
export const certSchema = z.strictObject({
  v: z.literal(1),
  /** The node that held the epoch (and signed this entry). */
  leader: id,
  /** The epoch it held. */
  epoch: count,
  /** Raw signed grant entries, as stored under `grant/<voter>` (each checked against its voter's key on read). */
  grants: z.array(z.record(z.string(), z.unknown())).max(MAX_LIST_ITEMS)
})
export type EpochCertificate = z.infer<typeof certSchema>

export const TRUST_ACTIONS = ['add-operator', 'remove-operator', 'revoke', 'reinstate'] as const
export type TrustAction = typeof TRUST_ACTIONS[number]

/** One entry of the operator-signed trust log (trust.ts), applied in (`seq`, key) order. */
export const trustEntrySchema = z.strictObject({
  v: z.literal(1),
  /** Position in the log: one above every seq the signer had seen. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** add-operator / remove-operator (an operator id), revoke / reinstate (a peer id). */
  action: z.enum(TRUST_ACTIONS),
  /** The operator id or peer id acted on. */
  target: z.string().min(1).max(MAX_ID_CHARS).regex(/^[A-Za-z0-9]+$/),
  /** Wall-clock ms at which the operator signed it (information only). */
  at: count,
  /** Why, in the operator's words (shown by status), or null. */
  reason: z.string().max(512).nullable()
})
export type TrustEntry = z.infer<typeof trustEntrySchema>

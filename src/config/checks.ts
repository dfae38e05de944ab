/**
 * Checks across keys, run on a config that already passed the schema. Each violation is a
 * ConfigError naming one key: the one the user set, when only one side of the rule was set (by
 * its flag when a flag of its own set it).
 */
import { valueError } from './parse.js'
import type { RiftmeshConfig } from './schema.js'

/** `a op b` must hold. */
export interface ConfigRelation {
  readonly a: string
  readonly op: '<' | '<='
  readonly b: string
}

export const CONFIG_RELATIONS: readonly ConfigRelation[] = [
  { a: 'health.heartbeatIntervalMs', op: '<', b: 'health.suspectAfterMs' },
  { a: 'health.suspectAfterMs', op: '<', b: 'health.deadAfterMs' },
  { a: 'health.cpuHighPercent', op: '<', b: 'health.cpuCriticalPercent' },
  { a: 'health.cpuStretch80', op: '<=', b: 'health.cpuStretch95' },
  { a: 'mesh.coalesceWindowMs', op: '<=', b: 'mesh.maxCoalesceDelayMs' },
  { a: 'mesh.maxGossipMessageBytes', op: '<=', b: 'mesh.maxStreamMessageBytes' },
  { a: 'jobs.reassignBackoffMs', op: '<=', b: 'jobs.reassignBackoffMaxMs' },
  { a: 'jobs.cleanupIntervalMs', op: '<=', b: 'jobs.jobHeartbeatTimeoutMs' },
  { a: 'jobs.jobHeartbeatIntervalMs', op: '<', b: 'jobs.jobHeartbeatTimeoutMs' },
  { a: 'election.renewIntervalMs', op: '<', b: 'election.leaseMs' },
  { a: 'election.backoffMinMs', op: '<=', b: 'election.backoffMaxMs' },
  { a: 'scheduler.minTargetJobs', op: '<=', b: 'jobs.maxProcessesPerNode' },
  { a: 'training.minGamesFloor', op: '<=', b: 'training.minGames' },
  { a: 'training.incrementalGamesFloor', op: '<=', b: 'training.incrementalGames' },
  { a: 'training.firstModelWinRate', op: '<=', b: 'training.promoteWinRate' },
  { a: 'sync.retryBackoffMinMs', op: '<=', b: 'sync.retryBackoffMaxMs' },
  { a: 'sync.manifestCollectionTimeoutMs', op: '<=', b: 'sync.manifestCollectionIntervalMs' },
  { a: 'sync.manifestCollectionIntervalMs', op: '<=', b: 'sync.manifestCacheAgeMs' },
  { a: 'sync.chunkBytes', op: '<=', b: 'mesh.maxStreamMessageBytes' }
]

/** What the checks need to know about where each value came from. */
export interface ValueOrigin {
  /** The value was given by a file, env var or flag (not a default). */
  isUserSet: (key: string) => boolean
  /** Where the value came from, e.g. `env RIFTMESH_HEALTH_DEAD_AFTER_MS` or `default`. */
  sourceOf: (key: string) => string
}

/** Read a dotted key of the config. */
export function configValue (config: RiftmeshConfig, key: string): unknown {
  let at: unknown = config
  for (const part of key.split('.')) at = (at as Record<string, unknown> | undefined)?.[part]
  return at
}

const OP_TEXT = { '<': ['less than', 'greater than'], '<=': ['at most', 'at least'] } as const

function checkRelation (config: RiftmeshConfig, rel: ConfigRelation, origin: ValueOrigin): void {
  const a = configValue(config, rel.a) as number
  const b = configValue(config, rel.b) as number
  if (rel.op === '<' ? a < b : a <= b) return
  const nameB = !origin.isUserSet(rel.a) && origin.isUserSet(rel.b)
  const [key, value, other, otherValue, text] = nameB
    ? [rel.b, b, rel.a, a, OP_TEXT[rel.op][1]]
    : [rel.a, a, rel.b, b, OP_TEXT[rel.op][0]]
  throw valueError(key, `${text} ${other} (${otherValue})`, value, origin.sourceOf(key))
}

function fail (key: string, expected: string, config: RiftmeshConfig, origin: ValueOrigin): never {
  throw valueError(key, expected, configValue(config, key), origin.sourceOf(key))
}

function checkElection (config: RiftmeshConfig, origin: ValueOrigin): void {
  const e = config.election
  if (e.renewIntervalMs + e.driftMarginMs >= e.leaseMs) {
    fail('election.driftMarginMs', `less than election.leaseMs − election.renewIntervalMs (${e.leaseMs - e.renewIntervalMs})`, config, origin)
  }
  if (e.eligibility === 'preferred' && e.preferredLeader === null) {
    fail('election.preferredLeader', 'a peer id when election.eligibility is "preferred"', config, origin)
  }
  if (e.eligibility !== 'preferred' && e.preferredLeader !== null) {
    fail('election.preferredLeader', `null unless election.eligibility is "preferred" (it is "${e.eligibility}")`, config, origin)
  }
}

function checkThresholdScale (config: RiftmeshConfig, origin: ValueOrigin): void {
  const steps = config.training.thresholdScale
  for (let i = 1; i < steps.length; i++) {
    const prev = steps[i - 1]
    const step = steps[i]
    if (prev === undefined || step === undefined) continue
    if (step.maxGpuNodes <= prev.maxGpuNodes) {
      fail('training.thresholdScale', `steps with rising maxGpuNodes (step ${i} has ${step.maxGpuNodes} after ${prev.maxGpuNodes})`, config, origin)
    }
    if (step.factor > prev.factor) {
      fail('training.thresholdScale', `steps with falling or equal factors (step ${i} has ${step.factor} after ${prev.factor})`, config, origin)
    }
  }
  const last = steps[steps.length - 1]
  if (last !== undefined && config.training.thresholdScaleAbove > last.factor) {
    fail('training.thresholdScaleAbove', `at most the last training.thresholdScale factor (${last.factor})`, config, origin)
  }
}

/** Throw a ConfigError for the first rule across keys that `config` breaks. */
export function checkConfig (config: RiftmeshConfig, origin: ValueOrigin): void {
  for (const rel of CONFIG_RELATIONS) checkRelation(config, rel, origin)
  checkElection(config, origin)
  checkThresholdScale(config, origin)
}

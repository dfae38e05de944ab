/**
 * Pure parts of a real-mode run: the topology (drawn exactly as the model draws it, so the same
 * seed gives the same graph), the node timings scaled to the wall clock, and the workload's
 * write times.
 */
import type { Rng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/core/errors.js'
import { DEFAULT_SIM_NODE_CONFIG, SIM_CLUSTER } from '../node/sim-node.js'
import type { Scenario } from '../scenario.js'
import type { RealNodeConfig } from './real-node.js'

/** Smallest timeScale accepted (20× faster than the scenario). */
export const MIN_TIME_SCALE = 0.05
/** Largest timeScale accepted (10× slower). */
export const MAX_TIME_SCALE = 10
/** No scaled node timer goes below this many wall ms. */
export const MIN_SCALED_TIMER_MS = 5
/** The model's gossip heartbeat default (sim/README.md). */
export const MODEL_GOSSIP_HEARTBEAT_MS = 1000
/** Replicator defaults the model leaves alone; scaled with the rest. */
const REPLICATOR_MAX_COALESCE_DELAY_MS = 200
const REPLICATOR_MIN_SYNC_GAP_MS = 1000

export function checkTimeScale (timeScale: number): number {
  if (!Number.isFinite(timeScale) || timeScale < MIN_TIME_SCALE || timeScale > MAX_TIME_SCALE) {
    throw new ConfigError('timeScale', `a number in [${MIN_TIME_SCALE}, ${MAX_TIME_SCALE}]`, `got ${timeScale}`)
  }
  return timeScale
}

/** Directed edges (dialler, target), as the model's `net.connect(i, j)` calls. */
export function topologyEdges (scenario: Scenario, root: Rng): Array<[number, number]> {
  const edges: Array<[number, number]> = []
  const topo = root.fork('topology')
  const n = scenario.nodes
  for (let i = 0; i < n; i++) {
    if (scenario.topology.kind === 'full') {
      for (let j = i + 1; j < n; j++) edges.push([i, j])
    } else if (scenario.topology.kind === 'line') {
      if (i > 0) edges.push([i - 1, i])
    } else if (scenario.topology.kind === 'explicit') {
      for (const [a, b] of scenario.topology.edges) if (a === i && a !== b) edges.push([a, b])
    } else {
      const others = topo.shuffle(Array.from({ length: n }, (_, j) => j).filter(j => j !== i))
      for (const j of others.slice(0, scenario.topology.degree)) edges.push([i, j])
    }
  }
  const seen = new Set<string>()
  return edges.filter(([a, b]) => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The scenario's node settings (model defaults underneath), every timing multiplied by `timeScale`. */
export function scaledNodeConfig (scenario: Scenario, timeScale: number, antiEntropy: boolean): RealNodeConfig {
  const c = { ...DEFAULT_SIM_NODE_CONFIG, ...scenario.node }
  const s = (ms: number): number => Math.max(MIN_SCALED_TIMER_MS, Math.round(ms * timeScale))
  return {
    cluster: SIM_CLUSTER,
    heartbeatIntervalMs: s(c.heartbeatIntervalMs),
    suspectAfterMs: s(c.suspectAfterMs),
    deadAfterMs: s(c.deadAfterMs),
    antiEntropyIntervalMs: s(c.antiEntropyIntervalMs),
    coalesceWindowMs: c.coalesceWindowMs === 0 ? 0 : s(c.coalesceWindowMs),
    maxCoalesceDelayMs: s(REPLICATOR_MAX_COALESCE_DELAY_MS),
    syncTimeoutMs: s(c.syncTimeoutMs),
    minSyncGapMs: s(REPLICATOR_MIN_SYNC_GAP_MS),
    gossipHeartbeatMs: s(scenario.gossip.heartbeatMs ?? MODEL_GOSSIP_HEARTBEAT_MS),
    antiEntropy
  }
}

/** Scenario times of the workload's writes: mean gap 1000/wps, jittered ×[0.5, 1.5), until `safetyUntilMs`. */
export function writeTimes (scenario: Scenario, rng: Rng): number[] {
  const wps = scenario.workload.writesPerSecond
  if (wps <= 0) return []
  const out: number[] = []
  for (let t = 1000 / wps; t < scenario.phases.safetyUntilMs; t += (1000 / wps) * (0.5 + rng.next())) out.push(t)
  return out
}

/** Whether the workload pauses at scenario time `t` (the window before a quiet check). */
export function inQuietWindow (scenario: Scenario, t: number): boolean {
  return scenario.quietChecksAtMs.some(q => t >= q - scenario.quietWindowMs && t <= q)
}

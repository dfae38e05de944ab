/**
 * Failover benchmark (election issue): the leader loses power; time until another node leads
 * under a higher epoch (and may dispatch), over 200 simulator seeds, with the default timing
 * profile and a fast one. Anchors: etcd ~1–2 s, Kubernetes leases ~15 s, the original 60–300 s.
 */
import { scenarioSchema } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import type { SizeResult } from './state-size.js'

interface Profile {
  name: string
  election: { leaseMs: number, renewIntervalMs: number, driftMarginMs: number, backoffMinMs: number, backoffMaxMs: number }
  node: { heartbeatIntervalMs: number, suspectAfterMs: number, deadAfterMs: number }
}

export const PROFILES: Profile[] = [
  { name: 'default', election: { leaseMs: 4000, renewIntervalMs: 1000, driftMarginMs: 400, backoffMinMs: 200, backoffMaxMs: 1500 }, node: { heartbeatIntervalMs: 1000, suspectAfterMs: 3000, deadAfterMs: 5000 } },
  { name: 'fast', election: { leaseMs: 1500, renewIntervalMs: 400, driftMarginMs: 150, backoffMinMs: 50, backoffMaxMs: 400 }, node: { heartbeatIntervalMs: 300, suspectAfterMs: 900, deadAfterMs: 1500 } }
]

const CRASH_AT_MS = 15_000

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

export async function failover (seeds = 200): Promise<SizeResult[]> {
  const out: SizeResult[] = []
  for (const p of PROFILES) {
    const times: number[] = []
    let missed = 0
    let violations = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const scenario = scenarioSchema.parse({
        name: `failover-${p.name}`,
        nodes: 7,
        voters: 5,
        seed,
        election: { ...p.election, preferredLeader: 0 },
        node: p.node,
        topology: { kind: 'random', degree: 3 },
        network: { minLatencyMs: 1, meanExtraLatencyMs: 5 },
        workload: { writesPerSecond: 1 },
        timeline: [{ at: CRASH_AT_MS, crash: { node: 0, mode: 'power' } }],
        phases: { safetyUntilMs: CRASH_AT_MS + 15_000, livenessWithinMs: 5_000 },
        checks: ['convergence', 'leader-liveness']
      })
      const r = await runSimulation(scenario)
      if (r.checks.some(c => !c.ok)) violations++
      const leaders = r.leadership?.leaders ?? []
      const before = leaders.filter(l => l.atMs <= CRASH_AT_MS).at(-1)
      const after = leaders.find(l => l.atMs > CRASH_AT_MS && l.node !== 0 && l.epoch > (before?.epoch ?? 0))
      if (before?.node !== 0 || after === undefined) { missed++; continue }
      times.push(after.atMs - CRASH_AT_MS)
    }
    times.sort((a, b) => a - b)
    out.push({
      name: `failover, ${p.name} profile (lease ${p.election.leaseMs} ms, renew ${p.election.renewIntervalMs} ms, back-off ${p.election.backoffMinMs}–${p.election.backoffMaxMs} ms, heartbeat ${p.node.heartbeatIntervalMs} ms): leader (node 0 of 7, 5 voters) loses power → new leader under a higher epoch, ${seeds} seeds`,
      values: {
        'p50 ms': Math.round(quantile(times, 0.5)),
        'p99 ms': Math.round(quantile(times, 0.99)),
        'max ms': Math.round(times.at(-1) ?? NaN),
        'measured seeds': times.length,
        'seeds without a clean first leader or failover': missed,
        'seeds with a failed check': violations,
        ...(p.name === 'fast' ? { 'target p99 ≤ 5000 ms': quantile(times, 0.99) <= 5000 ? 'met' : 'NOT met' } : {}),
        'anchors (s)': 'etcd 1–2, Kubernetes leases ~15, original 60–300'
      }
    })
  }
  return out
}

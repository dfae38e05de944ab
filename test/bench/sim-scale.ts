/**
 * Simulator scale benchmark (issue: 1000 simulated nodes for 10 virtual minutes with partitions,
 * under 3 minutes on 2 cores). The same scenario at 100 nodes runs first, beside it, so the
 * report shows how cost grows with the cluster.
 */
import { scenarioSchema, type Scenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import type { SizeResult } from './state-size.js'

/** 10 virtual minutes: two partitions of different shapes, heals, a liveness phase. */
export function scaleScenario (nodes: number, virtualMs = 600_000): Scenario {
  const cut = (f: number): number[][] => [Array.from({ length: Math.floor(nodes * f) }, (_, i) => i), Array.from({ length: nodes - Math.floor(nodes * f) }, (_, i) => i + Math.floor(nodes * f))]
  const at = (f: number): number => Math.round(virtualMs * f)
  return scenarioSchema.parse({
    name: `scale-${nodes}`,
    nodes,
    seed: 1,
    topology: { kind: 'random', degree: 4 },
    // all-to-all heartbeats are O(N²) messages (docs/ARCHITECTURE.md); off at this scale
    node: { heartbeats: false },
    // a leader and a few admins write, as in a real cluster
    workload: { writesPerSecond: 1, writers: 20 },
    timeline: [
      { at: at(0.1), partition: cut(0.3) },
      { at: at(0.3), heal: 'all' },
      { at: at(0.5), partition: cut(0.5) },
      { at: at(0.7), heal: 'all' }
    ],
    phases: { safetyUntilMs: virtualMs, livenessWithinMs: 30_000 },
    checks: ['convergence', 'acked-writes']
  })
}

export async function simScale (): Promise<SizeResult[]> {
  const out: SizeResult[] = []
  const wall: Record<number, number> = {}
  for (const nodes of [100, 1000]) {
    const rssBefore = process.resourceUsage().maxRSS
    const r = await runSimulation(scaleScenario(nodes))
    wall[nodes] = r.wallMs
    out.push({
      name: `simulator: ${nodes} nodes, ${(r.virtualMs / 60_000).toFixed(1)} virtual minutes, 2 partitions, 1 write/s from 20 writers, heartbeats off`,
      values: {
        'wall s': +(r.wallMs / 1000).toFixed(1),
        'virtual s per wall s': +(r.virtualMs / r.wallMs).toFixed(1),
        events: r.events,
        'events/s': Math.round(r.eventsPerSecond),
        'peak RSS MiB (process so far)': Math.round(Math.max(rssBefore, process.resourceUsage().maxRSS) / 1024),
        'propagation p50 / p99 ms': `${r.propagation.p50Ms?.toFixed(0) ?? '—'} / ${r.propagation.p99Ms?.toFixed(0) ?? '—'}`,
        'messages per update': +r.perUpdate.total.msgs.toFixed(0),
        'converged after heal ms': r.convergence[0]?.convergedAfterMs ?? 'NOT converged',
        checks: r.checks.map(c => `${c.name} ${c.ok ? 'pass' : 'FAIL'}`).join(', '),
        ...(nodes === 1000 ? { 'wall ratio 1000 / 100 nodes': +((wall[1000] ?? 0) / (wall[100] ?? 1)).toFixed(1), 'target: wall < 180 s': (r.wallMs < 180_000 ? 'met' : 'NOT met') } : {})
      }
    })
  }
  return out
}

/**
 * Random fault schedules: one seed → one scenario (partitions, one-way cuts, held links, crashes
 * with either mode and restarts, pauses, clock jumps and drift, loss, job dispatch records),
 * then the usual liveness
 * phase and checks. A failing seed replays with the same command and that seed.
 */
import { SeededRng } from '../src/core/rng.js'
import { scenarioSchema, type Scenario, type TimelineEvent } from './scenario.js'

export interface FuzzShape {
  nodes: number
  /** Run the election with the first `voters` nodes voting. @default 0 (no election) */
  voters?: number
  /** Length of the fault (safety) phase. @default 20_000 */
  safetyMs?: number
  /** @default 20_000 */
  livenessMs?: number
  /** Most faults in one schedule. @default 8 */
  maxFaults?: number
  /** Run the JobManager over simulated job processes and check the job ledger. @default false */
  jobs?: boolean
  /**
   * Make the last node a hostile member (sim/hostile.ts) forging entries at random, with an
   * operator trust root, and check that no forged entry is acted upon. @default true with 3 or
   * more voters (majority mode: below 3 every node holds every epoch, so there is no leader
   * authority to forge) and a node beyond the voters
   */
  hostile?: boolean
}

/** Mean forged writes per second of the fuzz's hostile member. */
export const FUZZ_HOSTILE_WRITES_PER_SECOND = 2

function groups (rng: SeededRng, n: number): number[][] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i))
  const cut = 1 + rng.int(Math.max(1, n - 1))
  return [order.slice(0, cut), order.slice(cut)].filter(g => g.length > 0)
}

export function fuzzScenario (seed: number, shape: FuzzShape): Scenario {
  const rng = new SeededRng(seed)
  const n = shape.nodes
  const safetyMs = shape.safetyMs ?? 20_000
  const timeline: TimelineEvent[] = []
  const crashed = new Set<number>()
  const paused = new Set<number>()
  const faults = 1 + rng.int(shape.maxFaults ?? 8)
  for (let i = 0; i < faults; i++) {
    const at = Math.floor(1000 + rng.next() * (safetyMs - 2000))
    const node = rng.int(n)
    const other = (node + 1 + rng.int(Math.max(1, n - 1))) % n
    switch (rng.int(11)) {
      case 0: if (n > 1) timeline.push({ at, partition: groups(rng, n) }); break
      case 1: if (n > 1) timeline.push({ at, cut: { from: node, to: other, oneWay: rng.next() < 0.5 } }); break
      case 2: timeline.push({ at, heal: 'all' }); break
      case 3:
        if (!crashed.has(node)) {
          crashed.add(node)
          timeline.push({ at, crash: { node, mode: rng.next() < 0.5 ? 'process' : 'power' } })
          if (rng.next() < 0.7) timeline.push({ at: Math.min(safetyMs - 1, at + 500 + rng.int(5000)), restart: node })
        }
        break
      case 4:
        if (!paused.has(node)) {
          paused.add(node)
          timeline.push({ at, pause: node }, { at: Math.min(safetyMs - 1, at + 200 + rng.int(4000)), resume: node })
        }
        break
      case 5: timeline.push({ at, clockJump: { node, deltaMs: Math.round((rng.next() - 0.5) * 20_000) } }); break
      case 6: timeline.push({ at, clockDrift: { node, drift: (rng.next() - 0.5) * 0.02 } }); break
      case 7: timeline.push({ at, link: { loss: rng.next() * 0.2, duplicate: rng.next() * 0.05 } }); break
      case 9: {
        // bridge: A and C cannot reach each other, both reach B
        const order = rng.shuffle(Array.from({ length: n }, (_, i) => i))
        const third = Math.max(1, Math.floor(n / 3))
        const a = order.slice(0, third)
        const c = order.slice(third, 2 * third)
        for (const x of a) for (const y of c) timeline.push({ at, cut: { from: x, to: y, oneWay: false } })
        break
      }
      case 8: timeline.push({ at, dispatch: { node, assignedNode: other, type: 'selfplay', epoch: 1 + rng.int(3) } }); break
      default: if (n > 1) timeline.push({ at, hold: { from: node, to: other } }, { at: Math.min(safetyMs - 1, at + rng.int(3000)), release: { from: node, to: other } })
    }
  }
  timeline.sort((a, b) => a.at - b.at)
  const voters = Math.min(shape.voters ?? 0, n)
  const hostile = shape.hostile ?? (voters >= 3 && n > voters)
  return scenarioSchema.parse({
    name: `fuzz-${seed}`,
    description: 'random fault schedule',
    nodes: n,
    seed,
    voters,
    ...(hostile ? { operator: true, hostile: { node: n - 1, writesPerSecond: FUZZ_HOSTILE_WRITES_PER_SECOND } } : {}),
    topology: { kind: 'random', degree: Math.min(3, Math.max(1, n - 1)) },
    network: { minLatencyMs: 1, meanExtraLatencyMs: 1 + rng.int(20), loss: rng.next() < 0.5 ? 0 : rng.next() * 0.05 },
    node: { antiEntropyIntervalMs: 2000 },
    workload: { writesPerSecond: 2 + rng.int(6) },
    timeline: shape.jobs === true ? timeline.filter(e => !('dispatch' in e)) : timeline,
    ...(shape.jobs === true ? { jobs: {} } : {}),
    phases: { safetyUntilMs: safetyMs, livenessWithinMs: shape.livenessMs ?? 20_000 },
    checks: (shape.voters ?? 0) > 0 ? ['convergence', 'acked-writes', 'no-drops', 'leader-liveness'] : ['convergence', 'acked-writes', 'no-drops']
  })
}

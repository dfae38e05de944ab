/**
 * Managers benchmark (issue 6): ranking 1,000 nodes and picking a selfplay config, per call.
 * Targets: ranking under 1 ms, a pick under 100 µs. Measured side by side in one run: the
 * uncached ranking (score + filter + sort of every node), the cached one (the NodeSelector's
 * 10 s cache), and a pick from the cached weight table vs recomputing the weights per pick.
 */
import { seededSigner } from '../../src/state/entry-sig.js'
import { VirtualClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { NodeSelector } from '../../src/managers/node-selector.js'
import type { NodeView } from '../../src/managers/scores.js'
import { bestGpuNodeForTraining, cpuPrimaryNodes, scoreNodes, trainingPrimaryNodes } from '../../src/managers/selection.js'
import { NO_SIGNALS, candidatesFor, defaultCandidateRows, pickFrom, weightTable } from '../../src/managers/selfplay.js'
import { SelfplayScheduler } from '../../src/managers/selfplay-scheduler.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import type { Capability, Hardware } from '../../src/state/schema.js'
import type { SizeResult } from './state-size.js'

const GPUS = ['NVIDIA H100', 'NVIDIA GH200', 'NVIDIA A100', 'NVIDIA L40S', 'NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 3090', 'Apple M2 Max', 'Mystery GPU']

function cluster (n: number, rng: SeededRng): NodeView[] {
  return Array.from({ length: n }, (_, i) => {
    const gpu = rng.next() < 0.4 ? GPUS[rng.int(GPUS.length)] : undefined
    const hardware: Hardware = {
      cpuCount: 8 + rng.int(120), memoryGb: 16 + rng.int(500), diskFreeGb: 500, diskTotalGb: 1000,
      hasGpu: gpu !== undefined, gpuName: gpu ?? '', gpuCount: gpu === undefined ? 0 : 1 + rng.int(8), gpuMemoryGb: gpu === undefined ? 0 : 24 + rng.int(60)
    }
    const capabilities: Capability[] = gpu === undefined ? ['selfplay', 'export', 'gauntlet'] : ['selfplay', 'training', 'gauntlet', 'tournament', 'export']
    return {
      info: { v: 1, nodeId: `node-${String(i).padStart(5, '0')}`, host: 'h', addrs: [], version: 'bench', startedAt: 1, hardware, capabilities, flags: { voter: false, retired: false, leaderEligible: true } },
      health: rng.next() < 0.95 ? 'ALIVE' : 'DEAD',
      load: { cpuPercent: rng.int(100), memoryPercent: rng.int(80), diskPercent: rng.int(80), gpuPercent: rng.int(100), gpuMemoryPercent: rng.int(100), selfplayJobs: rng.int(8), trainingJobs: rng.int(2) }
    }
  })
}

/** Mean µs per call over `calls` calls, after a warm-up; the best of `rounds` rounds. */
function perCallUs (fn: () => unknown, calls: number, rounds = 5): number {
  for (let i = 0; i < Math.min(calls, 200); i++) fn()
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) fn()
    best = Math.min(best, ((performance.now() - t0) * 1000) / calls)
  }
  return best
}

const fmt = (us: number): string => `${us.toFixed(us < 10 ? 2 : 1)} µs`

export async function managersBench (nodes = 1000): Promise<SizeResult[]> {
  const rng = new SeededRng(6)
  const views = cluster(nodes, rng)
  const clock = new VirtualClock(0)
  // uncached: everything a ranking does, from the raw views
  const rankUncached = perCallUs(() => {
    const scored = scoreNodes(views)
    return [trainingPrimaryNodes(scored, 5), bestGpuNodeForTraining(scored), cpuPrimaryNodes(scored, 3)]
  }, 500)
  const trainingOnly = perCallUs(() => bestGpuNodeForTraining(scoreNodes(views)), 500)
  const selector = new NodeSelector({ views: { nodeViews: () => views }, clock, logger: silentLogger() })
  const rankCached = perCallUs(() => selector.bestGpuNodeForTraining(), 100_000)

  const state = new ClusterState({ clock, logger: silentLogger(), rng: new SeededRng(1), signer: seededSigner('bench-node') }, {})
  state.setSetting('curriculumWeights', { hex8_2p: 1.5, square19_4p: 0.5 })
  state.setSetting('boardOverrides', { hexagonal: 'high' })
  const sched = new SelfplayScheduler({ state, clock, rng: new SeededRng(2), logger: silentLogger() })
  const node = views.find(v => v.info.hardware.hasGpu)?.info ?? (views[0] as NodeView).info
  const pickCached = perCallUs(() => sched.pickWeightedConfig(node), 100_000)
  const pickRng = new SeededRng(3)
  const pickRecompute = perCallUs(() => pickFrom(weightTable(candidatesFor(node.hardware, defaultCandidateRows()), NO_SIGNALS), pickRng), 20_000)
  const uncachedScheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(4), logger: silentLogger() }, { weightsCacheMs: 0 })
  const pickNoCache = perCallUs(() => uncachedScheduler.pickWeightedConfig(node), 5_000)
  state.destroy()

  return [{
    name: `Managers: ranking ${nodes} nodes and picking a selfplay config, per call (targets: ranking < 1 ms, pick < 100 µs)`,
    values: {
      'rank, uncached (score + 3 rankings)': fmt(rankUncached),
      'rank, uncached (bestGpuNodeForTraining)': fmt(trainingOnly),
      'rank, cached (NodeSelector, 10 s cache)': fmt(rankCached),
      'ranking target met (uncached < 1000 µs)': rankUncached < 1000 ? 'yes' : 'NO',
      'pick, cached weights (SelfplayScheduler)': fmt(pickCached),
      'pick, weights recomputed from scratch (pure)': fmt(pickRecompute),
      'pick, weights re-read from the document each call': fmt(pickNoCache),
      'pick target met (cached < 100 µs)': pickCached < 100 ? 'yes' : 'NO',
      'cache speed-up, ranking': `${(rankUncached / rankCached).toFixed(0)}×`,
      'cache speed-up, pick': `${(pickNoCache / pickCached).toFixed(0)}×`
    }
  }]
}

/**
 * Jobs benchmark (issue 7):
 *  1. dispatch-to-running latency on an idle 3-node loopback cluster of real `riftmesh node`
 *     processes: from the leader writing the dispatch to the worker's process having started
 *     (the status's startedAt), p50 and p99 — target p50 ≤ 1 s;
 *  2. dispatch decisions per second on the leader with 1,000 nodes and 10,000 queued jobs —
 *     target ≥ 1,000/s — for the whole pass (views, targets, weighted picks, document writes)
 *     and for the decision alone.
 */
import { seededSigner } from '../../src/state/entry-sig.js'
const BENCH_SIGNER = seededSigner('bench-jobs')
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VirtualClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { NodeSelector } from '../../src/managers/node-selector.js'
import { SelfplayScheduler } from '../../src/managers/selfplay-scheduler.js'
import { JobLeader } from '../../src/managers/job-leader.js'
import { activeSelfplayByNode, planSelfplay } from '../../src/jobs/lifecycle.js'
import type { NodeView } from '../../src/managers/scores.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { tempDir } from '../helpers.js'
import { FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { signedSetting, testOperator } from '../support/operator.js'
import type { SizeResult } from './state-size.js'

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

async function latency (samples = 60): Promise<{ p50: number, p99: number, n: number }> {
  const { dir, cleanup } = await tempDir('riftmesh-bench-jobs-')
  const nodes: NodeProcess[] = []
  try {
    const key = join(dir, 'swarm.key')
    await writeSwarmKey(key)
    const op = await testOperator(dir)
    const script = join(dir, 'quick.cjs')
    await writeFile(script, "setTimeout(() => process.exit(0), 200)\n")
    const args = ['--swarm-key', key, ...FAST_TIMINGS, '--set', 'election.leaseMs=2000', '--set', 'election.renewIntervalMs=500',
      '--set', 'jobs.selfplayDispatchIntervalMs=250', '--set', 'jobs.spawnRatePerMinute=10000', '--set', 'training.readinessIntervalMs=600000', ...op.args]
    nodes.push(await startNodeProcess(join(dir, 'a'), args))
    nodes.push(await startNodeProcess(join(dir, 'b'), [...args, '--bootstrap', nodes[0]!.addr]))
    nodes.push(await startNodeProcess(join(dir, 'c'), [...args, '--bootstrap', nodes[0]!.addr]))
    await signedSetting(nodes[0]!, op, 'jobCommands', { selfplay: [process.execPath, script] })
    await signedSetting(nodes[0]!, op, 'voters', nodes.map(n => n.peerId), true) // the others may not be heard yet
    const deadline = Date.now() + 120_000
    for (;;) {
      const jobs = await nodes[0]!.request('jobs') as Array<{ createdAt: number, startedAt: number | null, node: string }>
      const started = jobs.filter(j => j.startedAt !== null)
      if (started.length >= samples || Date.now() > deadline) {
        const lat = started.map(j => (j.startedAt as number) - j.createdAt).sort((a, b) => a - b)
        return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), n: lat.length }
      }
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  } finally {
    await Promise.all(nodes.map(async n => await n.stop('SIGKILL')))
    await cleanup()
  }
}

function leaderWithQueue (nodes: number, queued: number): { leader: JobLeader, state: ClusterState, views: NodeView[] } {
  const clock = new VirtualClock(1_700_000_000_000)
  const state = new ClusterState({ clock, logger: silentLogger(), rng: new SeededRng(1), signer: BENCH_SIGNER }, { bucketMaxJobs: 100_000 })
  const rng = new SeededRng(2)
  const views: NodeView[] = []
  for (let i = 0; i < nodes; i++) {
    const gpu = rng.next() < 0.3
    views.push({
      info: {
        v: 1, nodeId: `node-${String(i).padStart(5, '0')}`, host: 'h', addrs: [], version: 'bench', startedAt: 1,
        hardware: { cpuCount: 16 + rng.int(112), memoryGb: 64, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: gpu, gpuName: gpu ? 'NVIDIA A100' : '', gpuCount: gpu ? 1 : 0, gpuMemoryGb: gpu ? 80 : 0 },
        capabilities: gpu ? ['selfplay', 'training', 'gauntlet', 'export'] : ['selfplay', 'export', 'gauntlet'],
        flags: { voter: false, retired: false, leaderEligible: true }
      },
      health: 'ALIVE',
      load: { cpuPercent: 20, memoryPercent: 30, diskPercent: 20, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 2, trainingJobs: 0 }
    })
  }
  for (let k = 0; k < queued; k++) {
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: views[k % nodes]!.info.nodeId, dispatchEpoch: 1, attempt: 1, previousJobId: null })
  }
  const selector = new NodeSelector({ views: { nodeViews: () => views }, clock, logger: silentLogger() })
  const scheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(3), logger: silentLogger() })
  const leadership = { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: BENCH_SIGNER.id, epoch: 1 }) }
  const leader = new JobLeader({ state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock, logger: silentLogger() }, { maxSelfplayPerNodePerPass: 4 })
  return { leader, state, views }
}

export async function jobsBench (): Promise<SizeResult[]> {
  const NODES = 1000
  const QUEUED = 10_000
  // whole passes: every node has 10 queued, targets up to 38 → thousands of decisions per pass
  const { leader, state } = leaderWithQueue(NODES, QUEUED)
  const t0 = performance.now()
  const decided = leader.dispatchSelfplay()
  const passMs = performance.now() - t0
  const jobsAfter = state.jobs().length
  // the decision alone (targets and weighted picks over the same view, no document writes)
  const { views, state: s2 } = leaderWithQueue(NODES, QUEUED)
  const scheduler = new SelfplayScheduler({ state: s2, clock: new VirtualClock(0), rng: new SeededRng(9), logger: silentLogger() })
  const byId = new Map(views.map(v => [v.info.nodeId, v]))
  let planned = 0
  const t1 = performance.now()
  for (let round = 0; round < 5; round++) {
    const active = activeSelfplayByNode(s2.jobs())
    const bp = scheduler.backpressure([])
    const plan = planSelfplay(views.map(v => ({ nodeId: v.info.nodeId, active: active.get(v.info.nodeId) ?? 0, target: scheduler.targetJobsForNode(v, active.get(v.info.nodeId) ?? 0, bp) })),
      id => scheduler.pickWeightedConfig((byId.get(id) as NodeView).info), 4, 100_000)
    planned += plan.length
  }
  const planMs = performance.now() - t1
  state.destroy()
  s2.destroy()
  const lat = await latency()
  return [{
    name: 'Jobs: dispatch-to-running latency (3 real nodes, loopback) and leader dispatch decisions (1,000 nodes, 10,000 queued jobs)',
    values: {
      'latency samples': lat.n,
      'dispatch → process started p50': `${lat.p50} ms`,
      'dispatch → process started p99': `${lat.p99} ms`,
      'latency target met (p50 ≤ 1000 ms)': lat.p50 <= 1000 ? 'yes' : 'NO',
      'leader pass: dispatches written': decided,
      'leader pass: wall time': `${passMs.toFixed(0)} ms`,
      'leader pass: decisions per second (incl. document writes)': Math.round(decided / (passMs / 1000)),
      'decisions alone per second (targets + weighted picks)': Math.round(planned / (planMs / 1000)),
      'throughput target met (≥ 1000/s incl. writes)': decided / (passMs / 1000) >= 1000 ? 'yes' : 'NO',
      'jobs in the document after the pass': jobsAfter
    }
  }]
}

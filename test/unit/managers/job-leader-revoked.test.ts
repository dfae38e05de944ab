/**
 * A revoked node is dead to the job leader: its pending and running jobs are LOST at the next
 * cleanup pass (not after the job heartbeat timeout) and re-run elsewhere, and it gets no new
 * work — its NodeInfo, manifest and job status no longer count in any view.
 */
import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { DEFAULT_CLEANUP_INTERVAL_MS } from '../../../src/config/defaults.js'
import { JobLeader, withRevokedLosses } from '../../../src/managers/job-leader.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { SelfplayScheduler } from '../../../src/managers/selfplay-scheduler.js'
import type { Leadership } from '../../../src/managers/training-coordinator.js'
import type { CleanupAction } from '../../../src/jobs/lifecycle.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { seededSigner } from '../../../src/state/entry-sig.js'
import type { JobView } from '../../../src/state/jobs.js'
import { makeState, nodeId, sampleNodeInfo, syncAll } from '../../helpers.js'
import { CPU_CAPS, IDLE, cpuHw } from './fixtures.js'

const operator = seededSigner('job-leader-revoked/operator')

function job (jobId: string, state: JobView['state'], node: string): JobView {
  return { jobId, state, bucketId: 'b', status: undefined, verdicts: [], dispatch: { assignedNode: node } } as unknown as JobView
}

describe('withRevokedLosses', () => {
  const revoked = new Set(['R'])
  const isRevoked = (id: string): boolean => revoked.has(id)
  const expireJ2: CleanupAction = { kind: 'expire', jobId: 'j2', reason: 'not started within 300 s' }
  const lostJ4: CleanupAction = { kind: 'lost', jobId: 'j4', reason: 'no job heartbeat' }
  const table: Array<{ name: string, jobs: JobView[], plan: CleanupAction[], lost: string[], kept: CleanupAction[] }> = [
    { name: 'nothing revoked: the plan as it was', jobs: [job('j1', 'RUNNING', 'A')], plan: [lostJ4], lost: [], kept: [lostJ4] },
    { name: 'running and pending jobs of a revoked node are lost', jobs: [job('j1', 'RUNNING', 'R'), job('j2', 'PENDING', 'R')], plan: [], lost: ['j1', 'j2'], kept: [] },
    { name: 'what the plan said of those jobs gives way', jobs: [job('j2', 'PENDING', 'R')], plan: [expireJ2, lostJ4], lost: ['j2'], kept: [lostJ4] },
    { name: 'ended or already lost jobs of a revoked node are left alone', jobs: [job('j5', 'COMPLETE', 'R'), job('j6', 'LOST', 'R'), job('j7', 'FAILED', 'R')], plan: [], lost: [], kept: [] }
  ]
  for (const t of table) {
    it(t.name, () => {
      const out = withRevokedLosses(t.plan, t.jobs, isRevoked)
      expect(out.filter(a => a.kind === 'lost' && a.reason === 'node R is revoked').map(a => (a as { jobId: string }).jobId)).toEqual(t.lost)
      expect(out.filter(a => !(a.kind === 'lost' && a.reason === 'node R is revoked'))).toEqual(t.kept)
    })
  }
})

describe('JobLeader with a revoked node', () => {
  /** Leader 0 and workers 1, 2, every node with the operator key as its trust root; a selfplay job runs on node 1. */
  function world (): { clock: VirtualClock, states: ClusterState[], leader: JobLeader, state: ClusterState } {
    const clock = new VirtualClock(1_700_000_000_000)
    const states = [0, 1, 2].map(i => {
      const s = makeState(i, i + 1, { operators: [operator.id] }, clock)
      s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: CPU_CAPS }))
      return s
    })
    syncAll(states)
    const state = states[0] as ClusterState
    const logger = silentLogger()
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
    const selector = new NodeSelector({ views, clock, logger }, { rankingCacheMs: 0 })
    const scheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(1), logger })
    const leadership: Leadership = { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) }
    const leader = new JobLeader({ state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock, logger })
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 1, previousJobId: null })
    syncAll(states)
    const worker = states[1] as ClusterState
    worker.setManifest({ v: 1, nodeId: worker.selfId, generatedAt: 1, totalFiles: 0, totalBytes: 0, summary: {}, files: {}, truncated: false })
    const jobId = (state.jobs()[0] as JobView).jobId
    const now = clock.nowMs()
    worker.setJobStatus({ v: 1, jobId, node: worker.selfId, state: 'RUNNING', pid: 1, startedAt: now, heartbeatAt: now, endedAt: null, exitCode: null, error: null, outputs: [], engineMode: 'heuristic' })
    syncAll(states)
    return { clock, states, leader, state }
  }

  function revoke (state: ClusterState, target: string): void {
    const { key, raw } = state.signTrustEntry(operator, { action: 'revoke', target, at: 0, reason: 'lost laptop' })
    state.writeSigned('trust', key, raw)
  }

  it('loses the revoked node\'s running job at the next pass, re-runs it on another node, and gives it nothing new', () => {
    const w = world()
    expect(w.leader.cleanup()).toEqual([])
    expect(w.state.jobs().map(j => j.state)).toEqual(['RUNNING'])
    expect(w.state.manifest(nodeId(1))).toBeDefined()
    revoke(w.state, nodeId(1))
    // every entry node 1 signed leaves the view: its NodeInfo, its manifest, its job's status
    expect(w.state.nodes().map(n => n.nodeId)).toEqual([nodeId(0), nodeId(2)].sort())
    expect(w.state.manifest(nodeId(1))).toBeUndefined()
    expect(w.state.jobs().map(j => [j.state, j.status])).toEqual([['PENDING', undefined]])
    expect(w.state.stats.snapshot()).toMatchObject({ 'nodes:revoked': 1, 'manifests:revoked': 1, 'jobs.status:revoked': 1 })
    expect(w.leader.cleanup().map(a => [a.kind, 'reason' in a ? a.reason : null])).toEqual([['lost', `node ${nodeId(1)} is revoked`]])
    w.clock.advance(DEFAULT_CLEANUP_INTERVAL_MS)
    expect(w.leader.cleanup().map(a => a.kind)).toEqual(['redispatch'])
    const [first, again] = w.state.jobs()
    expect([first?.state, first?.dispatch.assignedNode]).toEqual(['LOST', nodeId(1)])
    expect(again?.state).toBe('PENDING')
    expect([nodeId(0), nodeId(2)]).toContain(again?.dispatch.assignedNode)
  })

  it('without the revocation the same job is left running (the job heartbeat timeout has not passed)', () => {
    const w = world()
    w.clock.advance(DEFAULT_CLEANUP_INTERVAL_MS)
    expect(w.leader.cleanup()).toEqual([])
    expect(w.state.jobs().map(j => j.state)).toEqual(['RUNNING'])
  })
})

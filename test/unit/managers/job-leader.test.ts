import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { DEFAULT_CLEANUP_INTERVAL_MS } from '../../../src/config/defaults.js'
import { JobLeader } from '../../../src/managers/job-leader.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { SelfplayScheduler } from '../../../src/managers/selfplay-scheduler.js'
import type { Leadership } from '../../../src/managers/training-coordinator.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { makeState, nodeId, sampleNodeInfo, syncAll } from '../../helpers.js'
import { CPU_CAPS, IDLE, cpuHw } from './fixtures.js'

/** A leader (0) and four workers over one virtual clock; workers start what they are given and then hang (no job heartbeat). */
class World {
  readonly clock = new VirtualClock(1_700_000_000_000)
  readonly states: ClusterState[] = Array.from({ length: 5 }, (_, i) => {
    const s = makeState(i, i + 1, {}, this.clock)
    s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: CPU_CAPS }))
    return s
  })

  readonly leader: JobLeader
  constructor () {
    syncAll(this.states)
    const state = this.states[0] as ClusterState
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
    const logger = silentLogger()
    const selector = new NodeSelector({ views, clock: this.clock, logger }, { rankingCacheMs: 0 })
    const scheduler = new SelfplayScheduler({ state, clock: this.clock, rng: new SeededRng(1), logger })
    const leadership: Leadership = { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) }
    this.leader = new JobLeader({ state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock: this.clock, logger })
  }

  /** Every PENDING job is started by its node with one job heartbeat, never another. */
  startPending (): void {
    syncAll(this.states)
    for (const j of this.states[0]?.jobs() ?? []) {
      if (j.state !== 'PENDING') continue
      const worker = this.states.find(s => s.selfId === j.dispatch.assignedNode) as ClusterState
      const now = this.clock.nowMs()
      worker.setJobStatus({ v: 1, jobId: j.jobId, node: worker.selfId, state: 'RUNNING', pid: 1, startedAt: now, heartbeatAt: now, endedAt: null, exitCode: null, error: null, outputs: [], engineMode: 'heuristic' })
    }
    syncAll(this.states)
  }
}

describe('JobLeader cleanup timeline', () => {
  it('re-dispatches a LOST job 60 / 60 / 120 s after each LOST verdict with the default 60 s pass, then gives up', () => {
    const w = new World()
    const state = w.states[0] as ClusterState
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 1, previousJobId: null })
    w.startPending()
    const lostAt: number[] = []
    const redispatchedAt: number[] = []
    let gaveUpAt: number | undefined
    const start = w.clock.nowMs()
    while (gaveUpAt === undefined && w.clock.nowMs() - start < 3 * 3_600_000) {
      w.clock.advance(DEFAULT_CLEANUP_INTERVAL_MS)
      const t = w.clock.nowMs() - start
      for (const a of w.leader.cleanup()) {
        if (a.kind === 'lost') lostAt.push(t)
        if (a.kind === 'redispatch') redispatchedAt.push(t)
        if (a.kind === 'give-up') gaveUpAt = t
      }
      w.startPending()
    }
    expect(lostAt).toHaveLength(4)
    expect(redispatchedAt.map((r, i) => (r - (lostAt[i] as number)) / 1000)).toEqual([60, 60, 120])
    expect(gaveUpAt).toBe((lostAt[3] as number) + DEFAULT_CLEANUP_INTERVAL_MS)
    expect(state.jobs().map(j => j.state)).toEqual(['LOST', 'LOST', 'LOST', 'FAILED'])
  })

  it('the pass that writes a verdict counts the job quiet from that verdict', () => {
    const w = new World()
    const state = w.states[0] as ClusterState
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 1, previousJobId: null })
    w.startPending()
    w.leader.cleanup()
    w.clock.advance(300_000) // the default job heartbeat timeout
    expect(w.leader.cleanup().map(a => a.kind)).toEqual(['lost'])
    w.clock.advance(30_000)
    expect(w.leader.observe(state.jobs()).map(o => [o.job.state, o.quietMs])).toEqual([['LOST', 30_000]])
  })
})

describe('JobLeader selfplay in the model engine modes', () => {
  /** A leader and one worker, both GPU boxes; the only selfplay row is hex8_2p in nnue-guided. */
  function world (): { leader: JobLeader, state: ClusterState } {
    const clock = new VirtualClock(1_700_000_000_000)
    const state = makeState(0, 1, {}, clock)
    const worker = makeState(1, 2, {}, clock)
    state.setNodeInfo(sampleNodeInfo(nodeId(0)))
    worker.setNodeInfo(sampleNodeInfo(nodeId(1)))
    syncAll([state, worker])
    const configs = ['square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'square19_4p', 'hex8_2p', 'hex8_3p', 'hex8_4p', 'hexagonal_2p', 'hexagonal_3p', 'hexagonal_4p']
    state.setSetting('staticPriority', Object.fromEntries(configs.map(c => [c, 0])))
    state.setSetting('engineMixes', { 'hex8_2p:nnue-guided': 50 })
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
    const logger = silentLogger()
    const selector = new NodeSelector({ views, clock, logger }, { rankingCacheMs: 0 })
    const scheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(1), logger })
    const leadership: Leadership = { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) }
    return { state, leader: new JobLeader({ state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock, logger }) }
  }

  it('hands the config\'s best model to a model-mode selfplay job, so the worker syncs it and plays it', () => {
    const { state, leader } = world()
    state.setModel({ v: 1, config: 'hex8_2p', modelId: 'm7', path: 'models/hex8_2p/m7.json', elo: 1600, ownerNode: state.selfId, promotedAt: 1, epoch: 1, history: [] })
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
    const jobs = state.jobs()
    expect(jobs.length).toBeGreaterThan(0)
    for (const j of jobs) {
      expect(j.dispatch.engineMode).toBe('nnue-guided')
      expect(j.dispatch.spec.modelPath).toBe('models/hex8_2p/m7.json')
    }
  })

  it('without a promoted model dispatches heuristic instead, and the record says why', () => {
    const { state, leader } = world()
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
    for (const j of state.jobs()) {
      expect(j.dispatch.engineMode).toBe('heuristic')
      expect(j.dispatch.spec.modelPath).toBe('')
      expect(j.dispatch.spec.requestedEngineMode).toBe('nnue-guided')
      expect(j.dispatch.spec.engineFallback).toMatch(/hex8_2p has none promoted yet: ran heuristic instead/)
    }
  })
})

import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { createLogger, silentLogger, type Logger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { DEFAULT_CLEANUP_INTERVAL_MS } from '../../../src/config/defaults.js'
import { JobLeader } from '../../../src/managers/job-leader.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { SelfplayScheduler } from '../../../src/managers/selfplay-scheduler.js'
import type { Leadership } from '../../../src/managers/training-coordinator.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { makeState, nodeId, sampleNodeInfo, syncAll } from '../../helpers.js'
import { CPU_CAPS, GPU_CAPS, IDLE, cpuHw, gpuHw, load } from './fixtures.js'

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

  /** The leader's state, with one selfplay job dispatched to node 1 and started there. */
  oneRunningJob (): ClusterState {
    const state = this.states[0] as ClusterState
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 1, previousJobId: null })
    this.startPending()
    return state
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
    const state = w.oneRunningJob()
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
    const state = w.oneRunningJob()
    w.leader.cleanup()
    w.clock.advance(300_000) // the default job heartbeat timeout
    expect(w.leader.cleanup().map(a => a.kind)).toEqual(['lost'])
    w.clock.advance(30_000)
    expect(w.leader.observe(state.jobs()).map(o => [o.job.state, o.quietMs])).toEqual([['LOST', 30_000]])
  })
})

describe('JobLeader cleanup under selfplay backpressure', () => {
  it('does not re-run a LOST selfplay job while selfplay is paused, and re-runs it at the first pass after the pause lifts', () => {
    const w = new World()
    const state = w.oneRunningJob()
    w.leader.cleanup()
    w.clock.advance(300_000)
    expect(w.leader.cleanup().map(a => a.kind)).toEqual(['lost'])
    state.setSetting('selfplayPaused', true)
    for (let i = 0; i < 5; i++) {
      w.clock.advance(DEFAULT_CLEANUP_INTERVAL_MS)
      w.leader.cleanup()
    }
    expect(state.jobs().map(j => j.state)).toEqual(['LOST'])
    state.unsetSetting('selfplayPaused')
    w.clock.advance(DEFAULT_CLEANUP_INTERVAL_MS)
    w.leader.cleanup()
    expect(state.jobs().map(j => [j.state, j.dispatch.attempt])).toEqual([['LOST', 1], ['PENDING', 2]])
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

describe('JobLeader selfplay backpressure', () => {
  /** A CPU leader (0) and two GPU training nodes (1, 2) whose disk use the test sets. */
  function world (o: { maxUntrainedGames?: number, leader?: boolean, logger?: Logger } = {}): {
    state: ClusterState, leader: JobLeader, clock: VirtualClock, disk: Map<string, number>
  } {
    const clock = new VirtualClock(1_700_000_000_000)
    const states = [0, 1, 2].map(i => {
      const s = makeState(i, i + 1, {}, clock)
      s.setNodeInfo(sampleNodeInfo(nodeId(i), i === 0 ? { hardware: cpuHw(), capabilities: CPU_CAPS } : { hardware: gpuHw('NVIDIA H100'), capabilities: GPU_CAPS }))
      return s
    })
    syncAll(states)
    const state = states[0] as ClusterState
    const disk = new Map<string, number>()
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: load({ diskPercent: disk.get(info.nodeId) ?? 10 }) })) }
    const logger = o.logger ?? silentLogger()
    const selector = new NodeSelector({ views, clock, logger }, { rankingCacheMs: 0 })
    const scheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(1), logger }, { weightsCacheMs: 0, backpressure: { maxUntrainedGames: o.maxUntrainedGames ?? 100_000 } })
    const leadership: Leadership = o.leader === false
      ? { leaderEpoch: () => undefined, currentLeader: () => undefined }
      : { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) }
    const leader = new JobLeader({ state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock, logger }, { leaderlessSelfplayAfterMs: 1_000 })
    return { state, leader, clock, disk }
  }

  /** This node's manifest: `games` of hex8_2p in one file. */
  function publishGames (state: ClusterState, games: number): void {
    const f = { size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), kind: 'selfplay' as const, config: 'hex8_2p' as const, gameCount: games }
    state.setManifest({ v: 1, nodeId: state.selfId, generatedAt: 1, totalFiles: 1, totalBytes: 1, summary: {}, files: { 'selfplay/hex8_2p/a.jsonl': f }, truncated: false })
  }

  function trained (state: ClusterState, games: number): void {
    state.setTrainingRecord({ v: 1, config: 'hex8_2p', lastDispatchAt: 1, lastJobId: null, dispatchedGames: games, trainedGames: games, fingerprints: [], epoch: 1 })
  }

  it('dispatches no selfplay while the operator setting selfplayPaused is true, and again once it is unset', () => {
    const { state, leader } = world()
    state.setSetting('selfplayPaused', true)
    expect(leader.dispatchSelfplay()).toBe(0)
    expect(state.jobs()).toEqual([])
    expect(leader.selfplayBackpressure()).toMatchObject({ active: true, signals: ['paused'] })
    state.unsetSetting('selfplayPaused')
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
  })

  it('pauses while the untrained backlog reaches scheduler.maxUntrainedGames, and resumes once a training has used the games', () => {
    const { state, leader } = world({ maxUntrainedGames: 3_000 })
    publishGames(state, 3_000)
    expect(leader.dispatchSelfplay()).toBe(0)
    expect(leader.selfplayBackpressure().cause).toBe('3000 untrained games ≥ 3000 (scheduler.maxUntrainedGames; most in hex8_2p: 3000)')
    trained(state, 2_000)
    expect(leader.selfplayBackpressure()).toMatchObject({ active: false, untrainedGames: 1_000 })
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
  })

  it('pauses while every training node\'s disk is at its limit, not while one of them has room', () => {
    const { state, leader, disk } = world()
    disk.set(nodeId(1), 95)
    disk.set(nodeId(2), 50)
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
    disk.set(nodeId(2), 80)
    const before = state.jobs().length
    expect(leader.dispatchSelfplay()).toBe(0)
    expect(state.jobs()).toHaveLength(before)
    expect(leader.selfplayBackpressure().cause).toBe(`every training node's disk is at or above 70 % (health.maxDiskPercentForWork): the emptiest, ${nodeId(2)}, is 80 % full`)
  })

  it('a leaderless node honours the pause for its own selfplay', () => {
    const { state, leader, clock } = world({ leader: false })
    clock.advance(2_000)
    state.setSetting('selfplayPaused', true)
    expect(leader.dispatchSelfplay()).toBe(0)
    state.unsetSetting('selfplayPaused')
    expect(leader.dispatchSelfplay()).toBeGreaterThan(0)
    expect(state.jobs().every(j => j.dispatch.spec.leaderless === true && j.dispatch.assignedNode === state.selfId)).toBe(true)
  })

  it('logs the pause and its cause once per change of cause, not every pass, and logs when it lifts', () => {
    const lines: Array<Record<string, unknown>> = []
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } } })
    const { state, leader } = world({ maxUntrainedGames: 3_000, logger })
    const said = (): string[] => lines.filter(l => l.component === 'job-leader' && /^selfplay (paused|resumed)/.test(String(l.msg))).map(l => String(l.msg))
    leader.dispatchSelfplay()
    expect(said()).toEqual([])
    state.setSetting('selfplayPaused', true)
    for (let i = 0; i < 3; i++) leader.dispatchSelfplay()
    publishGames(state, 3_500)
    for (let i = 0; i < 3; i++) leader.dispatchSelfplay()
    publishGames(state, 4_000) // the count changes, the cause does not
    leader.dispatchSelfplay()
    state.unsetSetting('selfplayPaused')
    trained(state, 4_000)
    for (let i = 0; i < 3; i++) leader.dispatchSelfplay()
    expect(said()).toEqual([
      'selfplay paused — paused by the operator (setting selfplayPaused; unset it to resume)',
      'selfplay paused — paused by the operator (setting selfplayPaused; unset it to resume); 3500 untrained games ≥ 3000 (scheduler.maxUntrainedGames; most in hex8_2p: 3500)',
      'selfplay resumed: no backpressure'
    ])
  })
})

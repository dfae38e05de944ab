import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { SelfplayScheduler, noPickCause } from '../../../src/managers/selfplay-scheduler.js'
import { makeState, nodeId, sampleNodeInfo } from '../../helpers.js'
import { cpuHw, gpuHw } from './fixtures.js'
import { receiveRawSetting } from '../../support/raw-setting.js'
import type { ManifestFile } from '../../../src/state/schema.js'
import { ALL_CONFIG_KEYS } from '../../../src/state/schema.js'
import { capturingLogger, warnings } from '../../support/capture-log.js'

describe('SelfplayScheduler', () => {
  function setup (): { clock: VirtualClock, state: ReturnType<typeof makeState>, sched: SelfplayScheduler } {
    const clock = new VirtualClock(1_000_000)
    const state = makeState(0, 1, {}, clock)
    const sched = new SelfplayScheduler({ state, clock, rng: new SeededRng(7), logger: silentLogger() })
    return { clock, state, sched }
  }

  it('reads priorities from the document and applies a changed setting after the 60 s cache', () => {
    const { clock, state, sched } = setup()
    const node = sampleNodeInfo(nodeId(1), { hardware: gpuHw('NVIDIA H100') })
    const w = (config: string): number | undefined => {
      const t = sched.weightsFor(node.hardware)
      return t.weights[t.candidates.findIndex(c => c.config === config)]
    }
    expect(w('hex8_2p')).toBe(8)
    expect(w('square8_2p')).toBe(5)
    state.setSetting('boardOverrides', { hex8: 'critical', square8_2p: 2 })
    state.setSetting('curriculumWeights', { square8_2p: 1.5 })
    state.setModel({ v: 1, config: 'square8_2p', modelId: 'm', path: 'p', ownerNode: nodeId(1), elo: 1450, promotedAt: 1, epoch: 1, history: [] })
    expect(w('hex8_2p')).toBe(8) // cached
    clock.advance(60_000)
    expect(w('hex8_2p')).toBe(14)
    expect(w('hex8_3p')).toBe(14) // a board override covers every player count
    expect(w('hexagonal_2p')).toBe(8) // hexagonal is another board
    expect(w('square8_2p')).toBe(5 + 2 + 2 + 2)
  })

  it('ignores a setting of the wrong shape from a peer and keeps the defaults', () => {
    const { state, sched } = setup()
    receiveRawSetting(state, nodeId(9), { name: 'staticPriority', value: { hex8_2p: 'lots' }, version: 5 })
    const t = sched.weightsFor(cpuHw())
    expect(t.weights[t.candidates.findIndex(c => c.config === 'hex8_2p')]).toBe(8)
  })

  it('adds engine-mix rows from settings, never a GPU-only mix to a CPU node', () => {
    const { state, sched } = setup()
    state.setSetting('engineMixes', { 'square8_2p:mcts': 4, 'square8_2p:brs': 3 })
    const cpu = sched.weightsFor(cpuHw()).candidates.filter(c => c.config === 'square8_2p').map(c => c.engineMode)
    const gpu = sched.weightsFor(gpuHw('NVIDIA H100')).candidates.filter(c => c.config === 'square8_2p').map(c => c.engineMode)
    expect(cpu).toEqual(['heuristic', 'brs'])
    expect(gpu).toEqual(['gumbel-mcts', 'brs', 'mcts'])
  })

  it('records each pick in the diversity metrics', () => {
    const { sched } = setup()
    const node = sampleNodeInfo(nodeId(1), { hardware: cpuHw() })
    for (let i = 0; i < 50; i++) expect(sched.pickWeightedConfig(node)).not.toBeNull()
    const m = sched.diversity()
    expect(m.selections).toBe(50)
    expect(m.byEngineMode).toEqual({ heuristic: 50 })
    expect(Object.values(m.byConfig).reduce((a, b) => a + b, 0)).toBe(50)
  })
})

describe('SelfplayScheduler: nothing to play', () => {
  it('says "no selfplay config this node can run" once per node and cause over many passes, and once when it clears', () => {
    const clock = new VirtualClock(1_000_000)
    const state = makeState(0, 1, {}, clock)
    const { log, lines } = capturingLogger()
    const sched = new SelfplayScheduler({ state, clock, rng: new SeededRng(7), logger: log }, { weightsCacheMs: 0 })
    const a = sampleNodeInfo(nodeId(1), { hardware: cpuHw() })
    const b = sampleNodeInfo(nodeId(2), { hardware: gpuHw('NVIDIA H100') })
    state.setSetting('staticPriority', Object.fromEntries(ALL_CONFIG_KEYS.map(k => [k, 0])))
    // a dispatch pass every 2 s for 13 min: 390 passes, two nodes
    for (let i = 0; i < 390; i++) {
      expect(sched.pickWeightedConfig(a)).toBeNull()
      expect(sched.pickWeightedConfig(b)).toBeNull()
      clock.advance(2_000)
    }
    expect(warnings(lines).map(l => [l.node, l.msg])).toEqual([
      [nodeId(1), 'no selfplay config this node can run: every config\'s static priority is 0 (setting staticPriority)'],
      [nodeId(2), 'no selfplay config this node can run: every config\'s static priority is 0 (setting staticPriority)']
    ])
    state.setSetting('staticPriority', { hex8_2p: 3 })
    for (let i = 0; i < 10; i++) expect(sched.pickWeightedConfig(a)).not.toBeNull()
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatchObject({ level: 30, node: nodeId(1), msg: 'resolved: no selfplay config this node can run: every config\'s static priority is 0 (setting staticPriority)' })
  })
})

describe('noPickCause', () => {
  const cand = { config: 'hex8_2p' as const, engineMode: 'heuristic', staticPriority: 3 }
  it.each<[string, Parameters<typeof noPickCause>[1], Parameters<typeof noPickCause>[2], string]>([
    ['every static priority 0', [{ config: 'hex8_2p', engineMode: null, staticPriority: 0 }], { candidates: [], weights: [], cumulative: [], total: 0 }, 'priority'],
    ['priorities, but none suits the hardware', [{ config: 'hexagonal_2p', engineMode: null, staticPriority: 5 }], { candidates: [], weights: [], cumulative: [], total: 0 }, 'hardware'],
    ['candidates whose effective priority is 0', [{ config: 'hex8_2p', engineMode: null, staticPriority: 3 }], { candidates: [cand], weights: [0], cumulative: [0], total: 0 }, 'weight']
  ])('%s', (_n, rows, table, key) => {
    const c = noPickCause('n1', rows, table)
    expect(c.key).toBe(key)
    expect(c.msg).toMatch(/^no selfplay config this node can run: /)
    expect(c.fields).toMatchObject({ node: 'n1' })
  })
})

describe('SelfplayScheduler backpressure', () => {
  function setup (maxUntrainedGames = 3_000): { clock: VirtualClock, state: ReturnType<typeof makeState>, sched: SelfplayScheduler } {
    const clock = new VirtualClock(1_000_000)
    const state = makeState(0, 1, {}, clock)
    return { clock, state, sched: new SelfplayScheduler({ state, clock, rng: new SeededRng(7), logger: silentLogger() }, { backpressure: { maxUntrainedGames } }) }
  }
  const file = (n: number, config: 'hex8_2p' | 'square8_2p', gameCount: number): ManifestFile =>
    ({ size: 1, mtimeMs: 1, sha256: n.toString(16).padStart(64, '0'), kind: 'selfplay', config, gameCount })
  const publish = (state: ReturnType<typeof makeState>, games: number): void =>
    state.setManifest({ v: 1, nodeId: state.selfId, generatedAt: 1, totalFiles: 1, totalBytes: 1, summary: {}, truncated: false, files: { 'selfplay/a': file(1, 'hex8_2p', games) } })

  it('sums the untrained backlog over configs from the manifests and training records in the document', () => {
    const { state, sched } = setup()
    state.setManifest({
      v: 1, nodeId: state.selfId, generatedAt: 1, totalFiles: 2, totalBytes: 2, summary: {}, truncated: false,
      files: { 'selfplay/a': file(1, 'hex8_2p', 2_500), 'selfplay/b': file(2, 'square8_2p', 1_000) }
    })
    expect(sched.backpressure([])).toMatchObject({ active: true, signals: ['untrained-backlog'], untrainedGames: 3_500 })
    state.setTrainingRecord({ v: 1, config: 'hex8_2p', lastDispatchAt: 1, lastJobId: null, dispatchedGames: 2_500, trainedGames: 2_000, fingerprints: [], epoch: 1 })
    expect(sched.backpressure([])).toMatchObject({ active: false, cause: null, untrainedGames: 1_500, maxUntrainedGames: 3_000 })
  })

  it('reads the operator\'s selfplayPaused, and ignores a malformed one from a peer', () => {
    const { state, sched } = setup()
    receiveRawSetting(state, nodeId(9), { name: 'selfplayPaused', value: 'yes', version: 5 })
    expect(sched.backpressure([]).active).toBe(false)
    state.setSetting('selfplayPaused', true)
    expect(sched.backpressure([]).signals).toEqual(['paused'])
    state.setSetting('selfplayPaused', false)
    expect(sched.backpressure([]).active).toBe(false)
  })

  it('gives every node a target of 0 while backpressure is active', () => {
    const { state, sched } = setup()
    const v = { info: sampleNodeInfo(nodeId(1), { hardware: gpuHw('NVIDIA H100', { cpuCount: 64 }) }), health: 'ALIVE' as const, load: undefined }
    expect(sched.targetJobsForNode(v, 0, sched.backpressure([]))).toBe(2)
    state.setSetting('selfplayPaused', true)
    expect(sched.targetJobsForNode(v, 0, sched.backpressure([]))).toBe(0)
  })

  it('refuses a bad backpressure limit, naming its config key', () => {
    const clock = new VirtualClock(0)
    const c = { state: makeState(0, 1, {}, clock), clock, rng: new SeededRng(1), logger: silentLogger() }
    expect(() => new SelfplayScheduler(c, { backpressure: { maxUntrainedGames: 0 } })).toThrow(/scheduler\.maxUntrainedGames/)
    expect(() => new SelfplayScheduler(c, { backpressure: { maxTrainingDiskPercent: 120 } })).toThrow(/health\.maxDiskPercentForWork/)
  })

  it('reuses the cluster\'s games per config for weightsCacheMs (every manifest is read), but applies the pause and training records at once', () => {
    const { clock, state, sched } = setup()
    expect(sched.backpressure([]).untrainedGames).toBe(0)
    publish(state, 3_500)
    expect(sched.backpressure([]).untrainedGames).toBe(0)
    state.setSetting('selfplayPaused', true)
    expect(sched.backpressure([]).signals).toEqual(['paused'])
    clock.advance(60_000)
    expect(sched.backpressure([])).toMatchObject({ signals: ['paused', 'untrained-backlog'], untrainedGames: 3_500 })
    state.setTrainingRecord({ v: 1, config: 'hex8_2p', lastDispatchAt: 1, lastJobId: null, dispatchedGames: 3_500, trainedGames: 3_500, fingerprints: [], epoch: 1 })
    expect(sched.backpressure([])).toMatchObject({ signals: ['paused'], untrainedGames: 0 })
    publish(state, 4_000)
    sched.invalidate()
    expect(sched.backpressure([]).untrainedGames).toBe(500)
  })
})

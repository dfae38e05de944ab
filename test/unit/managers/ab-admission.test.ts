import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { AdmissionLedger } from '../../../src/managers/admission.js'
import { AB_SETTING_PREFIX, abSettingValue, newAbDefinition } from '../../../src/managers/ab-test.js'
import { AbTestManager } from '../../../src/managers/ab-tests.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { makeState, nodeId, sampleNodeInfo } from '../../helpers.js'
import { GPU_CAPS, IDLE, cpuHw } from './fixtures.js'

describe('A/B tournaments are dispatched within what each node admits', () => {
  it('a node whose spawn window is full gets no tournament job until a start leaves the window', () => {
    const clock = new VirtualClock(1_700_000_000_000)
    const state = makeState(0, 1, {}, clock)
    // the leader is the only node: 2 starts a minute, one of them taken by a selfplay job in flight
    state.setNodeInfo(sampleNodeInfo(nodeId(0), { hardware: cpuHw(), capabilities: GPU_CAPS, admission: { maxProcesses: 32, spawnRatePerMinute: 2 } }))
    state.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(0), dispatchEpoch: 1, attempt: 1, previousJobId: null })
    for (const id of ['ab-one', 'ab-two']) {
      const d = newAbDefinition({ id, config: 'hex8_2p', modelA: 'models/a.json', modelB: 'models/b.json', owner: nodeId(0) })
      state.setSetting(`${AB_SETTING_PREFIX}${id}`, abSettingValue(d))
    }
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
    const ab = new AbTestManager({
      state, store: { putAbTest: async () => {}, abTest: async () => undefined, abTests: async () => [], addAbTestGame: async () => {}, abTestGames: async () => [] },
      selector: new NodeSelector({ views, clock, logger: silentLogger() }, { rankingCacheMs: 0 }), flush: async () => {}, clock, rng: new SeededRng(3), logger: silentLogger(),
      leadership: { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) },
      admission: new AdmissionLedger({ state, clock })
    })
    // two tests want a job each on the one node; it admits one more start
    expect(ab.dispatch()).toBe(1)
    expect(ab.dispatch()).toBe(0)
    // both in-flight jobs start; a minute after they were seen started the window has room again
    for (const j of state.jobs()) {
      const now = clock.nowMs()
      state.setJobStatus({ v: 1, jobId: j.jobId, node: state.selfId, state: 'COMPLETE', pid: 1, startedAt: now, heartbeatAt: now, endedAt: now, exitCode: 0, error: null, outputs: [], engineMode: null })
    }
    expect(ab.dispatch()).toBe(0)
    clock.advance(59_000)
    expect(ab.dispatch()).toBe(0)
    clock.advance(1_000)
    expect(ab.dispatch()).toBe(2)
  })
})

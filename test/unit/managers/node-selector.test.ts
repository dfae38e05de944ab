import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { ConfigError } from '../../../src/core/errors.js'
import { gpuHw, view } from './fixtures.js'

describe('NodeSelector', () => {
  it('reuses a ranking for rankingCacheMs (10 s) and recomputes after', () => {
    const clock = new VirtualClock(0)
    let views: NodeView[] = [view('a100', { hw: gpuHw('NVIDIA A100') })]
    let reads = 0
    const sel = new NodeSelector({ views: { nodeViews: () => { reads++; return views } }, clock, logger: silentLogger() })
    expect(sel.bestGpuNodeForTraining()?.info.nodeId).toBe('a100')
    views = [...views, view('h100', { hw: gpuHw('NVIDIA H100') })]
    clock.advance(9_999)
    expect(sel.bestGpuNodeForTraining()?.info.nodeId).toBe('a100')
    expect(sel.trainingPrimaryNodes().map(v => v.info.nodeId)).toEqual(['a100'])
    expect(reads).toBe(1)
    clock.advance(1)
    expect(sel.bestGpuNodeForTraining()?.info.nodeId).toBe('h100')
    expect(sel.bestGpuNodeForTraining(['h100'])?.info.nodeId).toBe('a100')
    sel.invalidate()
    views = []
    expect(sel.bestGpuNodeForTraining()).toBeNull()
    expect(sel.trainingPrimaryNodes()).toEqual([])
    expect(sel.cpuPrimaryNodes()).toEqual([])
    expect(sel.nodesForEngineMode('heuristic')).toEqual([])
  })

  it('merges configured GPU scores over the built-in table', () => {
    const views = [view('mi', { hw: gpuHw('AMD Instinct MI300X') }), view('a100', { hw: gpuHw('NVIDIA A100') })]
    const sel = new NodeSelector({ views: { nodeViews: () => views }, clock: new VirtualClock(0), logger: silentLogger() }, { gpuScores: { MI300X: 2100 } })
    expect(sel.trainingPrimaryNodes().map(v => v.info.nodeId)).toEqual(['mi', 'a100'])
  })

  it('refuses bad init values with a ConfigError naming the key', () => {
    const c = { views: { nodeViews: () => [] }, clock: new VirtualClock(0), logger: silentLogger() }
    expect(() => new NodeSelector(c, { rankingCacheMs: -1 })).toThrow(ConfigError)
    expect(() => new NodeSelector(c, { trainingPrimaryCount: 0 })).toThrow(/trainingPrimaryCount/)
  })
})

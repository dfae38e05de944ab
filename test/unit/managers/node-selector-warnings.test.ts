import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { capturingLogger } from '../../support/capture-log.js'
import { cpuHw, gpuHw, view } from './fixtures.js'

describe('NodeSelector: "no node qualifies" once per selection while it lasts', () => {
  it('warns once over many recomputed rankings, then says once when a node qualifies again', () => {
    const clock = new VirtualClock(0)
    const { log, lines } = capturingLogger()
    let views: NodeView[] = [view('cpu', { hw: cpuHw() })]
    const sel = new NodeSelector({ views: { nodeViews: () => views }, clock, logger: log })
    // a CPU-only cluster: no GPU training node, asked every readiness pass for an hour
    for (let i = 0; i < 360; i++) {
      expect(sel.bestGpuNodeForTraining()).toBeNull()
      expect(sel.trainingPrimaryNodes()).toEqual([])
      clock.advance(10_000)
    }
    expect(lines.map(l => [l.level, l.what, l.msg])).toEqual([
      [40, 'bestGpuNodeForTraining', 'no node qualifies'],
      [40, 'trainingPrimaryNodes', 'no node qualifies']
    ])
    views = [...views, view('h100', { hw: gpuHw('NVIDIA H100') })]
    for (let i = 0; i < 10; i++) {
      expect(sel.bestGpuNodeForTraining()?.info.nodeId).toBe('h100')
      clock.advance(10_000)
    }
    expect(lines.slice(2).map(l => [l.level, l.what, l.msg])).toEqual([[30, 'bestGpuNodeForTraining', 'resolved: no node qualifies']])
  })
})

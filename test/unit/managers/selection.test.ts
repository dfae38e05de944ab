import { describe, expect, it } from 'vitest'
import {
  bestCpuNodeForExport, bestCpuNodeForGauntlet, bestGpuNodeForTraining, countTrainingGpuNodes, cpuPrimaryNodes,
  nodesForEngineMode, scoreNodes, selfplayExclusions, trainingNodes, trainingPrimaryNodes, type ScoredNode
} from '../../../src/managers/selection.js'
import { GPU_ONLY_MODES, CPU_SAFE_MODES } from '../../../src/jobs/engine-modes.js'
import type { NodeView } from '../../../src/managers/scores.js'
import type { Exclusion } from '../../../src/managers/eligibility.js'
import { cpuHw, gpuHw, load, view } from './fixtures.js'

const ids = (xs: Array<{ nodeId: string }>): string[] => xs.map(x => x.nodeId)
const idOf = (x: { nodeId: string } | null): string | null => x?.nodeId ?? null

const cluster: NodeView[] = [
  view('h100', { hw: gpuHw('NVIDIA H100') }),
  view('gh200', { hw: gpuHw('NVIDIA GH200') }),
  view('a100x2', { hw: gpuHw('NVIDIA A100', { gpuCount: 2 }) }),
  view('4090', { hw: gpuHw('NVIDIA GeForce RTX 4090', { gpuMemoryGb: 24 }) }),
  view('cpu64', { hw: cpuHw({ cpuCount: 64 }) }),
  view('cpu16', { hw: cpuHw({ cpuCount: 16 }) })
]

describe('trainingPrimaryNodes', () => {
  it.each<[string, NodeView[], number, string[]]>([
    ['no nodes', [], 5, []],
    ['no GPU nodes', [view('c1'), view('c2')], 5, []],
    ['GPU nodes by GPU score', cluster, 5, ['h100', 'gh200', 'a100x2', '4090']],
    ['count limits', cluster, 2, ['h100', 'gh200']],
    ['suspect still counts as alive', [view('s', { hw: gpuHw('NVIDIA H100'), health: 'SUSPECT' })], 5, ['s']],
    ['dead and retired are out', [view('d', { hw: gpuHw('NVIDIA H100'), health: 'DEAD' }), view('r', { hw: gpuHw('NVIDIA H100'), retired: true })], 5, []],
    ['needs the training capability', [view('g', { hw: gpuHw('NVIDIA H100'), caps: ['selfplay'] })], 5, []],
    ['ties by load, then id', [view('b', { hw: gpuHw('NVIDIA A10') }), view('a', { hw: gpuHw('NVIDIA A10G'), load: load({ cpuPercent: 10 }) }), view('c', { hw: gpuHw('NVIDIA A10') })], 5, ['b', 'c', 'a']]
  ])('%s', (_n, views, count, expected) => {
    expect(ids(trainingPrimaryNodes(scoreNodes(views), count))).toEqual(expected)
  })
})

describe('trainingNodes (whose disks self-play backpressure reads)', () => {
  it.each<[string, NodeView[], { minMemoryGb?: number, allowCpu?: boolean }, string[]]>([
    ['GPU training nodes by id, however full or busy', [view('b', { hw: gpuHw('NVIDIA H100'), load: load({ diskPercent: 95, cpuPercent: 99 }) }), view('a', { hw: gpuHw('NVIDIA A10') })], {}, ['a', 'b']],
    ['dead, retired and nodes without training are out', [view('d', { hw: gpuHw('NVIDIA H100'), health: 'DEAD' }), view('r', { hw: gpuHw('NVIDIA H100'), retired: true }), view('g', { hw: gpuHw('NVIDIA H100'), caps: ['selfplay'] })], {}, []],
    ['memory below the minimum is out', [view('small', { hw: gpuHw('NVIDIA H100', { memoryGb: 4 }) })], { minMemoryGb: 8 }, []],
    ['CPU training nodes only with allowCpu', [view('c', { hw: cpuHw(), caps: ['training'] })], {}, []],
    ['CPU training nodes with allowCpu', [view('c', { hw: cpuHw(), caps: ['training'] }), view('g', { hw: gpuHw('NVIDIA H100') })], { allowCpu: true }, ['c', 'g']]
  ])('%s', (_n, views, pick, expected) => {
    expect(ids(trainingNodes(scoreNodes(views), pick))).toEqual(expected)
  })
})

describe('bestGpuNodeForTraining', () => {
  it.each<[string, NodeView[], { exclude?: string[], minMemoryGb?: number }, string | null]>([
    ['no nodes', [], {}, null],
    ['no GPU nodes', [view('c1')], {}, null],
    ['strongest GPU', cluster, {}, 'h100'],
    ['excluded nodes are skipped', cluster, { exclude: ['h100', 'gh200'] }, 'a100x2'],
    ['prefers a node not already training', [view('h100', { hw: gpuHw('NVIDIA H100'), load: load({ trainingJobs: 1 }) }), view('a100', { hw: gpuHw('NVIDIA A100') })], {}, 'a100'],
    ['all busy: falls back to the best busy one', [view('h100', { hw: gpuHw('NVIDIA H100'), load: load({ trainingJobs: 1 }) }), view('a100', { hw: gpuHw('NVIDIA A100'), load: load({ trainingJobs: 1 }) })], {}, 'h100'],
    ['unhealthy (disk full) is out', [view('h100', { hw: gpuHw('NVIDIA H100'), load: load({ diskPercent: 95 }) }), view('a100', { hw: gpuHw('NVIDIA A100') })], {}, 'a100'],
    ['suspect gets no new work', [view('h100', { hw: gpuHw('NVIDIA H100'), health: 'SUSPECT' })], {}, null],
    ['memory below the minimum is out', [view('small', { hw: gpuHw('NVIDIA H100', { memoryGb: 4 }) })], { minMemoryGb: 8 }, null],
    ['equal GPU score: less loaded first', [view('x', { hw: gpuHw('NVIDIA H100'), load: load({ cpuPercent: 50 }) }), view('y', { hw: gpuHw('NVIDIA H100'), load: load({ cpuPercent: 10 }) })], {}, 'y'],
    ['unknown GPU name still ranks (score 10) above nothing', [view('odd', { hw: gpuHw('Mystery Accelerator') })], {}, 'odd']
  ])('%s', (_n, views, pick, expected) => {
    expect(idOf(bestGpuNodeForTraining(scoreNodes(views), { exclude: new Set(pick.exclude ?? []), minMemoryGb: pick.minMemoryGb }))).toBe(expected)
  })

  it('with allowCpu and no GPU node, takes the strongest CPU node with the training capability', () => {
    const views = [view('c16', { hw: cpuHw({ cpuCount: 16 }), caps: ['selfplay', 'training'] }), view('c64', { hw: cpuHw({ cpuCount: 64 }), caps: ['selfplay', 'training'] }), view('c128', { hw: cpuHw({ cpuCount: 128 }) })]
    expect(bestGpuNodeForTraining(scoreNodes(views))).toBeNull()
    expect(idOf(bestGpuNodeForTraining(scoreNodes(views), { allowCpu: true }))).toBe('c64')
    expect(idOf(bestGpuNodeForTraining(scoreNodes([...views, view('g', { hw: gpuHw('NVIDIA RTX 3060') })]), { allowCpu: true }))).toBe('g')
  })

  it('counts training known from the jobs view as busy too', () => {
    const views = [view('h100', { hw: gpuHw('NVIDIA H100') }), view('a100', { hw: gpuHw('NVIDIA A100') })]
    expect(idOf(bestGpuNodeForTraining(scoreNodes(views, undefined, new Map([['h100', 1]]))))).toBe('a100')
  })
})

describe('CPU rankings', () => {
  it.each<[string, NodeView[], number, string[]]>([
    ['no nodes', [], 3, []],
    ['by CPU score; equal scores and loads by id', cluster, 3, ['cpu64', '4090', 'a100x2']],
    ['all busy: none healthy', [view('a', { load: load({ cpuPercent: 100, memoryPercent: 74, selfplayJobs: 8 }) })], 3, []]
  ])('cpuPrimaryNodes: %s', (_n, views, count, expected) => {
    expect(ids(cpuPrimaryNodes(scoreNodes(views), count))).toEqual(expected)
  })

  it('bestCpuNodeForExport and ForGauntlet take the strongest CPU with the capability, then the least loaded', () => {
    const views = [
      view('big-busy', { hw: cpuHw({ cpuCount: 64 }), load: load({ cpuPercent: 60 }) }),
      view('big-idle', { hw: cpuHw({ cpuCount: 64 }) }),
      view('no-export', { hw: cpuHw({ cpuCount: 128 }), caps: ['selfplay', 'gauntlet'] }),
      view('no-gauntlet', { hw: cpuHw({ cpuCount: 128 }), caps: ['selfplay', 'export'] })
    ]
    expect(idOf(bestCpuNodeForExport(scoreNodes(views)))).toBe('no-gauntlet')
    expect(idOf(bestCpuNodeForGauntlet(scoreNodes(views)))).toBe('no-export')
    expect(idOf(bestCpuNodeForExport(scoreNodes(views.slice(0, 2))))).toBe('big-idle')
    expect(bestCpuNodeForExport(scoreNodes([]))).toBeNull()
  })
})

describe('nodesForEngineMode', () => {
  it.each(GPU_ONLY_MODES)('GPU-only mode %s never goes to a CPU-only node', mode => {
    expect(ids(nodesForEngineMode(scoreNodes(cluster), mode))).toEqual(['4090', 'a100x2', 'gh200', 'h100'])
  })

  it.each(CPU_SAFE_MODES)('CPU-safe mode %s goes to every healthy selfplay node, least loaded first', mode => {
    const views = [view('busy', { load: load({ cpuPercent: 50 }) }), view('idle'), view('gpu', { hw: gpuHw('NVIDIA H100'), load: load({ cpuPercent: 20 }) })]
    expect(ids(nodesForEngineMode(scoreNodes(views), mode))).toEqual(['idle', 'gpu', 'busy'])
  })

  it('no nodes → []', () => {
    expect(nodesForEngineMode(scoreNodes([]), 'mcts')).toEqual([])
  })
})

describe('selfplayExclusions (the reasons nodesForEngineMode acts on)', () => {
  it.each<[string, NodeView, string, Exclusion[]]>([
    ['healthy CPU node, CPU-safe mode', view('a'), 'heuristic', []],
    ['disk over its limit', view('a', { load: load({ diskPercent: 74 }) }), 'heuristic', [{ kind: 'disk', percent: 74, limitPercent: 70 }]],
    ['memory over its limit', view('a', { load: load({ memoryPercent: 75 }) }), 'heuristic', [{ kind: 'memory', percent: 75, limitPercent: 75 }]],
    ['suspect', view('a', { health: 'SUSPECT' }), 'heuristic', [{ kind: 'health', health: 'SUSPECT' }]],
    ['retired', view('a', { retired: true }), 'heuristic', [{ kind: 'retired' }]],
    ['no selfplay capability', view('a', { caps: ['export'] }), 'heuristic', [{ kind: 'capability', capability: 'selfplay' }]],
    ['GPU-only mode on a CPU node', view('a'), 'gumbel-mcts', [{ kind: 'no-gpu', engineMode: 'gumbel-mcts' }]],
    ['GPU-only mode on a GPU node', view('g', { hw: gpuHw('NVIDIA H100') }), 'gumbel-mcts', []],
    ['every cause at once', view('a', { health: 'DEAD', caps: ['export'], load: load({ diskPercent: 99 }) }), 'gumbel-mcts', [
      { kind: 'health', health: 'DEAD' }, { kind: 'disk', percent: 99, limitPercent: 70 }, { kind: 'capability', capability: 'selfplay' }, { kind: 'no-gpu', engineMode: 'gumbel-mcts' }
    ]]
  ])('%s', (_n, v, mode, expected) => {
    const [n] = scoreNodes([v]) as [ScoredNode]
    expect(selfplayExclusions(n, mode)).toEqual(expected)
    // the selection is exactly the nodes without an exclusion
    expect(ids(nodesForEngineMode([n], mode))).toEqual(expected.length === 0 ? [v.info.nodeId] : [])
  })
})

it('countTrainingGpuNodes counts alive GPU nodes with training', () => {
  expect(countTrainingGpuNodes(scoreNodes(cluster))).toBe(4)
  expect(countTrainingGpuNodes(scoreNodes([view('d', { hw: gpuHw('NVIDIA H100'), health: 'DEAD' })]))).toBe(0)
})

import { describe, expect, it } from 'vitest'
import { explainWhyNot, type WhyNotInput, type WhyNotNode } from '../../../src/repl/why-not.js'
import { nodesForEngineMode, scoreNodes, selfplayExclusions, type ScoredNode } from '../../../src/managers/selection.js'
import { exclusionText } from '../../../src/managers/eligibility.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { load, view } from '../managers/fixtures.js'

const node = (over: Partial<WhyNotNode> = {}): WhyNotNode => ({
  node: 'n1', excluded: [], hasGpu: false, gpuMemoryGb: 0, health: 'ALIVE', weight: 8, totalWeight: 90, activeSelfplay: 0, targetSelfplay: 2, ...over
})
const input = (over: Partial<WhyNotInput> = {}): WhyNotInput => ({
  config: 'hex8_2p', staticPriority: 8, largeBoardMinVramGb: 16, leader: 'n1', selfId: 'n1', activeJobs: 0, nodes: [node()], ...over
})

describe('explainWhyNot', () => {
  it.each<[string, Partial<WhyNotInput>, WhyNotInput['nodes'] | undefined, string, RegExp]>([
    ['already running', { activeJobs: 2 }, undefined, 'scheduled', /2 selfplay job\(s\) of hex8_2p/],
    ['nothing blocks it', {}, undefined, 'waiting', /nothing blocks it/],
    ['static priority 0', { staticPriority: 0 }, [node({ weight: 0 })], 'not scheduled', /static priority is 0/],
    ['no leader', { leader: null }, undefined, 'not scheduled', /no leader: nodes only play leaderless/],
    ['no leader, and why', { leader: null, noLeader: '1 of 3 voters alive, 2 needed' }, undefined, 'not scheduled', /no leader \(1 of 3 voters alive, 2 needed\): nodes only/],
    ['no node takes selfplay', {}, [node({ excluded: ['health DEAD (only ALIVE nodes get new work)'], health: 'DEAD' })], 'not scheduled', /no node is taking selfplay: n1 health DEAD \(only ALIVE nodes get new work\)/],
    ['every node full', {}, [node({ activeSelfplay: 2, targetSelfplay: 2 })], 'not scheduled', /already runs its target/],
    ['hardware cannot run it', {}, [node({ weight: 0 })], 'not scheduled', /no eligible node can run it/],
    ['low weight', {}, [node({ weight: 1, totalWeight: 100 })], 'waiting', /low weight on n1: 1.0%/],
    ['another node leads', { selfId: 'n2' }, undefined, 'waiting', /the leader n1 dispatches/],
    ['every wanting node held by what it admits', {}, [node({ budget: { slots: 0, starts: 3, admits: 0, nextStartInMs: null } })], 'waiting', /admits no new job right now/],
    ['a node with room is not held', {}, [node({ budget: { slots: 2, starts: 2, admits: 2, nextStartInMs: null } })], 'waiting', /nothing blocks it/]
  ])('%s', (_name, over, nodes, verdict, reason) => {
    const r = explainWhyNot(input({ ...over, ...(nodes !== undefined ? { nodes } : {}) }))
    expect(r.verdict).toBe(verdict)
    expect(r.reasons.join('\n')).toMatch(reason)
  })

  it('says why the config does not train, beside the selfplay reasons', () => {
    const r = explainWhyNot(input({ training: 'in-flight (training attempt 1 FAILED; no other training node: retry on gpu-1 in 40 s)' }))
    expect(r.reasons).toEqual([
      'nothing blocks it: it is picked in proportion to its weight at the next dispatch pass',
      'training: in-flight (training attempt 1 FAILED; no other training node: retry on gpu-1 in 40 s)'
    ])
    expect(explainWhyNot(input({ training: null })).reasons.join('\n')).not.toMatch(/training/)
  })

  it('puts self-play backpressure first: not scheduled, and every node that could play it says paused', () => {
    const cause = '3500 untrained games ≥ 3000 (scheduler.maxUntrainedGames; most in hex8_2p: 3500)'
    const r = explainWhyNot(input({ backpressure: cause, nodes: [node({ targetSelfplay: 0 }), node({ node: 'n2', excluded: ['health DEAD (only ALIVE nodes get new work)'], health: 'DEAD' })] }))
    expect(r.verdict).toBe('not scheduled')
    expect(r.reasons).toEqual([`selfplay: paused — ${cause}`])
    expect(r.nodes.map(n => n.note)).toEqual(['selfplay paused (backpressure)', 'not taking selfplay: health DEAD (only ALIVE nodes get new work)'])
    const running = explainWhyNot(input({ backpressure: 'paused by the operator (setting selfplayPaused; unset it to resume)', activeJobs: 1 }))
    expect(running.verdict).toBe('scheduled')
    expect(running.reasons).toEqual(['1 selfplay job(s) of hex8_2p pending or running', 'selfplay: paused — paused by the operator (setting selfplayPaused; unset it to resume)'])
    expect(explainWhyNot(input({ backpressure: null })).reasons.join('\n')).not.toMatch(/paused/)
  })

  it('names the VRAM a large board needs on a small GPU, and the share per node', () => {
    const r = explainWhyNot(input({ config: 'hexagonal_2p', nodes: [node({ weight: 0, hasGpu: true, gpuMemoryGb: 8 }), node({ node: 'n2', weight: 9, totalWeight: 90 })] }))
    expect(r.nodes[0]?.note).toBe('large board needs ≥ 16 GB VRAM, has 8')
    expect(r.nodes[1]).toMatchObject({ node: 'n2', share: '10.0%', jobs: '0/2', note: 'may be picked' })
  })
})

describe('explainWhyNot names the scheduler\'s own blocking reason', () => {
  // from node views through the decision the leader's dispatch uses (nodesForEngineMode) to whyNot's words
  const excludedOf = (v: NodeView): string[] => selfplayExclusions(scoreNodes([v])[0] as ScoredNode, 'heuristic').map(exclusionText)

  it.each<[string, NodeView, string]>([
    ['disk over its limit', view('n1', { load: load({ diskPercent: 74 }) }), 'not taking selfplay: disk 74 % used (limit 70 %)'],
    ['memory over its limit', view('n1', { load: load({ memoryPercent: 81 }) }), 'not taking selfplay: memory 81 % used (limit 75 %)'],
    ['load over its limit', view('n1', { load: load({ cpuPercent: 100, memoryPercent: 72, selfplayJobs: 8 }) }), 'not taking selfplay: load score 92 (limit 80)'],
    ['suspect', view('n1', { health: 'SUSPECT' }), 'not taking selfplay: health SUSPECT (only ALIVE nodes get new work)'],
    ['retired and dead', view('n1', { retired: true, health: 'DEAD' }), 'not taking selfplay: retired (takes no new work); health DEAD (only ALIVE nodes get new work)'],
    ['no selfplay capability', view('n1', { caps: ['export'] }), 'not taking selfplay: no selfplay capability'],
    ['disk and memory both', view('n1', { load: load({ diskPercent: 90, memoryPercent: 80 }) }), 'not taking selfplay: disk 90 % used (limit 70 %); memory 80 % used (limit 75 %)']
  ])('%s', (_name, v, note) => {
    expect(nodesForEngineMode(scoreNodes([v]), 'heuristic')).toEqual([]) // the dispatch leaves it out…
    const r = explainWhyNot(input({ nodes: [node({ excluded: excludedOf(v), health: v.health })] }))
    expect(r.nodes[0]?.note).toBe(note) // …and whyNot says why, in the same words
    expect(r.reasons.join('\n')).toContain(`no node is taking selfplay: n1 ${note.replace('not taking selfplay: ', '').replace(/; /g, ', ')}`)
    expect(r.reasons.join('\n')).not.toMatch(/health ALIVE/)
  })

  it('a node the dispatch fills has no exclusion and may be picked', () => {
    const v = view('n1', { load: load({ diskPercent: 69 }) })
    expect(nodesForEngineMode(scoreNodes([v]), 'heuristic').map(n => n.nodeId)).toEqual(['n1'])
    expect(excludedOf(v)).toEqual([])
    expect(explainWhyNot(input({ nodes: [node({ excluded: excludedOf(v) })] })).nodes[0]?.note).toBe('may be picked')
  })
})

describe('explainWhyNot and the admission budget the dispatch holds to', () => {
  it.each<[string, WhyNotNode['budget'], string]>([
    ['process slots all taken', { slots: 0, starts: 2, admits: 0, nextStartInMs: null }, 'held: admits no new job now (every process slot taken (jobs.maxProcesses))'],
    ['spawn rate used up', { slots: 3, starts: 0, admits: 0, nextStartInMs: 40_000 }, 'held: admits no new job now (spawn rate used up (jobs.spawnRatePerMinute), next start in 40.0s)'],
    ['room', { slots: 3, starts: 2, admits: 2, nextStartInMs: null }, 'may be picked'],
    ['from an older node: no budget', null, 'may be picked']
  ])('%s', (_n, budget, note) => {
    expect(explainWhyNot(input({ nodes: [node({ budget })] })).nodes[0]?.note).toBe(note)
  })
})

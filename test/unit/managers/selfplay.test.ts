import { describe, expect, it } from 'vitest'
import { SeededRng } from '../../../src/core/rng.js'
import {
  DEFAULT_PRIORITY_PARAMS, NO_SIGNALS, boardBoost, candidatesFor, curriculumBoost, defaultCandidateRows, effectivePriority,
  eloBoost, hardwareJobCap, pickFrom, targetExclusions, targetJobsForNode, weightTable, type CandidateRow, type ConfigSignals
} from '../../../src/managers/selfplay.js'
import { isGpuOnly } from '../../../src/jobs/engine-modes.js'
import type { LoadSample } from '../../../src/mesh/heartbeat.js'
import type { Capability, ConfigKey } from '../../../src/state/schema.js'
import { cpuHw, gpuHw, load, view } from './fixtures.js'

describe('eloBoost = min(3, floor((elo − 1200) / 100)) above 1200', () => {
  it.each([
    [undefined, 0], [800, 0], [1200, 0], [1250, 0], [1299.9, 0], [1300, 1], [1450, 2], [1500, 3], [2400, 3]
  ])('elo %s → +%i', (elo, boost) => { expect(eloBoost(elo)).toBe(boost) })
})

describe('curriculumBoost = clamp(trunc((w − 1)·4), −2, 3)', () => {
  it.each([
    [undefined, 0], [1, 0], [1.5, 2], [0.7, -1], [2.5, 3], [1.3, 1], [1.2, 0], [0.75, -1], [0.5, -2], [0, -2], [10, 3]
  ])('weight %s → %i', (w, boost) => { expect(curriculumBoost(w)).toBe(boost) })
})

describe('boardBoost by override level', () => {
  it.each([
    ['critical', 6], ['high', 4], ['medium', 2], ['low', 0], [undefined, 0]
  ] as const)('%s → +%i', (level, boost) => { expect(boardBoost(level)).toBe(boost) })
})

describe('effective priority', () => {
  const sig = (over: Partial<ConfigSignals>): ConfigSignals => ({ ...NO_SIGNALS, ...over })
  it.each<[string, number, ConfigSignals, number]>([
    ['static only', 8, NO_SIGNALS, 8],
    ['static + elo + curriculum + board', 5, sig({ elo: new Map([['square8_2p', 1500]]), curriculumWeights: { square8_2p: 1.5 }, boardOverrides: { square8_2p: 'critical' } }), 5 + 3 + 2 + 6],
    ['negative curriculum', 5, sig({ curriculumWeights: { square8_2p: 0.5 } }), 3],
    ['floored at 1', 1, sig({ curriculumWeights: { square8_2p: 0 } }), 1],
    ['elo of another config does not count (exact key)', 5, sig({ elo: new Map([['square8_3p', 2000]]) }), 5]
  ])('%s', (_n, stat, s, expected) => {
    expect(effectivePriority({ config: 'square8_2p', staticPriority: stat }, s)).toBe(expected)
  })

  it('optional boosts apply only when enabled', () => {
    const s = sig({ games: new Map([['hex8_2p', 10]]), hoursSinceDispatch: new Map([['hex8_2p', 2.5]]), failedGauntletsInARow: new Map([['hex8_2p', 3]]) })
    const c = { config: 'hex8_2p' as ConfigKey, staticPriority: 8 }
    expect(effectivePriority(c, s)).toBe(8)
    const on = { ...DEFAULT_PRIORITY_PARAMS, bootstrap: { enabled: true, maxGames: 500, boost: 3 }, staleness: { enabled: true, boostPerHour: 1, maxBoost: 3 } }
    expect(effectivePriority(c, s, on)).toBe(8 + 3 + 2)
    const plateau = { ...on, plateau: { enabled: true, failedGauntlets: 3 } }
    expect(effectivePriority(c, s, plateau)).toBe((8 + 3 + 2) / 2)
  })
})

describe('candidates for a node', () => {
  const rows = defaultCandidateRows()
  it('a CPU-only node is never given a GPU-only engine mode', () => {
    const extra: CandidateRow[] = [{ config: 'square8_2p', engineMode: 'mcts', staticPriority: 4 }, { config: 'square8_2p', engineMode: 'brs', staticPriority: 3 }]
    const c = candidatesFor(cpuHw(), [...rows, ...extra])
    expect(c.length).toBe(13)
    expect(c.every(x => !isGpuOnly(x.engineMode))).toBe(true)
    expect(c.filter(x => x.config === 'square8_2p').map(x => x.engineMode)).toEqual(['heuristic', 'brs'])
  })

  it('a GPU node plays its GPU mode and explicit mixes', () => {
    const c = candidatesFor(gpuHw('NVIDIA H100'), [...rows, { config: 'square8_2p', engineMode: 'mcts', staticPriority: 4 }])
    expect(c.length).toBe(13)
    expect(new Set(c.map(x => x.engineMode))).toEqual(new Set(['gumbel-mcts', 'mcts']))
  })

  it.each<[string, ReturnType<typeof gpuHw>, number]>([
    ['VRAM known and < 48 GB: no square19 / hexagonal', gpuHw('NVIDIA RTX 4090', { gpuMemoryGb: 24 }), 6],
    ['VRAM ≥ 48 GB: every config', gpuHw('NVIDIA L40S', { gpuMemoryGb: 48 }), 12],
    ['VRAM unknown: every config', gpuHw('NVIDIA RTX 4090', { gpuMemoryGb: 0 }), 12],
    ['CPU node (no VRAM): every config', cpuHw(), 12]
  ])('%s', (_n, hw, count) => {
    expect(candidatesFor(hw, rows).length).toBe(count)
  })

  it('keeps hex8 and hexagonal apart: hex8 is not a large board', () => {
    const small = candidatesFor(gpuHw('NVIDIA RTX 4090', { gpuMemoryGb: 24 }), rows).map(x => x.config)
    expect(small).toContain('hex8_2p')
    expect(small).toContain('hex8_4p')
    expect(small).not.toContain('hexagonal_2p')
    expect(small).not.toContain('square19_3p')
  })

  it('a row at static priority 0 is off', () => {
    expect(candidatesFor(cpuHw(), [{ config: 'hex8_2p', engineMode: null, staticPriority: 0 }])).toEqual([])
  })
})

describe('weighted pick', () => {
  it('no candidates → null', () => {
    expect(pickFrom(weightTable([], NO_SIGNALS), new SeededRng(1))).toBeNull()
  })

  it('over 20,000 picks with a fixed seed each config\'s share matches its effective priority within 2 points', () => {
    const signals: ConfigSignals = {
      elo: new Map([['square8_2p', 1500], ['hex8_3p', 1350]]),
      curriculumWeights: { hexagonal_2p: 1.5, square19_4p: 0.5 },
      boardOverrides: { hex8_2p: 'critical', square8_4p: 'medium' }
    }
    const table = weightTable(candidatesFor(gpuHw('NVIDIA H100'), defaultCandidateRows()), signals)
    const rng = new SeededRng(20_000)
    const counts = new Map<string, number>()
    const N = 20_000
    for (let i = 0; i < N; i++) {
      const p = pickFrom(table, rng)
      if (p === null) throw new Error('no pick')
      counts.set(p.config, (counts.get(p.config) ?? 0) + 1)
    }
    expect(table.candidates.length).toBe(12)
    table.candidates.forEach((c, i) => {
      const expected = (table.weights[i] as number) / table.total
      const got = (counts.get(c.config) ?? 0) / N
      expect(Math.abs(got - expected), `${c.config}: ${got} vs ${expected}`).toBeLessThan(0.02)
    })
    // the weights are the documented formula, not a uniform draw
    expect(table.weights[table.candidates.findIndex(c => c.config === 'hex8_2p')]).toBe(8 + 6)
    expect(table.weights[table.candidates.findIndex(c => c.config === 'square8_2p')]).toBe(5 + 3)
  })
})

describe('hardware job cap', () => {
  it.each<[string, ReturnType<typeof gpuHw>, number]>([
    ['GH200 0.8·cpu', gpuHw('NVIDIA GH200', { cpuCount: 72 }), 57],
    ['H100 min(0.5·cpu, 48)', gpuHw('NVIDIA H100', { cpuCount: 64 }), 32],
    ['H100 capped at 48', gpuHw('NVIDIA H100', { cpuCount: 192 }), 48],
    ['H200 like H100', gpuHw('NVIDIA H200', { cpuCount: 40 }), 20],
    ['A100 min(0.4·cpu, 32)', gpuHw('NVIDIA A100', { cpuCount: 128 }), 32],
    ['L40 row', gpuHw('NVIDIA L40S', { cpuCount: 30 }), 12],
    ['4090 min(0.3·cpu, 24)', gpuHw('NVIDIA GeForce RTX 4090', { cpuCount: 24 }), 7],
    ['A10 row', gpuHw('NVIDIA A10G', { cpuCount: 100 }), 24],
    ['4070 min(0.25·cpu, 12)', gpuHw('NVIDIA GeForce RTX 4070', { cpuCount: 16 }), 4],
    ['other GPU min(0.2·cpu, 8)', gpuHw('Apple M2 Max', { cpuCount: 12 }), 2],
    ['unknown GPU capped at 8', gpuHw('Mystery', { cpuCount: 128 }), 8],
    ['CPU-only min(0.3·cpu, 32)', cpuHw({ cpuCount: 16 }), 4],
    ['CPU-only capped at 32', cpuHw({ cpuCount: 256 }), 32]
  ])('%s', (_n, hw, cap) => {
    expect(hardwareJobCap(hw)).toBe(cap)
  })
})

describe('targetJobsForNode', () => {
  const h100 = gpuHw('NVIDIA H100', { cpuCount: 64 }) // cap 32
  const t = (o: { hw?: ReturnType<typeof gpuHw>, load?: LoadSample, current?: number, backpressure?: boolean, caps?: Capability[], retired?: boolean }): number => {
    const v = view('n', { hw: o.hw ?? h100, load: o.load ?? load(), caps: o.caps, retired: o.retired })
    return targetJobsForNode({ info: v.info, load: v.load, currentJobs: o.current ?? 100, backpressure: o.backpressure ?? false })
  }
  it.each<[string, Parameters<typeof t>[0], number]>([
    ['hardware cap when idle and ramped up', {}, 32],
    ['no selfplay capability → 0', { caps: ['training'] }, 0],
    ['retired → 0', { retired: true }, 0],
    ['memory below 8 GB → 0', { hw: gpuHw('NVIDIA H100', { cpuCount: 64, memoryGb: 7 }) }, 0],
    ['backpressure → 0', { backpressure: true }, 0],
    ['GPU > 85 % → −2', { load: load({ gpuPercent: 90 }) }, 30],
    ['GPU memory > 85 % → −2', { load: load({ gpuMemoryPercent: 86 }) }, 30],
    ['GPU at 85 % exactly: no penalty', { load: load({ gpuPercent: 85 }) }, 32],
    ['CPU > 90 % → −1', { load: load({ cpuPercent: 95 }) }, 31],
    ['both penalties', { load: load({ cpuPercent: 95, gpuPercent: 95 }) }, 29],
    ['ramp up at most +2 over the current count', { current: 3 }, 5],
    ['disk ≥ 70 % → ≤ 4', { load: load({ diskPercent: 70 }) }, 4],
    ['memory ≥ 75 % → ≤ 2', { load: load({ memoryPercent: 80 }) }, 2],
    ['floor 1', { hw: cpuHw({ cpuCount: 2 }) }, 1],
    ['floor 1 after penalties', { hw: cpuHw({ cpuCount: 4 }), load: load({ cpuPercent: 99 }) }, 1]
  ])('%s → %i', (_n, o, expected) => {
    expect(t(o)).toBe(expected)
  })
})

describe('targetExclusions (why the target is 0 whatever the load)', () => {
  it.each<[string, Partial<{ caps: Capability[], retired: boolean, memoryGb: number }>, unknown[]]>([
    ['none', {}, []],
    ['no selfplay capability', { caps: ['training'] }, [{ kind: 'capability', capability: 'selfplay' }]],
    ['retired', { retired: true }, [{ kind: 'retired' }]],
    ['memory below what a task needs', { memoryGb: 7 }, [{ kind: 'small-memory', memoryGb: 7, minMemoryGb: 8 }]]
  ])('%s', (_n, o, expected) => {
    const v = view('n', { hw: gpuHw('NVIDIA H100', { memoryGb: o.memoryGb ?? 256 }), caps: o.caps, retired: o.retired })
    expect(targetExclusions(v.info)).toEqual(expected)
    expect(targetJobsForNode({ info: v.info, load: v.load, currentJobs: 0, backpressure: false }) === 0).toBe(expected.length > 0)
  })
})

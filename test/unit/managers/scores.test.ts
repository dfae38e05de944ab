import { describe, expect, it } from 'vitest'
import { cpuPowerScore, gpuDeviceScore, gpuPowerScore, gpuScoreTable, healthyForWork, loadScore, unfitForWork, workExclusions } from '../../../src/managers/scores.js'
import { cpuHw, gpuHw, load, view } from './fixtures.js'

describe('GPU power score', () => {
  it.each([
    ['NVIDIA B200', 4500], ['NVIDIA H200', 2500], ['NVIDIA H100 80GB HBM3', 2000], ['NVIDIA GH200 480GB', 1900],
    ['NVIDIA A100-SXM4-80GB', 624], ['NVIDIA L40S', 420], ['NVIDIA L40', 362], ['NVIDIA GeForce RTX 5090', 419],
    ['NVIDIA GeForce RTX 4090', 330], ['NVIDIA GeForce RTX 5080', 300], ['NVIDIA A10G', 250], ['NVIDIA A10', 250],
    ['NVIDIA GeForce RTX 4080', 242], ['NVIDIA GeForce RTX 5070', 200], ['NVIDIA GeForce RTX 4070', 184],
    ['NVIDIA GeForce RTX 3090', 142], ['Tesla V100-SXM2-16GB', 125], ['NVIDIA GeForce RTX 4060', 120],
    ['NVIDIA GeForce RTX 3080', 119], ['NVIDIA GeForce RTX 3070', 81], ['NVIDIA GeForce RTX 3060', 51],
    ['Apple M3 Max', 30], ['Apple M2 Pro', 25], ['Apple M1', 20],
    ['nvidia geforce rtx 4090', 330], // case does not matter
    ['Matrox G200eR2', 10], // unknown GPU
    ['', 10]
  ])('%s scores %i per device', (name, score) => {
    expect(gpuDeviceScore(name)).toBe(score)
  })

  it('matches GH200 before H200 and L40S before L40 (longer keys first)', () => {
    expect(gpuDeviceScore('GH200')).toBe(1900)
    expect(gpuDeviceScore('L40S')).toBe(420)
  })

  it('keeps the ordering the spec requires: H100 > GH200 > A100 > L40S > RTX 4090 > RTX 3090 > consumer GPUs', () => {
    const order = ['H100', 'GH200', 'A100', 'L40S', 'RTX 4090', 'RTX 3090', 'RTX 3060'].map(n => gpuDeviceScore(`NVIDIA ${n}`))
    for (let i = 1; i < order.length; i++) expect(order[i - 1]).toBeGreaterThan(order[i] as number)
  })

  it.each([
    [gpuHw('NVIDIA H100', { gpuCount: 8 }), 16_000],
    [gpuHw('NVIDIA RTX 4090', { gpuCount: 2 }), 660],
    [gpuHw('Unknown Accelerator', { gpuCount: 4 }), 40],
    [gpuHw('NVIDIA A100', { gpuCount: 0 }), 624], // a GPU with an unreported count is one device
    [cpuHw(), 0]
  ])('node score is device score × gpuCount (%#)', (hw, score) => {
    expect(gpuPowerScore(hw)).toBe(score)
  })

  it('takes a custom table and unknown score from config', () => {
    const t = gpuScoreTable({ 'MI300X': 2100, H100: 2000 }, 5)
    expect(gpuDeviceScore('AMD Instinct MI300X', t)).toBe(2100)
    expect(gpuDeviceScore('NVIDIA T4', t)).toBe(5)
  })
})

describe('CPU power score', () => {
  it.each([
    [16, undefined, 16], [64, 1.5, 96], [1, undefined, 1]
  ])('cpuCount %i × multiplier %s = %i', (cpuCount, mult, score) => {
    const v = view('n', { hw: cpuHw({ cpuCount }), info: mult === undefined ? {} : { cpuPowerMultiplier: mult } })
    expect(cpuPowerScore(v.info)).toBe(score)
  })
})

describe('load score', () => {
  it.each([
    ['idle', load(), false, 0],
    ['cpu only', load({ cpuPercent: 50 }), false, 20],
    ['memory only', load({ memoryPercent: 100 }), false, 30],
    ['4 selfplay jobs', load({ selfplayJobs: 4 }), false, 15], // 0.3 · 50
    ['2 training jobs count double', load({ trainingJobs: 2 }), false, 15],
    ['job term capped at 100', load({ selfplayJobs: 20 }), false, 30],
    ['mixed', load({ cpuPercent: 50, memoryPercent: 40, selfplayJobs: 2, trainingJobs: 1 }), false, 20 + 12 + 15],
    ['GPU node blends gpu%', load({ cpuPercent: 50, gpuPercent: 100 }), true, 0.7 * 20 + 30],
    ['GPU node with gpu 0 does not blend', load({ cpuPercent: 50 }), true, 20],
    ['CPU node ignores gpu%', load({ cpuPercent: 50, gpuPercent: 100 }), false, 20],
    ['capped at 100', load({ cpuPercent: 100, memoryPercent: 100, selfplayJobs: 50 }), false, 100],
    ['no heartbeat yet', undefined, false, 0]
  ])('%s', (_name, l, hasGpu, expected) => {
    expect(loadScore(l, hasGpu)).toBeCloseTo(expected, 9)
  })
})

describe('healthy for work', () => {
  it.each([
    ['alive and idle', view('a'), true],
    ['suspect', view('a', { health: 'SUSPECT' }), false],
    ['dead', view('a', { health: 'DEAD' }), false],
    ['retired', view('a', { retired: true }), false],
    ['disk 69 %', view('a', { load: load({ diskPercent: 69 }) }), true],
    ['disk 70 %', view('a', { load: load({ diskPercent: 70 }) }), false],
    ['memory 74 %', view('a', { load: load({ memoryPercent: 74 }) }), true],
    ['memory 75 %', view('a', { load: load({ memoryPercent: 75 }) }), false],
    ['load score 91.6', view('a', { load: load({ cpuPercent: 100, memoryPercent: 72, selfplayJobs: 8 }) }), false], // 40 + 21.6 + 30 = 91.6
    ['load score just under 80', view('a', { load: load({ cpuPercent: 100, memoryPercent: 60, selfplayJobs: 3 }) }), true], // 40+18+11.25
    ['no heartbeat yet', view('a', { load: undefined }), true]
  ])('%s → %s', (_name, v, expected) => {
    expect(healthyForWork(v)).toBe(expected)
    expect(unfitForWork(v) === null).toBe(expected)
  })

  it.each([
    ['suspect', view('a', { health: 'SUSPECT' }), 'health SUSPECT (only ALIVE nodes get new work)'],
    ['retired and dead: both', view('a', { retired: true, health: 'DEAD' }), 'retired (takes no new work); health DEAD (only ALIVE nodes get new work)'],
    ['disk and memory: both, with their limits', view('a', { load: load({ diskPercent: 74, memoryPercent: 90 }) }), 'disk 74 % used (limit 70 %); memory 90 % used (limit 75 %)'],
    ['disk 70 %', view('a', { load: load({ diskPercent: 70.4 }) }), 'disk 70 % used (limit 70 %)'],
    ['memory 75 %', view('a', { load: load({ memoryPercent: 80 }) }), 'memory 80 % used (limit 75 %)'],
    ['load score 91.6', view('a', { load: load({ cpuPercent: 100, memoryPercent: 72, selfplayJobs: 8 }) }), 'load score 92 (limit 80)']
  ])('says why a node is unfit: %s', (_name, v, reason) => {
    expect(unfitForWork(v)).toBe(reason)
  })

  it('gives the causes as data, with the numbers and the limits of the rule', () => {
    const rule = { maxDiskPercent: 60, maxMemoryPercent: 50, maxLoadScore: 95 }
    expect(workExclusions(view('a', { load: load({ diskPercent: 74, memoryPercent: 40 }) }), rule)).toEqual([{ kind: 'disk', percent: 74, limitPercent: 60 }])
    expect(workExclusions(view('a', { health: 'DEAD', load: load({ memoryPercent: 55 }) }), rule)).toEqual([
      { kind: 'health', health: 'DEAD' }, { kind: 'memory', percent: 55, limitPercent: 50 }
    ])
    expect(workExclusions(view('a'), rule)).toEqual([])
  })
})

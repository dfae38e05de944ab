import { describe, expect, it } from 'vitest'
import {
  emptiestTrainingDisk, selfplayBackpressure, untrainedBacklog, type BackpressureInput, type BackpressureSignal
} from '../../../src/managers/selfplay-backpressure.js'
import type { ConfigKey } from '../../../src/state/schema.js'
import { gpuHw, load, view } from './fixtures.js'

const P = { maxUntrainedGames: 10_000, maxTrainingDiskPercent: 70 }
const input = (over: Partial<BackpressureInput> = {}): BackpressureInput =>
  ({ paused: false, untrainedGames: 0, largestBacklog: null, trainingDisk: null, ...over })

describe('selfplayBackpressure', () => {
  it.each<[string, Partial<BackpressureInput>, BackpressureSignal[], RegExp | null]>([
    ['nothing holds it back', {}, [], null],
    ['the operator paused it', { paused: true }, ['paused'], /^paused by the operator \(setting selfplayPaused; unset it to resume\)$/],
    ['backlog just below the limit', { untrainedGames: 9_999 }, [], null],
    ['backlog at the limit', { untrainedGames: 10_000, largestBacklog: { config: 'hex8_2p', games: 7_000 } }, ['untrained-backlog'],
      /^10000 untrained games ≥ 10000 \(scheduler\.maxUntrainedGames; most in hex8_2p: 7000\)$/],
    ['the emptiest training node below its disk limit', { trainingDisk: { node: 'gpu-1', diskPercent: 69.9 } }, [], null],
    ['the emptiest training node at its disk limit', { trainingDisk: { node: 'gpu-1', diskPercent: 70 } }, ['training-disk'],
      /^every training node's disk is at or above 70 % \(health\.maxDiskPercentForWork\): the emptiest, gpu-1, is 70 % full$/],
    ['no training node known: no disk signal', { trainingDisk: null, untrainedGames: 5 }, [], null],
    ['every signal at once, operator first', { paused: true, untrainedGames: 20_000, trainingDisk: { node: 'gpu-1', diskPercent: 95 } },
      ['paused', 'training-disk', 'untrained-backlog'], /^paused by the operator .*; every training node's disk .*; 20000 untrained games ≥ 10000 \(scheduler\.maxUntrainedGames\)$/]
  ])('%s', (_name, over, signals, cause) => {
    const bp = selfplayBackpressure(input(over), P)
    expect(bp.signals).toEqual(signals)
    expect(bp.active).toBe(signals.length > 0)
    if (cause === null) expect(bp.cause).toBeNull()
    else expect(bp.cause).toMatch(cause)
    expect(bp.maxUntrainedGames).toBe(10_000)
  })
})

describe('untrainedBacklog', () => {
  const m = <T>(o: Record<string, T>): Map<ConfigKey, T> => new Map(Object.entries(o) as Array<[ConfigKey, T]>)

  it.each<[string, Record<string, number>, Record<string, number | null>, number, { config: string, games: number } | null]>([
    ['no data', {}, {}, 0, null],
    ['never trained: every game counts', { hex8_2p: 2_500 }, {}, 2_500, { config: 'hex8_2p', games: 2_500 }],
    ['no completed training yet (trainedGames null)', { hex8_2p: 2_500 }, { hex8_2p: null }, 2_500, { config: 'hex8_2p', games: 2_500 }],
    ['minus the games the last training used', { hex8_2p: 2_500, square8_2p: 900 }, { hex8_2p: 2_000 }, 1_400, { config: 'square8_2p', games: 900 }],
    ['fewer games than trained on (files deleted) count 0, not less', { hex8_2p: 100, hexagonal_2p: 300 }, { hex8_2p: 500 }, 300, { config: 'hexagonal_2p', games: 300 }],
    ['a record without data adds nothing', {}, { hex8_2p: 500 }, 0, null]
  ])('%s', (_name, games, trained, total, largest) => {
    expect(untrainedBacklog(m(games), m(trained))).toEqual({ total, largest })
  })
})

describe('emptiestTrainingDisk', () => {
  const gpu = (id: string, diskPercent: number | undefined): ReturnType<typeof view> =>
    view(id, { hw: gpuHw('NVIDIA H100'), load: diskPercent === undefined ? undefined : load({ diskPercent }) })

  it('is the training node with the least disk use', () => {
    expect(emptiestTrainingDisk([gpu('a', 92), gpu('b', 75), gpu('c', 88)])).toEqual({ node: 'b', diskPercent: 75 })
  })

  it('is null with no training node, or when one has not reported its load (it may have room)', () => {
    expect(emptiestTrainingDisk([])).toBeNull()
    expect(emptiestTrainingDisk([gpu('a', 95), gpu('b', undefined)])).toBeNull()
  })
})

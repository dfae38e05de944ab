import { describe, expect, it } from 'vitest'
import {
  FingerprintWindow, checkTrainingReadiness, expectedScore, gauntletVerdict, leaderlessTrainingChoice, parseGameResults,
  planTrainingRetry, scaledThresholds, trainingFingerprint, updateElo, type ReadinessInput, type RetryInput, type RetryPlan
} from '../../../src/managers/training.js'
import type { ConfigKey } from '../../../src/state/schema.js'

describe('threshold scaling with the number of GPU nodes', () => {
  it.each([
    [0, 1, 2000, 1000], [1, 1, 2000, 1000], [2, 0.7, 1400, 700], [3, 0.5, 1000, 500], [4, 0.5, 1000, 500],
    [5, 0.35, 700, 350], [100, 0.35, 700, 350]
  ])('%i GPU nodes → ×%f: minGames %i, incremental %i', (gpus, factor, minGames, incremental) => {
    expect(scaledThresholds(gpus)).toEqual({ factor, minGames, incrementalGames: incremental })
  })

  it('never goes below the floors (500 / 200)', () => {
    const p = { minGames: 1000, incrementalGames: 400, cooldownMs: 0, thresholdScale: [{ maxGpuNodes: 1, factor: 1 }], thresholdScaleAbove: 0.1, minGamesFloor: 500, incrementalGamesFloor: 200, dedupWindow: 100, maxDispatchAttempts: 3, retryBackoffMs: 60_000 }
    expect(scaledThresholds(10, p)).toEqual({ factor: 0.1, minGames: 500, incrementalGames: 200 })
  })
})

describe('training readiness', () => {
  const th = { factor: 1, minGames: 2000, incrementalGames: 1000 }
  const NOW = 10_000_000
  const input = (over: Partial<ReadinessInput>): ReadinessInput => ({ config: 'hex8_2p', games: 2500, fingerprint: 'fp', history: undefined, inFlight: false, ...over })
  it.each<[string, Partial<ReadinessInput>, string[], boolean, string | null]>([
    ['first training at ≥ minGames', {}, [], true, null],
    ['first training below minGames', { games: 1999 }, [], false, 'too-few-games'],
    ['exactly minGames', { games: 2000 }, [], true, null],
    ['trained before, ≥ 1000 new games', { games: 3500, history: { lastDispatchAt: 0, trainedGames: 2500 } }, [], true, null],
    ['trained before, < 1000 new games', { games: 3499, history: { lastDispatchAt: 0, trainedGames: 2500 } }, [], false, 'too-few-new-games'],
    ['dispatched before but never completed: counts as first training', { history: { lastDispatchAt: 0, trainedGames: null } }, [], true, null],
    ['a training of the config in flight', { inFlight: true }, [], false, 'in-flight'],
    ['within the 5 min cooldown', { history: { lastDispatchAt: NOW - 299_999, trainedGames: null } }, [], false, 'cooldown'],
    ['cooldown just passed', { history: { lastDispatchAt: NOW - 300_000, trainedGames: null } }, [], true, null],
    ['cooldown runs from the end of the last training, not its dispatch', { games: 3500, history: { lastDispatchAt: NOW - 3_600_000, lastEndedAt: NOW - 299_999, trainedGames: 2500 } }, [], false, 'cooldown'],
    ['cooldown passed since the last training ended', { games: 3500, history: { lastDispatchAt: NOW - 3_600_000, lastEndedAt: NOW - 300_000, trainedGames: 2500 } }, [], true, null],
    ['a dispatch newer than the last end: the cooldown runs from that dispatch', { history: { lastDispatchAt: NOW - 1_000, lastEndedAt: NOW - 3_600_000, trainedGames: null } }, [], false, 'cooldown'],
    ['same data fingerprint as a recent dispatch', {}, ['fp'], false, 'duplicate']
  ])('%s', (_n, over, recent, ready, reason) => {
    const [d] = checkTrainingReadiness([input(over)], th, new Set(recent), NOW)
    expect(d?.ready).toBe(ready)
    expect(d?.reason).toBe(reason)
  })

  it('decides each config on its own (hex8 and hexagonal apart)', () => {
    const ds = checkTrainingReadiness([input({ config: 'hex8_2p', games: 2500 }), input({ config: 'hexagonal_2p', games: 100 })], th, new Set(), NOW)
    expect(ds.map(d => [d.config, d.ready])).toEqual([['hex8_2p', true], ['hexagonal_2p', false]])
  })
})

describe('training retry plan', () => {
  const base: RetryInput = { type: 'training', attempt: 1, maxAttempts: 3, untried: null, any: 'gpu1', endedForMs: 0, backoffMs: 60_000 }
  it.each<[string, Partial<RetryInput>, RetryPlan]>([
    ['an untried node: there, at once', { untried: 'gpu2' }, { kind: 'dispatch', node: 'gpu2' }],
    ['only a node that tried it: wait for the back-off', { endedForMs: 20_000 }, { kind: 'wait', why: 'no other training node: retry on gpu1 in 40 s' }],
    ['only a node that tried it, back-off over: reuse it', { endedForMs: 60_000 }, { kind: 'dispatch', node: 'gpu1' }],
    ['no node at all: wait for the back-off', { any: null, endedForMs: 1 }, { kind: 'wait', why: 'no training node for attempt 2: giving up in 60 s' }],
    ['no node at all, back-off over: give up', { any: null, endedForMs: 60_000 }, { kind: 'give-up', why: 'no training node for attempt 2' }],
    ['last attempt: give up', { attempt: 3, untried: 'gpu2' }, { kind: 'give-up', why: null }],
    ['attempts beyond the limit (a lower setting): give up', { attempt: 5 }, { kind: 'give-up', why: null }]
  ])('%s', (_n, over, plan) => {
    expect(planTrainingRetry({ ...base, ...over })).toEqual(plan)
  })
})

describe('dedup', () => {
  it('the fingerprint depends on config, game-count bucket and data digest only', () => {
    const a = trainingFingerprint('hex8_2p', 2500, 1000, 'd1')
    expect(trainingFingerprint('hex8_2p', 2999, 1000, 'd1')).toBe(a) // same bucket
    expect(trainingFingerprint('hex8_2p', 3000, 1000, 'd1')).not.toBe(a)
    expect(trainingFingerprint('hexagonal_2p', 2500, 1000, 'd1')).not.toBe(a)
    expect(trainingFingerprint('hex8_2p', 2500, 1000, 'd2')).not.toBe(a)
    expect(a).toMatch(/^[0-9a-f]{64}$/)
  })

  it('keeps the last 100 dispatches and forgets the oldest', () => {
    const w = new FingerprintWindow(100)
    for (let i = 0; i < 150; i++) w.add(`fp${i}`)
    expect(w.size).toBe(100)
    expect(w.has('fp49')).toBe(false)
    expect(w.has('fp50')).toBe(true)
    expect(w.has('fp149')).toBe(true)
  })
})

describe('Elo', () => {
  it.each([
    [1200, 1200, 0.5], [1600, 1200, 1 / (1 + 10 ** -1)], [1200, 1600, 1 / (1 + 10)], [1400, 1200, 1 / (1 + 10 ** -0.5)]
  ])('expected score of %i against %i', (a, b, e) => { expect(expectedScore(a, b)).toBeCloseTo(e, 12) })

  it.each<[string, string, number, number]>([
    ['one win at equal ratings', 'W', 1216, 1184],
    ['one loss', 'L', 1184, 1216],
    ['one draw changes nothing', 'D', 1200, 1200],
    ['win then loss: the second game uses the updated ratings', 'WL', 1216 - 32 * (1 / (1 + 10 ** ((1184 - 1216) / 400))), 1184 + 32 * (1 / (1 + 10 ** ((1184 - 1216) / 400)))]
  ])('%s', (_n, results, a, b) => {
    const r = updateElo(1200, 1200, parseGameResults(results))
    expect(r.a).toBeCloseTo(a, 9)
    expect(r.b).toBeCloseTo(b, 9)
  })

  it('game by game differs from a batch update against stale ratings', () => {
    const seq = updateElo(1200, 1200, parseGameResults('WWWWWWWW'))
    const batch = 1200 + 8 * 32 * (1 - 0.5)
    expect(seq.a).toBeLessThan(batch)
    expect(seq.a + seq.b).toBeCloseTo(2400, 9) // zero-sum
  })

  it('refuses result strings with other characters', () => {
    expect(() => parseGameResults('WLX')).toThrow(/W, L or D/)
  })
})

describe('gauntlet verdict', () => {
  const r = (w: number, l: number, d: number): string => 'W'.repeat(w) + 'L'.repeat(l) + 'D'.repeat(d)
  it.each<[string, string, boolean, number, boolean]>([
    ['18/32 wins vs champion: 0.5625 ≥ 0.55 passes', r(18, 14, 0), true, 0.5625, true],
    ['17/32 wins vs champion: 0.53 fails', r(17, 15, 0), true, 0.53125, false],
    ['draws count 0.5: 16 W + 4 D = 18/32 passes', r(16, 12, 4), true, 0.5625, true],
    ['exactly 0.55 passes', r(11, 9, 0), true, 0.55, true],
    ['first model: 0.5 passes', r(16, 16, 0), false, 0.5, true],
    ['first model: below 0.5 fails', r(15, 17, 0), false, 0.46875, false],
    ['no games played fails', '', false, 0, false]
  ])('%s', (_n, results, hasChampion, winRate, pass) => {
    const v = gauntletVerdict(parseGameResults(results), hasChampion ? { elo: 1500 } : null, 1200)
    expect(v.winRate).toBeCloseTo(winRate, 9)
    expect(v.pass).toBe(pass)
    expect(v.required).toBe(hasChampion ? 0.55 : 0.5)
  })

  it('the candidate starts from the champion\'s rating and both move game by game', () => {
    const v = gauntletVerdict(parseGameResults('WWL'), { elo: 1500 }, 1200)
    const u = updateElo(1500, 1500, parseGameResults('WWL'))
    expect(v.candidateElo).toBe(u.a)
    expect(v.championElo).toBe(u.b)
    const first = gauntletVerdict(parseGameResults('W'), null, 1200)
    expect(first.candidateElo).toBe(1216)
    expect(first.championElo).toBeNull()
  })
})

describe('leaderless local training', () => {
  const base = {
    leaderlessForMs: 200_000, timeoutMs: 180_000, hasGpu: true, canTrain: true, localJobsRunning: 0, maxLocalJobs: 1,
    localGames: new Map<ConfigKey, number>([['hex8_2p', 3000], ['square8_2p', 5000], ['hexagonal_2p', 100]]), minGames: 2000,
    trainedLocally: new Map<ConfigKey, number>()
  }
  it.each<[string, Partial<typeof base>, ConfigKey | null]>([
    ['after the timeout: the config with most local data', {}, 'square8_2p'],
    ['before the timeout: nothing', { leaderlessForMs: 179_999 }, null],
    ['CPU node: nothing', { hasGpu: false }, null],
    ['without training capability: nothing', { canTrain: false }, null],
    ['one local job already running: nothing', { localJobsRunning: 1 }, null],
    ['turned off (max 0)', { maxLocalJobs: 0 }, null],
    ['already trained that data locally: next config', { trainedLocally: new Map([['square8_2p', 5000]]) }, 'hex8_2p'],
    ['not enough local data anywhere', { minGames: 10_000 }, null]
  ])('%s', (_n, over, expected) => {
    expect(leaderlessTrainingChoice({ ...base, ...over })).toBe(expected)
  })
})

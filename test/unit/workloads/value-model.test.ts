import { describe, expect, it } from 'vitest'
import { SeededRng } from '../../../src/core/rng.js'
import { boardFor } from '../../../src/workloads/board.js'
import { heuristicEngine, randomEngine } from '../../../src/workloads/engine.js'
import { features, featureNames } from '../../../src/workloads/features.js'
import { modelEngine } from '../../../src/workloads/engines.js'
import { gameSeed, playGame, playMatch } from '../../../src/workloads/play.js'
import { replay, toRecord } from '../../../src/workloads/records.js'
import { DEFAULT_TRAIN_PARAMS, MODEL_FORMAT, fitLinearValue, modelFits, valueModelSchema, type Sample, type ValueModel } from '../../../src/workloads/value-model.js'

/** Samples of `games` games on hex8 2p, mixed engines, labelled by outcome. */
function samples (games: number): Sample[] {
  const board = boardFor('hex8', 2)
  const out: Sample[] = []
  for (let i = 0; i < games; i++) {
    const engines = i % 3 === 0 ? [heuristicEngine, randomEngine] : i % 3 === 1 ? [randomEngine, heuristicEngine] : [heuristicEngine, heuristicEngine]
    const g = playGame(board, engines, gameSeed(1, i))
    const rec = toRecord(g, { engine: 'mixed', engines: engines.map(e => e.name), seed: gameSeed(1, i) })
    replay(rec, 'test', pos => {
      for (let p = 0; p < 2; p++) out.push({ x: features(pos, p), y: rec.winner === null ? 0.5 : rec.winner === p ? 1 : 0 })
    })
  }
  return out
}

function toModel (fit: ReturnType<typeof fitLinearValue>): ValueModel {
  return valueModelSchema.parse({
    format: MODEL_FORMAT, config: 'hex8_2p', board: 'hex8', players: 2, k: 4, featureNames: featureNames(4),
    mean: fit.mean, scale: fit.scale, weights: fit.weights, bias: fit.bias,
    training: { jobId: 't', seed: 1, games: 120, positions: 1, epochs: 30, initialLoss: fit.initialLoss, finalLoss: fit.finalLoss, validationLoss: fit.validationLoss }
  })
}

describe('linear value function', () => {
  const data = samples(120)

  it('features: open lines of the player and of the opponents, and whose move it is', () => {
    const g = playGame(boardFor('square8', 3), [heuristicEngine, heuristicEngine, heuristicEngine], 4)
    expect(features(g, 0).length).toBe(featureNames(3).length)
    expect(featureNames(4)).toEqual(['own_open_1', 'own_open_2', 'own_open_3', 'opp_open_1', 'opp_open_2', 'opp_open_3', 'opp_max_open_3', 'to_move'])
  })

  it('training by SGD reduces the loss, on held-out positions too, and lowers it epoch by epoch overall', () => {
    const fit = fitLinearValue(data, DEFAULT_TRAIN_PARAMS, new SeededRng(7))
    expect(fit.finalLoss).toBeLessThan(fit.initialLoss - 0.05)
    expect(fit.validationLoss).not.toBeNull()
    expect(fit.validationLoss as number).toBeLessThan(fit.initialLoss - 0.05)
    expect(fit.lossByEpoch.at(-1) as number).toBeLessThanOrEqual(fit.lossByEpoch[0] as number)
    // the model learnt the obvious signs: own lines of three good, the opponent's bad
    const w = fit.weights
    expect(w[2] as number).toBeGreaterThan(0)
    expect(w[5] as number).toBeLessThan(0)
  })

  it('is deterministic for a seed', () => {
    const a = fitLinearValue(data, { ...DEFAULT_TRAIN_PARAMS, epochs: 3 }, new SeededRng(3))
    const b = fitLinearValue(data, { ...DEFAULT_TRAIN_PARAMS, epochs: 3 }, new SeededRng(3))
    expect(a.weights).toEqual(b.weights)
  })

  it('the trained model, one ply deep, beats random in both seats', () => {
    const model = toModel(fitLinearValue(data, DEFAULT_TRAIN_PARAMS, new SeededRng(7)))
    expect(modelFits(model, 'hex8', 2, 4)).toBe(true)
    expect(modelFits(model, 'hex8', 3, 3)).toBe(false)
    const results = playMatch(boardFor('hex8', 2), 2, modelEngine(model), randomEngine, 20, 2)
    expect(results.filter(r => r === 'W').length).toBeGreaterThanOrEqual(18)
  })

  it('training is what makes it strong: the trained model beats the untrained (all-zero) one, which only takes wins and blocks', () => {
    const trained = toModel(fitLinearValue(data, DEFAULT_TRAIN_PARAMS, new SeededRng(7)))
    const zero = toModel({ weights: new Array(8).fill(0), bias: 0, mean: new Array(8).fill(0), scale: new Array(8).fill(1), initialLoss: 0.69, finalLoss: 0.69, validationLoss: null, lossByEpoch: [] })
    const results = playMatch(boardFor('hex8', 2), 2, modelEngine(trained), modelEngine(zero), 20, 2)
    const score = results.reduce((s, r) => s + (r === 'W' ? 1 : r === 'D' ? 0.5 : 0), 0) / results.length
    expect(score).toBeGreaterThanOrEqual(0.75)
  })

  it('refuses a model whose weights do not match its features', () => {
    expect(valueModelSchema.safeParse({ ...toModel(fitLinearValue(data, { ...DEFAULT_TRAIN_PARAMS, epochs: 1 }, new SeededRng(1))), weights: [1] }).success).toBe(false)
  })
})

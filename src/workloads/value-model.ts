/**
 * The linear value function: P(player wins | position) = σ(w · z + b), z the player's
 * standardised features (features.ts). Fitted by logistic regression with minibatch SGD and
 * L2 (seeded shuffles) on positions of recorded games, the label being the game's outcome for
 * that player (1 win, 0 loss, 1/players draw). Saved as JSON under `models/<config>/`.
 */
import { z } from 'zod'
import type { Rng } from '../core/rng.js'
import type { Game } from './game.js'
import { featureNames, features } from './features.js'
import { terminalValue, type Evaluator } from './heuristic.js'

export const MODEL_FORMAT = 'riftmesh-linear-value/1'

export const valueModelSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  config: z.string(),
  board: z.string(),
  players: z.number().int().min(2).max(4),
  k: z.number().int().min(2),
  featureNames: z.array(z.string()),
  mean: z.array(z.number()),
  scale: z.array(z.number().positive()),
  weights: z.array(z.number()),
  bias: z.number(),
  training: z.object({
    jobId: z.string(),
    seed: z.number(),
    games: z.number().int().min(0),
    positions: z.number().int().min(0),
    epochs: z.number().int().min(0),
    initialLoss: z.number(),
    finalLoss: z.number(),
    validationLoss: z.number().nullable()
  })
}).refine(m => m.weights.length === m.featureNames.length && m.mean.length === m.weights.length && m.scale.length === m.weights.length, 'weights, mean and scale must match the features')
export type ValueModel = z.infer<typeof valueModelSchema>

export interface Sample {
  x: Float64Array
  y: number
}

export interface TrainParams {
  epochs: number
  learningRate: number
  l2: number
  batchSize: number
  /** Share of samples held out to report a validation loss. */
  validationFraction: number
}

/** @default { epochs: 30, learningRate: 0.1, l2: 1e-4, batchSize: 64, validationFraction: 0.1 } */
export const DEFAULT_TRAIN_PARAMS: TrainParams = { epochs: 30, learningRate: 0.1, l2: 1e-4, batchSize: 64, validationFraction: 0.1 }

const sigmoid = (t: number): number => 1 / (1 + Math.exp(-t))
const EPS = 1e-12

function dot (w: readonly number[] | Float64Array, z: Float64Array, mean: readonly number[], scale: readonly number[]): number {
  let s = 0
  for (let i = 0; i < z.length; i++) s += (w[i] as number) * (((z[i] as number) - (mean[i] as number)) / (scale[i] as number))
  return s
}

/** Mean log loss of (weights, bias) on samples. */
export function logLoss (samples: readonly Sample[], weights: readonly number[], bias: number, mean: readonly number[], scale: readonly number[]): number {
  if (samples.length === 0) return 0
  let total = 0
  for (const s of samples) {
    const q = Math.min(1 - EPS, Math.max(EPS, sigmoid(dot(weights, s.x, mean, scale) + bias)))
    total -= s.y * Math.log(q) + (1 - s.y) * Math.log(1 - q)
  }
  return total / samples.length
}

export interface FitResult {
  weights: number[]
  bias: number
  mean: number[]
  scale: number[]
  initialLoss: number
  finalLoss: number
  validationLoss: number | null
  /** Training loss after each epoch. */
  lossByEpoch: number[]
}

/** Fit the logistic regression. Deterministic for the same samples, params and Rng seed. */
export function fitLinearValue (samples: readonly Sample[], params: TrainParams, rng: Rng): FitResult {
  if (samples.length === 0) throw new RangeError('no samples to train on')
  const d = (samples[0] as Sample).x.length
  const order = rng.shuffle(samples.map((_, i) => i))
  const nVal = samples.length >= 20 ? Math.floor(samples.length * params.validationFraction) : 0
  const val = order.slice(0, nVal).map(i => samples[i] as Sample)
  const train = order.slice(nVal).map(i => samples[i] as Sample)
  const mean = new Array<number>(d).fill(0)
  const scale = new Array<number>(d).fill(0)
  for (const s of train) for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (s.x[i] as number) / train.length
  for (const s of train) for (let i = 0; i < d; i++) scale[i] = (scale[i] as number) + ((s.x[i] as number) - (mean[i] as number)) ** 2 / train.length
  for (let i = 0; i < d; i++) scale[i] = Math.sqrt(scale[i] as number) > 1e-9 ? Math.sqrt(scale[i] as number) : 1
  const w = new Array<number>(d).fill(0)
  let b = 0
  const initialLoss = logLoss(train, w, b, mean, scale)
  const lossByEpoch: number[] = []
  const grad = new Float64Array(d)
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    const lr = params.learningRate / (1 + 0.1 * epoch)
    const idx = rng.shuffle(train.map((_, i) => i))
    for (let start = 0; start < idx.length; start += params.batchSize) {
      const end = Math.min(idx.length, start + params.batchSize)
      grad.fill(0)
      let gb = 0
      for (let j = start; j < end; j++) {
        const s = train[idx[j] as number] as Sample
        const err = sigmoid(dot(w, s.x, mean, scale) + b) - s.y
        for (let i = 0; i < d; i++) grad[i] = (grad[i] as number) + err * (((s.x[i] as number) - (mean[i] as number)) / (scale[i] as number))
        gb += err
      }
      const n = end - start
      for (let i = 0; i < d; i++) w[i] = (w[i] as number) - lr * ((grad[i] as number) / n + params.l2 * (w[i] as number))
      b -= lr * gb / n
    }
    lossByEpoch.push(logLoss(train, w, b, mean, scale))
  }
  return {
    weights: w, bias: b, mean, scale, initialLoss,
    finalLoss: lossByEpoch[lossByEpoch.length - 1] ?? initialLoss,
    validationLoss: val.length > 0 ? logLoss(val, w, b, mean, scale) : null,
    lossByEpoch
  }
}

/** The model's win probability for `player` in `game`. */
export function modelValue (model: ValueModel, game: Game, player: number, buf?: Float64Array): number {
  return sigmoid(dot(model.weights, features(game, player, buf), model.mean, model.scale) + model.bias)
}

/** The model as an evaluator: the players' win probabilities as shares; the terminal value when over. */
export function modelEvaluator (model: ValueModel): Evaluator {
  const buf = new Float64Array(model.weights.length)
  return (game: Game): number[] => {
    if (game.over) return terminalValue(game)
    const v: number[] = []
    let total = 0
    for (let p = 0; p < game.players; p++) {
      const x = modelValue(model, game, p, buf)
      v.push(x)
      total += x
    }
    return v.map(x => x / total)
  }
}

/** Check that a parsed model fits a board (its features match). */
export function modelFits (model: ValueModel, board: string, players: number, k: number): boolean {
  const names = featureNames(k)
  return model.board === board && model.players === players && model.k === k && names.length === model.featureNames.length && names.every((n, i) => n === model.featureNames[i])
}

/**
 * Engine modes (src/jobs/engine-modes.ts) as engines of the game family:
 *
 * | mode                       | engine                                                   |
 * |----------------------------|----------------------------------------------------------|
 * | random                     | uniform random legal move                                |
 * | heuristic                  | threats and lines (win, block, best `moveScore`)          |
 * | mcts, gumbel-mcts          | UCT, 64 playouts per move, heuristic-scored cut-offs     |
 * | maxn                       | max^n, depth 3, beam 6, heuristic evaluation             |
 * | brs                        | best-reply search, depth 3, beam 6, heuristic evaluation |
 * | nnue-guided, policy-only   | one ply on the value model                               |
 * | nn-minimax                 | best-reply search on the value model                     |
 * | nn-descent                 | max^n on the value model                                 |
 *
 * A model mode without a model plays the same search on the heuristic evaluation and its name
 * says so (e.g. `nnue-guided:no-model→greedy(heuristic)`) — by hand only: the leader dispatches a
 * model mode with the config's best model (`--model`), or as `heuristic` with the reason recorded.
 */
import { ENGINE_MODES, isModelMode } from '../jobs/engine-modes.js'
import { greedyEngine, heuristicEngine, randomEngine, type Engine } from './engine.js'
import { heuristicEvaluate, type Evaluator } from './heuristic.js'
import { DEFAULT_MCTS_PARAMS, mctsEngine, type MctsParams } from './mcts.js'
import { DEFAULT_BRS_PARAMS, DEFAULT_MAXN_PARAMS, brsEngine, maxnEngine, type SearchParams } from './search.js'
import { modelEvaluator, type ValueModel } from './value-model.js'
import { UsageError } from './errors.js'

/** Every mode name an engine can be made for. */
export const PLAYABLE_MODES: readonly string[] = ENGINE_MODES

export interface EngineOptions {
  /** The value model, for the model modes. */
  model?: ValueModel
  mcts?: MctsParams
  maxn?: SearchParams
  brs?: SearchParams
}


/** The engine of an engine mode. Throws `UsageError` for a name that is not a mode. */
export function engineForMode (mode: string, options: EngineOptions = {}): Engine {
  const model = options.model
  const evaluate: Evaluator = model !== undefined ? modelEvaluator(model) : heuristicEvaluate
  const evalName = model !== undefined ? 'model' : 'heuristic'
  const prefix = isModelMode(mode) && model === undefined ? `${mode}:no-model→` : ''
  const named = (e: Engine): Engine => (prefix === '' ? e : { name: `${prefix}${e.name}`, chooseMove: e.chooseMove })
  switch (mode) {
    case 'random': return randomEngine
    case 'heuristic': return heuristicEngine
    case 'mcts':
    case 'gumbel-mcts': return mctsEngine(`${mode}`, heuristicEvaluate, options.mcts ?? DEFAULT_MCTS_PARAMS)
    case 'maxn': return maxnEngine('maxn', heuristicEvaluate, options.maxn ?? DEFAULT_MAXN_PARAMS)
    case 'brs': return brsEngine('brs', heuristicEvaluate, options.brs ?? DEFAULT_BRS_PARAMS)
    case 'nnue-guided':
    case 'policy-only': return named(greedyEngine(`greedy(${evalName})`, evaluate))
    case 'nn-minimax': return named(brsEngine(`brs[${evalName}]`, evaluate, options.brs ?? DEFAULT_BRS_PARAMS))
    case 'nn-descent': return named(maxnEngine(`maxn[${evalName}]`, evaluate, options.maxn ?? DEFAULT_MAXN_PARAMS))
    default: throw new UsageError('--engine-mode', `unknown engine mode ${JSON.stringify(mode)} (one of ${PLAYABLE_MODES.join(', ')})`)
  }
}

/** The engine that plays a value model in gauntlets and tournaments: one ply on the model. */
export function modelEngine (model: ValueModel, label = 'model'): Engine {
  return greedyEngine(`greedy(${label})`, modelEvaluator(model))
}

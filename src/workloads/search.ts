/**
 * Depth-limited multi-player searches over the `beam` best candidate moves (by `moveScore`),
 * with forced moves alone when there are some.
 * - max^n: each player maximises its own component of the value vector (Luckhardt & Irani).
 * - best-reply search: the root player against one combined opponent layer — of all opponents'
 *   moves only the best reply is played, the others pass — with alpha-beta (Schadd & Winands).
 * Both reduce to minimax for two players.
 */
import type { Game } from './game.js'
import { orderedMoves, terminalValue, type Evaluator } from './heuristic.js'
import { pickBest, type Engine } from './engine.js'

export interface SearchParams {
  /** Plies searched. */
  depth: number
  /** Moves searched per position. */
  beam: number
}

/** @default { depth: 3, beam: 6 } */
export const DEFAULT_MAXN_PARAMS: SearchParams = { depth: 3, beam: 6 }
/** @default { depth: 3, beam: 6 } */
export const DEFAULT_BRS_PARAMS: SearchParams = { depth: 3, beam: 6 }

function maxnValue (game: Game, depth: number, p: SearchParams, evaluate: Evaluator): number[] {
  if (game.over) return terminalValue(game)
  if (depth === 0) return evaluate(game)
  const me = game.toMove
  let best: number[] | null = null
  for (const m of orderedMoves(game, p.beam)) {
    game.play(m)
    const v = maxnValue(game, depth - 1, p, evaluate)
    game.undo()
    if (best === null || (v[me] as number) > (best[me] as number)) best = v
  }
  return best ?? evaluate(game)
}

export function maxnEngine (name: string, evaluate: Evaluator, p: SearchParams = DEFAULT_MAXN_PARAMS): Engine {
  return {
    name: `${name}(d${p.depth},b${p.beam})`,
    chooseMove (game, rng) {
      const me = game.toMove
      return pickBest(orderedMoves(game, p.beam), m => {
        game.play(m)
        const v = maxnValue(game, p.depth - 1, p, evaluate)[me] as number
        game.undo()
        return v
      }, rng)
    }
  }
}

function brsValue (game: Game, root: number, depth: number, maxTurn: boolean, alpha: number, beta: number, p: SearchParams, evaluate: Evaluator): number {
  if (game.over) return terminalValue(game)[root] as number
  if (depth === 0) return evaluate(game)[root] as number
  if (maxTurn) {
    let v = -Infinity
    for (const m of orderedMoves(game, p.beam, root)) {
      game.playAs(m, root)
      v = Math.max(v, brsValue(game, root, depth - 1, false, alpha, beta, p, evaluate))
      game.undo()
      alpha = Math.max(alpha, v)
      if (alpha >= beta) break
    }
    return v === -Infinity ? evaluate(game)[root] as number : v
  }
  let v = Infinity
  for (let i = 1; i < game.players && alpha < beta; i++) {
    const q = (root + i) % game.players
    for (const m of orderedMoves(game, p.beam, q)) {
      game.playAs(m, q)
      v = Math.min(v, brsValue(game, root, depth - 1, true, alpha, beta, p, evaluate))
      game.undo()
      beta = Math.min(beta, v)
      if (alpha >= beta) break
    }
  }
  return v === Infinity ? evaluate(game)[root] as number : v
}

export function brsEngine (name: string, evaluate: Evaluator, p: SearchParams = DEFAULT_BRS_PARAMS): Engine {
  return {
    name: `${name}(d${p.depth},b${p.beam})`,
    chooseMove (game, rng) {
      const me = game.toMove
      const toMove = game.toMove
      return pickBest(orderedMoves(game, p.beam), m => {
        game.play(m)
        const v = brsValue(game, me, p.depth - 1, false, -Infinity, Infinity, p, evaluate)
        game.undo()
        game.toMove = toMove
        return v
      }, rng)
    }
  }
}

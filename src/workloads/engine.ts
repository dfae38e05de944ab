/**
 * Engines choose a move for the player to move. Every engine is deterministic given its Rng:
 * the same position and the same seed give the same move. The simple engines live here; the
 * searches in search.ts and mcts.ts.
 */
import type { Rng } from '../core/rng.js'
import type { Game } from './game.js'
import { forcedMoves, moveScore, type Evaluator } from './heuristic.js'

export interface Engine {
  /** What plays, for game records (e.g. `heuristic`, `mcts(128)`, `greedy(model)`). */
  readonly name: string
  /** A legal move for `game.toMove`; `game` is left as it was. */
  chooseMove: (game: Game, rng: Rng) => number
}

/** Uniform over every legal move. */
export const randomEngine: Engine = {
  name: 'random',
  chooseMove (game, rng) {
    const moves = game.legalMoves()
    const m = rng.pick(moves)
    if (m === undefined) throw new Error('no legal move: the game is over')
    return m
  }
}

/** The best of `moves` by `score`, ties broken by the Rng. */
export function pickBest (moves: readonly number[], score: (m: number) => number, rng: Rng): number {
  let best = -1
  let bestScore = -Infinity
  let ties = 0
  for (const m of moves) {
    const s = score(m)
    if (s > bestScore) {
      best = m
      bestScore = s
      ties = 1
    } else if (s === bestScore && rng.int(++ties) === 0) {
      best = m
    }
  }
  if (best < 0) throw new Error('no move to choose from')
  return best
}

/** Random spread of the heuristic's move scores (×1 … ×1.3), so that games differ by seed. */
export const HEURISTIC_JITTER = 0.3

/** Threats and lines: win now, else block a win, else the move with the best `moveScore` (jittered). */
export const heuristicEngine: Engine = {
  name: 'heuristic',
  chooseMove (game, rng) {
    const forced = forcedMoves(game)
    const me = game.toMove
    if (forced.length > 0) return pickBest(forced, m => moveScore(game, m, me), rng)
    return pickBest(game.candidateMoves(), m => moveScore(game, m, me) * (1 + HEURISTIC_JITTER * rng.next()), rng)
  }
}

/** One ply: forced moves first, else the move whose resulting position `evaluate` rates best for the mover. */
export function greedyEngine (name: string, evaluate: Evaluator): Engine {
  return {
    name,
    chooseMove (game, rng) {
      const me = game.toMove
      const forced = forcedMoves(game)
      const moves = forced.length > 0 ? forced : game.candidateMoves()
      return pickBest(moves, m => {
        game.play(m)
        const v = evaluate(game)[me] as number
        game.undo()
        return v
      }, rng)
    }
  }
}

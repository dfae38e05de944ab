/**
 * Monte-Carlo tree search (UCT) for n players: each node keeps the players' summed rewards and
 * the mover picks the child best for itself (UCB1). A bounded number of playouts per move; a
 * playout is bounded in plies and plays forced moves (win, block) and otherwise a random cell
 * near a random stone; a playout that reaches its ply limit is scored by the evaluator.
 */
import type { Rng } from '../core/rng.js'
import type { Game } from './game.js'
import { forcedMoves, terminalValue, type Evaluator } from './heuristic.js'
import type { Engine } from './engine.js'

export interface MctsParams {
  /** Playouts per move. */
  playouts: number
  /** Plies a playout may play before the evaluator scores it. */
  playoutPlies: number
  /** UCB1 exploration constant. */
  exploration: number
}

/** @default { playouts: 64, playoutPlies: 16, exploration: 1.2 } */
export const DEFAULT_MCTS_PARAMS: MctsParams = { playouts: 64, playoutPlies: 16, exploration: 1.2 }

interface Node {
  move: number
  /** The player who made `move`. */
  mover: number
  visits: number
  /** Summed reward of each player. */
  reward: number[]
  children: Node[] | null
  untried: number[]
}

function newNode (game: Game, move: number, mover: number): Node {
  const forced = forcedMoves(game)
  return { move, mover, visits: 0, reward: new Array<number>(game.players).fill(0), children: null, untried: game.over ? [] : forced.length > 0 ? forced : game.candidateMoves() }
}

function select (node: Node, c: number): Node {
  const children = node.children as Node[]
  const logN = Math.log(node.visits)
  let best = children[0] as Node
  let bestScore = -Infinity
  for (const ch of children) {
    const s = (ch.reward[ch.mover] as number) / ch.visits + c * Math.sqrt(logN / ch.visits)
    if (s > bestScore) { best = ch; bestScore = s }
  }
  return best
}

function randomNearMove (game: Game, rng: Rng): number {
  const stones = game.moves
  for (let tries = 0; tries < 8 && stones.length > 0; tries++) {
    const near = game.board.near[stones[rng.int(stones.length)] as number] as Int32Array
    if (near.length === 0) continue
    const c = near[rng.int(near.length)] as number
    if (game.owner[c] === -1) return c
  }
  const cells = game.board.cells
  for (let tries = 0; tries < 16; tries++) {
    const c = cells[rng.int(cells.length)] as number
    if (game.owner[c] === -1) return c
  }
  return rng.pick(game.legalMoves()) as number
}

function playout (game: Game, rng: Rng, p: MctsParams, evaluate: Evaluator): number[] {
  let plies = 0
  while (!game.over && plies < p.playoutPlies) {
    const forced = forcedMoves(game)
    game.play(forced.length > 0 ? forced[rng.int(forced.length)] as number : randomNearMove(game, rng))
    plies++
  }
  const v = game.over ? terminalValue(game) : evaluate(game)
  for (let i = 0; i < plies; i++) game.undo()
  return v
}

export function mctsEngine (name: string, evaluate: Evaluator, p: MctsParams = DEFAULT_MCTS_PARAMS): Engine {
  return {
    name: `${name}(${p.playouts})`,
    chooseMove (game, rng) {
      const root = newNode(game, -1, -1)
      if (root.untried.length === 1) return root.untried[0] as number
      for (let i = 0; i < p.playouts; i++) {
        const path: Node[] = [root]
        let node = root
        while (node.untried.length === 0 && node.children !== null && node.children.length > 0) {
          node = select(node, p.exploration)
          game.play(node.move)
          path.push(node)
        }
        if (node.untried.length > 0) {
          const m = node.untried.splice(rng.int(node.untried.length), 1)[0] as number
          const mover = game.toMove
          game.play(m)
          const child = newNode(game, m, mover)
          ;(node.children ??= []).push(child)
          path.push(child)
        }
        const v = playout(game, rng, p, evaluate)
        for (const n of path) {
          n.visits++
          for (let q = 0; q < v.length; q++) (n.reward[q] as number) += v[q] as number
        }
        for (let d = 1; d < path.length; d++) game.undo()
      }
      let best = (root.children as Node[])[0] as Node
      for (const ch of root.children as Node[]) if (ch.visits > best.visits) best = ch
      return best.move
    }
  }
}

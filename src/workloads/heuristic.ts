/**
 * Threats and lines: how much a move does for its player (lines it extends, opponents' lines it
 * blocks), the forced moves (win now, block a win), and a position's value to each player from
 * its open lines. Shared by the heuristic engine, the searches and the playouts.
 */
import type { Game } from './game.js'

/** Value of extending a line of n own stones (index n), and of blocking an opponent's line of n. */
const ATTACK = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]
const BLOCK = ATTACK.map(v => 0.8 * v)
const pow10 = (n: number): number => ATTACK[n] ?? 10 ** n

/** What placing a stone of `player` on empty `slot` is worth to `player` (threat count score). */
export function moveScore (game: Game, slot: number, player: number): number {
  const P = game.players
  let score = 0
  for (const w of game.board.windowsOf[slot] as Int32Array) {
    const tot = game.windowTotal[w] as number
    const mine = game.windowStones[w * P + player] as number
    if (mine === tot) {
      score += pow10(tot)
    } else if (mine === 0) {
      for (let q = 0; q < P; q++) {
        if (q !== player && game.windowStones[w * P + q] === tot) { score += BLOCK[tot] ?? 0.8 * pow10(tot); break }
      }
    }
  }
  return score
}

/**
 * The forced moves of the player to move: its winning moves if any; else the cells that stop
 * the next opponent that can win at once (in turn order); else none.
 */
export function forcedMoves (game: Game): number[] {
  const me = game.toMove
  const win = game.winningMoves(me)
  if (win.length > 0) return win
  for (let i = 1; i < game.players; i++) {
    const threat = game.winningMoves((me + i) % game.players)
    if (threat.length > 0) return threat
  }
  return []
}

/** Candidate moves of the player to move, best first by `moveScore`, at most `beam` (forced moves alone when there are some). */
export function orderedMoves (game: Game, beam: number, player: number = game.toMove): number[] {
  const forced = player === game.toMove ? forcedMoves(game) : game.winningMoves(player)
  if (forced.length > 0) return forced.slice(0, beam)
  const scored = game.candidateMoves().map(m => ({ m, s: moveScore(game, m, player) }))
  scored.sort((a, b) => b.s - a.s || a.m - b.m)
  return scored.slice(0, beam).map(x => x.m)
}

/** A position's value to each player, in [0, 1], summing to 1 (won: 1 for the winner; drawn: equal shares). */
export type Evaluator = (game: Game) => number[]

export function terminalValue (game: Game): number[] {
  const out = new Array<number>(game.players).fill(game.winner >= 0 ? 0 : 1 / game.players)
  if (game.winner >= 0) out[game.winner] = 1
  return out
}

/** Shares of the players' open-line strength (Σ over lines of 10^stones); the terminal value when over. */
export const heuristicEvaluate: Evaluator = (game: Game): number[] => {
  if (game.over) return terminalValue(game)
  const strength: number[] = []
  let total = 0
  for (let p = 0; p < game.players; p++) {
    let s = 1
    for (let n = 1; n < game.k; n++) s += game.openLines(p, n) * pow10(n)
    // the player to move will add a stone first: its lines are worth a little more
    if (p === game.toMove) s *= 1.5
    strength.push(s)
    total += s
  }
  return strength.map(s => s / total)
}

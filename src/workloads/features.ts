/**
 * Board features of a position from one player's view, the inputs of the linear value
 * function: log(1 + count) of the player's open lines holding 1 … k−1 stones (windows where
 * only the player has stones), the same averaged over the opponents, the opponents' most
 * lines one stone short of winning, and whether the player is to move.
 */
import type { Game } from './game.js'

/** Feature names for a board with `k` in a row (their order is the model's weight order). */
export function featureNames (k: number): string[] {
  const names: string[] = []
  for (let n = 1; n < k; n++) names.push(`own_open_${n}`)
  for (let n = 1; n < k; n++) names.push(`opp_open_${n}`)
  names.push(`opp_max_open_${k - 1}`, 'to_move')
  return names
}

/** The features of `game` for `player`, in `featureNames` order, written into `out` if given. */
export function features (game: Game, player: number, out?: Float64Array): Float64Array {
  const k = game.k
  const P = game.players
  const x = out ?? new Float64Array(2 * (k - 1) + 2)
  let i = 0
  for (let n = 1; n < k; n++) x[i++] = Math.log1p(game.openLines(player, n))
  for (let n = 1; n < k; n++) {
    let s = 0
    for (let q = 0; q < P; q++) if (q !== player) s += game.openLines(q, n)
    x[i++] = Math.log1p(s / (P - 1))
  }
  let top = 0
  for (let q = 0; q < P; q++) if (q !== player) top = Math.max(top, game.openLines(q, k - 1))
  x[i++] = Math.log1p(top)
  x[i++] = game.toMove === player ? 1 : 0
  return x
}

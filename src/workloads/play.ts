/**
 * Playing games: one game between engines seated in turn order, and matches of a candidate
 * against a baseline from the candidate's view. Each game gets its own Rng stream, so a game
 * is reproducible from its seed alone.
 */
import { SeededRng, hashString32 } from '../core/rng.js'
import type { Board } from './board.js'
import type { Engine } from './engine.js'
import { Game } from './game.js'

/** Play one game to its end; engine i sits in seat i (engines.length = players); `opening` moves first. */
export function playGame (board: Board, engines: readonly Engine[], seed: number, opening: readonly number[] = []): Game {
  const game = new Game(board, engines.length)
  const rng = new SeededRng(seed)
  for (const m of opening) if (!game.over) game.play(m)
  while (!game.over) {
    const engine = engines[game.toMove] as Engine
    game.play(engine.chooseMove(game, rng))
  }
  return game
}

/** Seed of game `index` of a job. */
export function gameSeed (baseSeed: number, index: number): number {
  return hashString32(`game:${index}`, baseSeed)
}

/** Seed of a job: the given one, or one derived from the job id. */
export function jobSeed (jobId: string, seed?: number): number {
  return seed !== undefined ? seed >>> 0 : hashString32(`job:${jobId}`)
}

/**
 * Seats of the candidate in game `index` of a match: the seats of one parity, alternating
 * between games (2 players: seat 0, then seat 1; 3: {0, 2} then {1}; 4: {0, 2} then {1, 3}).
 * Over each pair of games the two sides swap every seat, so equal engines score 0.5.
 */
export function candidateSeats (players: number, index: number): number[] {
  const out: number[] = []
  for (let s = 0; s < players; s++) if ((s + index) % 2 === 0) out.push(s)
  return out
}

/**
 * A random opening of `plies` moves: the first on the centre or next to it, the others near
 * the stones already played. Matches play each opening twice, seats swapped, so that two
 * deterministic engines (a model played greedily) still meet in many different games.
 */
export function randomOpening (board: Board, players: number, plies: number, seed: number): number[] {
  const game = new Game(board, players)
  const rng = new SeededRng(seed)
  for (let i = 0; i < plies && !game.over; i++) {
    const moves = i === 0 ? [board.center, ...(board.near[board.center] as Int32Array)] : game.candidateMoves()
    const m = rng.pick(moves) as number
    game.play(m)
    if (game.over) { game.undo(); break }
  }
  return [...game.moves]
}

export type Outcome = 'W' | 'L' | 'D'

export interface MatchGame {
  game: Game
  seed: number
  seats: number[]
  outcome: Outcome
}

/**
 * Play `games` games of a candidate against a baseline, the candidate in `candidateSeats`;
 * each pair of games (seats swapped) starts from the same random opening of one stone per
 * player. Each outcome from the candidate's view: W when a candidate seat wins, L when a
 * baseline seat does, D for a draw.
 */
export function playMatch (board: Board, players: number, candidate: Engine, baseline: Engine, games: number, seed: number, onGame?: (g: MatchGame) => void): Outcome[] {
  const out: Outcome[] = []
  for (let i = 0; i < games; i++) {
    const seats = candidateSeats(players, i)
    const engines = Array.from({ length: players }, (_, s) => (seats.includes(s) ? candidate : baseline))
    const s = gameSeed(seed, i)
    const opening = randomOpening(board, players, players, hashString32(`opening:${Math.floor(i / 2)}`, seed))
    const game = playGame(board, engines, s, opening)
    const outcome: Outcome = game.winner < 0 ? 'D' : seats.includes(game.winner) ? 'W' : 'L'
    out.push(outcome)
    onGame?.({ game, seed: s, seats, outcome })
  }
  return out
}

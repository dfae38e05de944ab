/**
 * Game records: one JSON object per line of a `.jsonl` file (the manifest counts one game per
 * line). Moves are board coordinates (x, y; axial q, r on hex boards), seats in turn order.
 *
 *   {"v":1,"config":"hex8_2p","board":"hex8","players":2,"k":4,"engine":"heuristic",
 *    "engines":["heuristic","heuristic"],"seed":123,"moves":[[3,4],[4,4],…],"winner":0}
 *
 * `winner` is the winning seat, or null for a draw.
 */
import { z } from 'zod'
import { boardFor, fromCoord, toCoord, type Board } from './board.js'
import { WorkloadDataError } from './errors.js'
import { Game } from './game.js'

/** Longest record line read, in characters. */
export const MAX_RECORD_CHARS = 64 * 1024

export const gameRecordSchema = z.object({
  v: z.literal(1),
  config: z.string().regex(/^[a-z][a-z0-9]*_[234]p$/),
  board: z.string(),
  players: z.number().int().min(2).max(4),
  k: z.number().int().min(2),
  engine: z.string().max(200),
  engines: z.array(z.string().max(200)).min(2).max(4),
  seed: z.number().int().min(0),
  moves: z.array(z.tuple([z.number().int(), z.number().int()])),
  winner: z.number().int().min(0).max(3).nullable()
})
export type GameRecord = z.infer<typeof gameRecordSchema>

/** The config key of a board and player count. */
export function configKey (board: string, players: number): string {
  return `${board}_${players}p`
}

/** A finished game as a record. */
export function toRecord (game: Game, fields: { engine: string, engines: readonly string[], seed: number }): GameRecord {
  return {
    v: 1,
    config: configKey(game.board.spec.name, game.players),
    board: game.board.spec.name,
    players: game.players,
    k: game.k,
    engine: fields.engine,
    engines: [...fields.engines],
    seed: fields.seed >>> 0,
    moves: game.moves.map(m => toCoord(game.board, m)),
    winner: game.winner >= 0 ? game.winner : null
  }
}

/** Parse and check one record line (`where` names it in errors). */
export function parseRecord (line: string, where: string): GameRecord {
  if (line.length > MAX_RECORD_CHARS) throw new WorkloadDataError(where, `record longer than ${MAX_RECORD_CHARS} characters`)
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch (err) {
    throw new WorkloadDataError(where, 'not JSON', { cause: err })
  }
  const r = gameRecordSchema.safeParse(raw)
  if (!r.success) throw new WorkloadDataError(where, `not a game record: ${r.error.issues[0]?.message ?? 'invalid'}`)
  return r.data
}

/**
 * Replay a record, calling `onPosition` after each move that does not end the game; checks
 * that every move is legal and that the recorded winner is the real one.
 */
export function replay (rec: GameRecord, where: string, onPosition?: (game: Game) => void): Game {
  let board: Board
  try {
    board = boardFor(rec.board, rec.players)
  } catch (err) {
    throw new WorkloadDataError(where, `record of an unknown board ${rec.board}`, { cause: err })
  }
  if (board.spec.k !== rec.k || configKey(rec.board, rec.players) !== rec.config) throw new WorkloadDataError(where, 'record config, board and k disagree')
  const game = new Game(board, rec.players)
  for (const [x, y] of rec.moves) {
    const slot = fromCoord(board, x, y)
    if (slot < 0 || !game.isLegal(slot)) throw new WorkloadDataError(where, `illegal move (${x}, ${y}) at ply ${game.moves.length}`)
    game.play(slot)
    if (!game.over) onPosition?.(game)
  }
  const winner = game.winner >= 0 ? game.winner : null
  if (winner !== rec.winner || (winner === null && !game.drawn)) throw new WorkloadDataError(where, 'record does not end as recorded')
  return game
}

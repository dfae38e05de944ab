import { describe, expect, it } from 'vitest'
import { SeededRng } from '../../../src/core/rng.js'
import { BOARD_NAMES, boardFor, buildBoard, fromCoord, type BoardSpec } from '../../../src/workloads/board.js'
import { Game } from '../../../src/workloads/game.js'
import { UnknownBoardError } from '../../../src/workloads/errors.js'
import { parseRecord, replay, toRecord } from '../../../src/workloads/records.js'

const square = (size: number, k: number): BoardSpec => ({ name: 'test-square', shape: 'square', size, k })
const rhombus = (size: number, k: number): BoardSpec => ({ name: 'test-hex', shape: 'hex-rhombus', size, k })

/** Place `stones` (x, y, player) with playAs; returns the game. */
function place (spec: BoardSpec, players: number, stones: ReadonlyArray<readonly [number, number, number]>): Game {
  const b = buildBoard(spec)
  const g = new Game(b, players)
  for (const [x, y, p] of stones) g.playAs(fromCoord(b, x, y), p)
  return g
}

describe('k-in-a-row rules', () => {
  it.each([
    ['a row', [[0, 2], [1, 2], [2, 2]]],
    ['a column', [[3, 0], [3, 1], [3, 2]]],
    ['the main diagonal', [[0, 0], [1, 1], [2, 2]]],
    ['the anti-diagonal', [[4, 0], [3, 1], [2, 2]]]
  ] as const)('on a square board, three in %s wins', (_name, line) => {
    const stones = line.flatMap(([x, y], i) => [[x, y, 0] as const, ...(i < 2 ? [[i, 4, 1] as const] : [])])
    const g = place(square(5, 3), 2, stones)
    expect(g.winner).toBe(0)
    expect(g.over).toBe(true)
  })

  it.each([
    ['the q axis', [[0, 1], [1, 1], [2, 1]]],
    ['the r axis', [[2, 0], [2, 1], [2, 2]]],
    ['the q = −r axis', [[3, 0], [2, 1], [1, 2]]]
  ] as const)('on a hex board, three along %s wins', (_name, line) => {
    const stones = line.flatMap(([x, y], i) => [[x, y, 1] as const, ...(i < 2 ? [[i, 4, 0] as const] : [])])
    const g = place(rhombus(5, 3), 2, stones)
    expect(g.winner).toBe(1)
  })

  it('on a hex board the square diagonal (1, 1) is not a line', () => {
    const g = place(rhombus(5, 3), 2, [[0, 0, 0], [1, 1, 0], [2, 2, 0]])
    expect(g.winner).toBe(-1)
  })

  it('a full board without a line is a draw', () => {
    // X O X / X O O / O X X on a 3 × 3 board, three in a row
    const b = buildBoard(square(3, 3))
    const g = new Game(b, 2)
    for (const [x, y] of [[0, 0], [1, 0], [2, 0], [1, 1], [0, 1], [2, 1], [1, 2], [0, 2], [2, 2]] as const) g.play(fromCoord(b, x, y))
    expect(g.winner).toBe(-1)
    expect(g.drawn).toBe(true)
    expect(g.legalMoves()).toEqual([])
  })

  it('three and four players move in turn and any of them can win', () => {
    const b = buildBoard(square(6, 3))
    const g3 = new Game(b, 3)
    // players 0, 1, 2 in turn; player 2 builds the column x = 5
    for (const [x, y] of [[0, 0], [0, 5], [5, 0], [1, 0], [1, 5], [5, 1], [3, 3], [4, 4], [5, 2]] as const) g3.play(fromCoord(b, x, y))
    expect(g3.winner).toBe(2)
    const g4 = new Game(b, 4)
    for (const [x, y] of [[0, 0], [0, 5], [5, 5], [2, 2], [1, 0], [1, 5], [4, 5], [3, 3], [5, 0], [4, 0], [3, 4], [4, 4]] as const) g4.play(fromCoord(b, x, y))
    expect(g4.movers).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
    expect(g4.winner).toBe(3) // (2,2), (3,3), (4,4)
  })

  it('undo restores every count: random games played back to the start equal a new game', () => {
    for (const name of BOARD_NAMES) {
      for (const players of [2, 3, 4]) {
        const b = boardFor(name, players)
        const g = new Game(b, players)
        const rng = new SeededRng(players * 7 + name.length)
        while (!g.over) g.play(rng.pick(g.legalMoves()) as number)
        const fresh = new Game(b, players)
        const cloned = g.clone()
        expect(cloned.open).toEqual(g.open)
        while (g.moves.length > 0) g.undo()
        expect(g.open).toEqual(fresh.open)
        expect(g.windowStones).toEqual(fresh.windowStones)
        expect(g.owner).toEqual(fresh.owner)
        expect([g.toMove, g.winner, g.empties]).toEqual([0, -1, b.cells.length])
      }
    }
  })

  it('winningMoves finds the cell that completes a line', () => {
    const b = buildBoard(square(5, 4))
    const g = new Game(b, 2)
    for (const [x, y, p] of [[1, 1, 0], [2, 1, 0], [3, 1, 0], [0, 1, 1]] as const) g.playAs(fromCoord(b, x, y), p)
    expect(g.winningMoves(0)).toEqual([fromCoord(b, 4, 1)])
    expect(g.winningMoves(1)).toEqual([])
  })

  it('boards: the hexagon leaves its corners out; the config boards exist for 2–4 players; others are refused', () => {
    const hex = boardFor('hexagonal', 2)
    expect(hex.cells.length).toBe(91)
    expect(fromCoord(hex, 0, 0)).toBe(-1)
    expect(fromCoord(hex, 5, 5)).toBeGreaterThanOrEqual(0)
    expect(boardFor('square19', 2).cells.length).toBe(361)
    expect(boardFor('square19', 2).spec.k).toBe(5)
    expect(boardFor('square8', 3).spec.k).toBe(3)
    expect(() => boardFor('hex9', 2)).toThrow(UnknownBoardError)
    expect(() => boardFor('square8', 5)).toThrow(RangeError)
  })

  it('a game record replays to the same end, and a tampered one is refused', () => {
    const b = boardFor('hex8', 2)
    const g = new Game(b, 2)
    const rng = new SeededRng(3)
    while (!g.over) g.play(rng.pick(g.legalMoves()) as number)
    const rec = toRecord(g, { engine: 'random', engines: ['random', 'random'], seed: 3 })
    const line = JSON.stringify(rec)
    const back = replay(parseRecord(line, 'x'), 'x')
    expect(back.winner).toBe(g.winner)
    expect(back.moves).toEqual(g.moves)
    expect(() => replay({ ...rec, winner: rec.winner === 0 ? 1 : 0 }, 'x')).toThrow(/does not end as recorded/)
    expect(() => replay({ ...rec, moves: [rec.moves[0] as [number, number], ...rec.moves] }, 'x')).toThrow(/illegal move/)
    expect(() => parseRecord('{"v":1}', 'x')).toThrow(/not a game record/)
  })
})

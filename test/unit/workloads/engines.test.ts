import { describe, expect, it } from 'vitest'
import { SeededRng } from '../../../src/core/rng.js'
import { ENGINE_MODES } from '../../../src/jobs/engine-modes.js'
import { boardFor, buildBoard, fromCoord } from '../../../src/workloads/board.js'
import { Game } from '../../../src/workloads/game.js'
import { engineForMode } from '../../../src/workloads/engines.js'
import { heuristicEngine, randomEngine } from '../../../src/workloads/engine.js'
import { UsageError } from '../../../src/workloads/errors.js'
import { candidateSeats, playGame, playMatch } from '../../../src/workloads/play.js'

describe('engines', () => {
  it.each(ENGINE_MODES.map(m => [m]))('%s plays legal moves to the end, the same game for the same seed', (mode) => {
    const engine = engineForMode(mode)
    for (const [board, players] of [['hex8', 2], ['square8', 3], ['hexagonal', 4]] as const) {
      const b = boardFor(board, players)
      const checked = { chooseMove: (g: Game, rng: SeededRng) => { const m = engine.chooseMove(g, rng); expect(g.isLegal(m)).toBe(true); return m }, name: engine.name }
      const a = playGame(b, Array(players).fill(checked), 11)
      const again = playGame(b, Array(players).fill(engine), 11)
      expect(a.over).toBe(true)
      expect(again.moves).toEqual(a.moves)
    }
  })

  it('different seeds give different games', () => {
    const b = boardFor('square8', 2)
    const games = [1, 2, 3, 4].map(s => playGame(b, [heuristicEngine, heuristicEngine], s).moves.join(','))
    expect(new Set(games).size).toBeGreaterThan(1)
  })

  it('an unknown mode is a usage error', () => {
    expect(() => engineForMode('alphazero')).toThrow(UsageError)
  })

  it('a model mode without a model says it plays the heuristic evaluation', () => {
    expect(engineForMode('nnue-guided').name).toMatch(/^nnue-guided:no-model→greedy\(heuristic\)/)
  })

  it('every engine but random takes a win in one and blocks the opponent\'s', () => {
    const b = buildBoard({ name: 't', shape: 'square', size: 7, k: 4 })
    for (const mode of ENGINE_MODES.filter(m => m !== 'random')) {
      const e = engineForMode(mode)
      const win = new Game(b, 2)
      for (const [x, y, p] of [[1, 1, 0], [2, 1, 0], [3, 1, 0], [0, 1, 1], [5, 5, 1], [6, 6, 1]] as const) win.playAs(fromCoord(b, x, y), p)
      win.toMove = 0
      expect(e.chooseMove(win, new SeededRng(1)), mode).toBe(fromCoord(b, 4, 1))
      const block = new Game(b, 2)
      for (const [x, y, p] of [[1, 3, 1], [2, 3, 1], [3, 3, 1], [0, 3, 0], [6, 0, 0]] as const) block.playAs(fromCoord(b, x, y), p)
      block.toMove = 0
      expect(e.chooseMove(block, new SeededRng(1)), mode).toBe(fromCoord(b, 4, 3))
    }
  })

  it('the candidate swaps every seat over each pair of games', () => {
    expect([0, 1].map(i => candidateSeats(2, i))).toEqual([[0], [1]])
    expect([0, 1].map(i => candidateSeats(3, i))).toEqual([[0, 2], [1]])
    expect([0, 1].map(i => candidateSeats(4, i))).toEqual([[0, 2], [1, 3]])
  })

  it('a match plays each random opening twice with the seats swapped, so deterministic engines meet in different games', () => {
    const openings: string[] = []
    const results = playMatch(boardFor('hex8', 2), 2, engineForMode('brs'), engineForMode('brs'), 8, 4, g => openings.push(g.game.moves.slice(0, 2).join(',')))
    expect(openings[0]).toBe(openings[1])
    expect(openings[2]).toBe(openings[3])
    expect(new Set(openings).size).toBeGreaterThan(1)
    // the same deterministic engine on both sides: each pair is one win and one loss (or two draws)
    expect(results.filter(r => r === 'W').length).toBe(results.filter(r => r === 'L').length)
  })

  it.each([['hex8', 2], ['square8', 2], ['square19', 2], ['hexagonal', 3]] as const)('heuristic beats random clearly on %s %ip (both seats, 20 games)', (board, players) => {
    const results = playMatch(boardFor(board, players), players, heuristicEngine, randomEngine, 20, 5)
    const score = results.reduce((s, r) => s + (r === 'W' ? 1 : r === 'D' ? 0.5 : 0), 0) / results.length
    expect(score).toBeGreaterThanOrEqual(0.85)
  })

  it.each(['maxn', 'brs', 'mcts'])('%s beats random (both seats, 10 games on hex8 2p)', (mode) => {
    const results = playMatch(boardFor('hex8', 2), 2, engineForMode(mode), randomEngine, 10, 9)
    expect(results.filter(r => r === 'W').length).toBeGreaterThanOrEqual(8)
  })
})

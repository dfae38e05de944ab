/**
 * The rules of k-in-a-row for 2–4 players on a `Board`: players place one stone in turn on an
 * empty cell (player 0 first); the first to own `k` cells in a row along an axis wins; a full
 * board without such a row is a draw. The state keeps, per window, how many stones each
 * player has in it, so a move, its undo, the win test and the open-line counts (the features
 * of the value function and the heuristic's threats) all cost O(windows through one cell).
 */
import type { Board } from './board.js'

export class Game {
  readonly board: Board
  readonly players: number
  readonly k: number
  /** Owner of each slot: a player index, or -1 (empty, or not a cell). */
  readonly owner: Int8Array
  /** Stones of each player in each window: `[w·players + p]`. */
  readonly windowStones: Uint8Array
  /** Stones in each window. */
  readonly windowTotal: Uint8Array
  /** Windows holding exactly L stones, all of player p: `[p·(k+1) + L]`. */
  readonly open: Int32Array
  /** Stones within `NEAR_RADIUS` of each slot. */
  private readonly nearCount: Uint16Array
  /** Slots played, in order, and who played each. */
  readonly moves: number[] = []
  readonly movers: number[] = []
  private readonly prevToMove: number[] = []
  toMove = 0
  /** The winner, or -1 while nobody has won. */
  winner = -1
  empties: number

  constructor (board: Board, players: number) {
    if (!Number.isInteger(players) || players < 2 || players > 4) throw new RangeError(`players must be 2..4, got ${players}`)
    this.board = board
    this.players = players
    this.k = board.spec.k
    this.owner = new Int8Array(board.width * board.height).fill(-1)
    this.windowStones = new Uint8Array(board.windowCount * players)
    this.windowTotal = new Uint8Array(board.windowCount)
    this.open = new Int32Array(players * (this.k + 1))
    this.nearCount = new Uint16Array(board.width * board.height)
    this.empties = board.cells.length
  }

  /** Won or drawn. */
  get over (): boolean {
    return this.winner >= 0 || this.empties === 0
  }

  /** Drawn: a full board without a winner. */
  get drawn (): boolean {
    return this.winner < 0 && this.empties === 0
  }

  isLegal (slot: number): boolean {
    return !this.over && Number.isInteger(slot) && slot >= 0 && slot < this.owner.length && this.board.isCell[slot] === 1 && this.owner[slot] === -1
  }

  /** The player to move places a stone on `slot`. */
  play (slot: number): void {
    this.playAs(slot, this.toMove)
  }

  /**
   * `player` places a stone on `slot` (out of turn for best-reply search); the turn then passes
   * to the player after `player`. Playing an illegal move is a programmer error.
   */
  playAs (slot: number, player: number): void {
    if (!this.isLegal(slot)) throw new Error(`illegal move ${slot}`)
    const P = this.players
    const k1 = this.k + 1
    for (const w of this.board.windowsOf[slot] as Int32Array) {
      const tot = this.windowTotal[w] as number
      if (tot > 0) {
        for (let q = 0; q < P; q++) if (this.windowStones[w * P + q] === tot) { (this.open[q * k1 + tot] as number)--; break }
      }
      const mine = ++(this.windowStones[w * P + player] as number)
      this.windowTotal[w] = tot + 1
      if (mine === tot + 1) {
        (this.open[player * k1 + mine] as number)++
        if (mine === this.k) this.winner = player
      }
    }
    for (const n of this.board.near[slot] as Int32Array) (this.nearCount[n] as number)++
    this.owner[slot] = player
    this.empties--
    this.moves.push(slot)
    this.movers.push(player)
    this.prevToMove.push(this.toMove)
    this.toMove = (player + 1) % P
  }

  /** Take back the last move. */
  undo (): void {
    const slot = this.moves.pop()
    const player = this.movers.pop()
    const prev = this.prevToMove.pop()
    if (slot === undefined || player === undefined || prev === undefined) throw new Error('nothing to undo')
    const P = this.players
    const k1 = this.k + 1
    for (const w of this.board.windowsOf[slot] as Int32Array) {
      const tot = this.windowTotal[w] as number
      if (this.windowStones[w * P + player] === tot) (this.open[player * k1 + tot] as number)--
      ;(this.windowStones[w * P + player] as number)--
      this.windowTotal[w] = tot - 1
      if (tot - 1 > 0) {
        for (let q = 0; q < P; q++) if (this.windowStones[w * P + q] === tot - 1) { (this.open[q * k1 + tot - 1] as number)++; break }
      }
    }
    for (const n of this.board.near[slot] as Int32Array) (this.nearCount[n] as number)--
    this.owner[slot] = -1
    this.empties++
    this.winner = -1 // a game stops at its first win, so the position before had none
    this.toMove = prev
  }

  /** Every empty cell (none once the game is over). */
  legalMoves (): number[] {
    if (this.over) return []
    const out: number[] = []
    for (const c of this.board.cells) if (this.owner[c] === -1) out.push(c)
    return out
  }

  /**
   * The moves worth searching: empty cells near a stone; the centre on an empty board; every
   * empty cell when none is near a stone.
   */
  candidateMoves (): number[] {
    if (this.over) return []
    if (this.moves.length === 0) return [this.board.center]
    const out: number[] = []
    for (const c of this.board.cells) if (this.owner[c] === -1 && (this.nearCount[c] as number) > 0) out.push(c)
    return out.length > 0 ? out : this.legalMoves()
  }

  /** Empty cells where `player` would complete k in a row. */
  winningMoves (player: number): number[] {
    const k = this.k
    if (this.over || (this.open[player * (k + 1) + k - 1] as number) === 0) return []
    const out = new Set<number>()
    const P = this.players
    const W = this.board.windows
    for (let w = 0; w < this.board.windowCount; w++) {
      if (this.windowTotal[w] !== k - 1 || this.windowStones[w * P + player] !== k - 1) continue
      for (let s = w * k; s < w * k + k; s++) {
        const c = W[s] as number
        if (this.owner[c] === -1) out.add(c)
      }
    }
    return [...out].sort((a, b) => a - b)
  }

  /** Windows holding exactly `stones` stones, all of `player`. */
  openLines (player: number, stones: number): number {
    return this.open[player * (this.k + 1) + stones] as number
  }

  /** A copy that can be played on independently. */
  clone (): Game {
    const g = new Game(this.board, this.players)
    for (let i = 0; i < this.moves.length; i++) g.playAs(this.moves[i] as number, this.movers[i] as number)
    g.toMove = this.toMove
    return g
  }
}

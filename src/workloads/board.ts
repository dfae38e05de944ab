/**
 * Board geometry of the built-in game family: k-in-a-row on square boards and on hex boards.
 * A board is a grid of `width × height` slots of which some are cells (a hexagon-shaped board
 * leaves its corners out). A move puts a stone on an empty cell; a player who owns all `k`
 * cells of a line along one axis wins. Everything a game needs per move is precomputed here:
 * every winning window (k cells in a row along an axis) and, per cell, the windows through it
 * and its neighbourhood (cells within distance 2, where good moves usually are).
 *
 * Boards of the config keys. With three or four players k is one less than with two: every
 * opponent blocks, and at the two-player k nearly every multi-player game is drawn. Sizes keep
 * a game between heuristic engines at a few milliseconds (at most ~30 ms on square19 4p).
 *
 * | board     | shape                              | cells | k 2p | k 3p, 4p | axes |
 * |-----------|------------------------------------|-------|------|----------|------|
 * | square8   | 8 × 8 square grid                  | 64    | 4    | 3        | 4 (row, column, 2 diagonals) |
 * | square19  | 19 × 19 square grid (go board)     | 361   | 5    | 4        | 4 |
 * | hex8      | 8 × 8 rhombus of hexagons (axial)  | 64    | 4    | 3        | 3 (q, r, q = −r) |
 * | hexagonal | hexagon of side 6 (radius 5)       | 91    | 4    | 3        | 3 |
 *
 * Coordinates: square boards use (x, y); hex boards use axial (q, r) shifted so that the grid
 * starts at 0 — on the hexagon a slot (x, y) is a cell when |x − R|, |y − R| and
 * |x + y − 2R| are all ≤ R.
 */
import { UnknownBoardError } from './errors.js'

export type BoardShape = 'square' | 'hex-rhombus' | 'hexagon'

export interface BoardSpec {
  name: string
  shape: BoardShape
  /** Side of the square or rhombus; radius of the hexagon. */
  size: number
  /** Stones in a row that win. */
  k: number
}

export interface BoardFamily {
  shape: BoardShape
  size: number
  /** k with 2, 3 and 4 players. */
  kByPlayers: readonly [number, number, number]
}

/** The boards of the config keys. */
export const BOARD_FAMILIES: Readonly<Record<string, BoardFamily>> = {
  square8: { shape: 'square', size: 8, kByPlayers: [4, 3, 3] },
  square19: { shape: 'square', size: 19, kByPlayers: [5, 4, 4] },
  hex8: { shape: 'hex-rhombus', size: 8, kByPlayers: [4, 3, 3] },
  hexagonal: { shape: 'hexagon', size: 5, kByPlayers: [4, 3, 3] }
}

/** Board names of the config keys. */
export const BOARD_NAMES: readonly string[] = Object.keys(BOARD_FAMILIES)
/** Largest side (or diameter) of a board, and fewest / most players. */
export const MAX_BOARD_SIDE = 64
export const MIN_PLAYERS = 2
export const MAX_PLAYERS = 4

const SQUARE_AXES: ReadonlyArray<readonly [number, number]> = [[1, 0], [0, 1], [1, 1], [1, -1]]
const HEX_AXES: ReadonlyArray<readonly [number, number]> = [[1, 0], [0, 1], [1, -1]]
/** How far from a stone a cell counts as "near" (candidate moves). */
export const NEAR_RADIUS = 2

export interface Board {
  spec: BoardSpec
  width: number
  height: number
  /** Slot indices (y·width + x) that are cells, ascending. */
  cells: Int32Array
  /** 1 for a slot that is a cell. */
  isCell: Uint8Array
  /** Axis directions (dx, dy). */
  axes: ReadonlyArray<readonly [number, number]>
  /** Every window: `k` slot indices in a row, flattened (window w is [w·k, (w+1)·k)). */
  windows: Int32Array
  windowCount: number
  /** Windows through each slot: `windowsOf[slot]`. */
  windowsOf: Int32Array[]
  /** Cells within `NEAR_RADIUS` of each slot (not itself). */
  near: Int32Array[]
  /** The cell a first move goes to. */
  center: number
}

function hexDistance (dx: number, dy: number): number {
  return Math.max(Math.abs(dx), Math.abs(dy), Math.abs(dx + dy))
}

/** Build the geometry of a board spec (also used by tests for tiny boards). */
export function buildBoard (spec: BoardSpec): Board {
  if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > MAX_BOARD_SIDE) throw new RangeError(`board ${spec.name}: size ${spec.size} out of range`)
  const side = spec.shape === 'hexagon' ? 2 * spec.size + 1 : spec.size
  if (!Number.isInteger(spec.k) || spec.k < 2 || spec.k > side) throw new RangeError(`board ${spec.name}: k ${spec.k} must be 2..${side}`)
  const width = side
  const height = side
  const isCell = new Uint8Array(width * height)
  const R = spec.size
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = spec.shape !== 'hexagon' || hexDistance(x - R, y - R) <= R
      if (inside) isCell[y * width + x] = 1
    }
  }
  const cells = Int32Array.from([...isCell.keys()].filter(i => isCell[i] === 1))
  const axes = spec.shape === 'square' ? SQUARE_AXES : HEX_AXES
  const k = spec.k
  const at = (x: number, y: number): number => (x >= 0 && y >= 0 && x < width && y < height && isCell[y * width + x] === 1 ? y * width + x : -1)
  const flat: number[] = []
  const through: number[][] = Array.from({ length: width * height }, () => [])
  for (const c of cells) {
    const x0 = c % width
    const y0 = Math.floor(c / width)
    for (const [dx, dy] of axes) {
      const line: number[] = []
      for (let s = 0; s < k; s++) {
        const i = at(x0 + s * dx, y0 + s * dy)
        if (i < 0) break
        line.push(i)
      }
      if (line.length < k) continue
      const w = flat.length / k
      flat.push(...line)
      for (const i of line) through[i]?.push(w)
    }
  }
  const near: Int32Array[] = Array.from({ length: width * height }, (_, c) => {
    if (isCell[c] !== 1) return new Int32Array(0)
    const x0 = c % width
    const y0 = Math.floor(c / width)
    const out: number[] = []
    for (let dy = -NEAR_RADIUS; dy <= NEAR_RADIUS; dy++) {
      for (let dx = -NEAR_RADIUS; dx <= NEAR_RADIUS; dx++) {
        if (dx === 0 && dy === 0) continue
        const d = spec.shape === 'square' ? Math.max(Math.abs(dx), Math.abs(dy)) : hexDistance(dx, dy)
        if (d > NEAR_RADIUS) continue
        const i = at(x0 + dx, y0 + dy)
        if (i >= 0) out.push(i)
      }
    }
    return Int32Array.from(out)
  })
  const mid = Math.floor(side / 2)
  const center = spec.shape === 'hex-rhombus' ? mid * width + Math.floor((side - 1) / 2) : mid * width + mid
  return {
    spec, width, height, cells, isCell, axes,
    windows: Int32Array.from(flat), windowCount: flat.length / k,
    windowsOf: through.map(ws => Int32Array.from(ws)), near, center
  }
}

const cache = new Map<string, Board>()

/** The spec of a config's board for a player count; throws `UnknownBoardError` for another name. */
export function boardSpec (name: string, players: number): BoardSpec {
  const f = BOARD_FAMILIES[name]
  if (f === undefined || !Object.hasOwn(BOARD_FAMILIES, name)) throw new UnknownBoardError(name, BOARD_NAMES)
  if (!Number.isInteger(players) || players < MIN_PLAYERS || players > MAX_PLAYERS) throw new RangeError(`players must be ${MIN_PLAYERS}..${MAX_PLAYERS}, got ${players}`)
  return { name, shape: f.shape, size: f.size, k: f.kByPlayers[players - 2] as number }
}

/** The board of a config (board name and player count), built once. */
export function boardFor (name: string, players: number): Board {
  const key = `${name}_${players}p`
  let b = cache.get(key)
  if (b === undefined) cache.set(key, b = buildBoard(boardSpec(name, players)))
  return b
}

/** A slot index as board coordinates. */
export function toCoord (board: Board, slot: number): [number, number] {
  return [slot % board.width, Math.floor(slot / board.width)]
}

/** Board coordinates as a slot index, or -1 when they are not a cell. */
export function fromCoord (board: Board, x: number, y: number): number {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= board.width || y >= board.height) return -1
  const i = y * board.width + x
  return board.isCell[i] === 1 ? i : -1
}

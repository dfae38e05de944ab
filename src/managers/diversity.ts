/**
 * Diversity of the recent selfplay selections (REFERENCE: the last 1000): counts by engine mode,
 * config, difficulty and symmetric/asymmetric, kept incrementally over a ring buffer.
 */

export type Difficulty = 'easy' | 'medium' | 'hard'

/** How strong an engine mode plays: random is easy, the classic searches medium, the neural ones hard. */
export function difficultyOf (engineMode: string): Difficulty {
  if (engineMode === 'random') return 'easy'
  if (engineMode === 'heuristic' || engineMode === 'maxn' || engineMode === 'brs') return 'medium'
  return 'hard'
}

export interface Selection {
  config: string
  engineMode: string
  /** Every seat plays the same engine (a mix row with another opponent mode is asymmetric). */
  symmetric: boolean
}

export interface DiversityMetrics {
  window: number
  selections: number
  byEngineMode: Record<string, number>
  byConfig: Record<string, number>
  byDifficulty: Record<string, number>
  symmetric: number
  asymmetric: number
  /** Distinct configs in the window over all configs seen there (1 = every config chosen). */
  distinctConfigs: number
}

function bump (m: Map<string, number>, k: string, d: number): void {
  const n = (m.get(k) ?? 0) + d
  if (n === 0) m.delete(k)
  else m.set(k, n)
}

const sortedRecord = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))

export class DiversityTracker {
  private readonly ring: Array<Selection | undefined>
  private next = 0
  private size = 0
  private readonly byMode = new Map<string, number>()
  private readonly byConfig = new Map<string, number>()
  private readonly byDifficulty = new Map<string, number>()
  private symmetric = 0

  constructor (readonly window: number) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`diversity window must be an integer ≥ 1, got ${window}`)
    this.ring = new Array<Selection | undefined>(window)
  }

  record (s: Selection): void {
    const old = this.ring[this.next]
    if (old !== undefined) this.apply(old, -1)
    this.ring[this.next] = s
    this.apply(s, 1)
    this.next = (this.next + 1) % this.window
    if (this.size < this.window) this.size++
  }

  metrics (): DiversityMetrics {
    return {
      window: this.window,
      selections: this.size,
      byEngineMode: sortedRecord(this.byMode),
      byConfig: sortedRecord(this.byConfig),
      byDifficulty: sortedRecord(this.byDifficulty),
      symmetric: this.symmetric,
      asymmetric: this.size - this.symmetric,
      distinctConfigs: this.byConfig.size
    }
  }

  private apply (s: Selection, d: number): void {
    bump(this.byMode, s.engineMode, d)
    bump(this.byConfig, s.config, d)
    bump(this.byDifficulty, difficultyOf(s.engineMode), d)
    if (s.symmetric) this.symmetric += d
  }
}

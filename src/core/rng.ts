/**
 * Seeded randomness as a dependency (no `Math.random()` outside src/core). sfc32 seeded through
 * splitmix32: fast, small state, good enough statistics for scheduling and simulation, and
 * `fork(label)` derives independent streams so subsystems do not perturb each other's draws.
 */

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform 32-bit unsigned integer. */
  uint32(): number
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number
  /** Uniform float in [min, max). */
  range(min: number, max: number): number
  /** One element chosen uniformly; undefined for an empty list. */
  pick<T>(items: readonly T[]): T | undefined
  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[]
  /** An independent stream derived from this one's seed and `label` (does not advance this one). */
  fork(label: string): Rng
  /** The seed this stream was made from. */
  readonly seed: number
}

function splitmix32 (state: number): () => number {
  let s = state >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** FNV-1a 32-bit hash of a string, used to derive fork seeds. */
export function hashString32 (text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export class SeededRng implements Rng {
  readonly seed: number
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`)
    this.seed = seed >>> 0
    const sm = splitmix32(this.seed)
    this.a = sm()
    this.b = sm()
    this.c = sm()
    this.d = sm()
    for (let i = 0; i < 12; i++) this.uint32()
  }

  uint32 (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  next (): number {
    return this.uint32() / 0x1_0000_0000
  }

  int (maxExclusive: number): number {
    if (!(maxExclusive >= 1) || !Number.isInteger(maxExclusive)) {
      throw new RangeError(`int() needs a positive integer bound, got ${maxExclusive}`)
    }
    return Math.floor(this.next() * maxExclusive)
  }

  range (min: number, max: number): number {
    return min + this.next() * (max - min)
  }

  pick<T>(items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined
    return items[this.int(items.length)]
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = out[i] as T
      out[i] = out[j] as T
      out[j] = tmp
    }
    return out
  }

  fork (label: string): Rng {
    return new SeededRng(hashString32(label, this.seed ^ 0x5bd1e995))
  }
}

/** An Rng seeded from the system's entropy (for production nodes). */
export function systemRng (): Rng {
  return new SeededRng(Math.floor(Math.random() * 0x1_0000_0000))
}

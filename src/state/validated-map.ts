import type * as Y from 'yjs'
import type { z } from 'zod'
import type { Logger } from '../core/logger.js'

/**
 * Counts of entries skipped because they failed validation, per map and reason. Each distinct
 * invalid value is counted once, however often it is read.
 */
export class ValidationStats {
  private readonly counts = new Map<string, number>()

  record (map: string, reason: string): void {
    const k = `${map}:${reason}`
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1)
  }

  get total (): number {
    let n = 0
    for (const v of this.counts.values()) n += v
    return n
  }

  snapshot (): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }
}

/** Checks an entry's key against its value (ownership, naming); returns a reason or null. */
export type KeyCheck<T> = (key: string, value: T) => string | null

interface CacheSlot<T> {
  raw: unknown
  value: T | undefined
}

/**
 * A read-only, validated view of one Y.Map: `get` and `entries` return only entries that pass the
 * schema and the key check. Results are cached by the identity of the stored value, so an
 * unchanged entry is validated once and an invalid one is logged and counted once.
 */
export class ValidatedMap<T> {
  private readonly cache = new Map<string, CacheSlot<T>>()

  constructor (
    readonly name: string,
    private readonly ymap: Y.Map<unknown>,
    private readonly schema: z.ZodType<T>,
    private readonly keyCheck: KeyCheck<T>,
    private readonly stats: ValidationStats,
    private readonly log: Logger
  ) {}

  get (key: string): T | undefined {
    return this.read(key, this.ymap.get(key))
  }

  has (key: string): boolean {
    return this.get(key) !== undefined
  }

  /** Valid entries, in key order. */
  entries (): Array<[string, T]> {
    const out: Array<[string, T]> = []
    for (const [key, raw] of this.ymap.entries()) {
      const value = this.read(key, raw)
      if (value !== undefined) out.push([key, value])
    }
    if (this.cache.size > this.ymap.size) this.prune()
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  values (): T[] {
    return this.entries().map(([, v]) => v)
  }

  /** Number of raw keys, valid or not. */
  get rawSize (): number {
    return this.ymap.size
  }

  private read (key: string, raw: unknown): T | undefined {
    if (raw === undefined) return undefined
    const slot = this.cache.get(key)
    if (slot !== undefined && slot.raw === raw) return slot.value
    const parsed = this.schema.safeParse(raw)
    let value: T | undefined
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const reason = `${issue?.path.join('.') ?? ''}:${issue?.code ?? 'invalid'}`
      this.stats.record(this.name, 'schema')
      this.log.warn({ map: this.name, key: truncate(key), reason }, 'invalid entry skipped')
    } else {
      const bad = this.keyCheck(key, parsed.data)
      if (bad !== null) {
        this.stats.record(this.name, 'key')
        this.log.warn({ map: this.name, key: truncate(key), reason: bad }, 'entry with a wrong key skipped')
      } else {
        value = parsed.data
      }
    }
    this.cache.set(key, { raw, value })
    return value
  }

  private prune (): void {
    for (const key of this.cache.keys()) if (!this.ymap.has(key)) this.cache.delete(key)
  }
}

function truncate (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…(${s.length})` : s
}

import type * as Y from 'yjs'
import type { z } from 'zod'
import type { Logger } from '../core/logger.js'
import { verifyEntry, type VerifyResult } from './entry-sig.js'
import { REMOTE_ORIGIN } from './docs.js'

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

  /** Take back a count: an entry refused for a reason that passed (its certificate arrived after it). */
  unrecord (map: string, reason: string): void {
    const k = `${map}:${reason}`
    const n = (this.counts.get(k) ?? 0) - 1
    if (n > 0) this.counts.set(k, n)
    else this.counts.delete(k)
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

/**
 * Whether `signer` may write this entry (authority.ts): null, or the reason it may not — a named
 * reason (`wrong-signer`, `not-operator`, `revoked`, …) under which the refusal is counted.
 */
export type AuthorityCheck<T> = (key: string, value: T, signer: string) => string | null

export interface ValidatedMapTrust<T> {
  /** The document the map lives in (part of what a signature covers). */
  doc: string
  authority: AuthorityCheck<T>
  /** Changes whenever what authority() decides on may have changed (operators, revocations, certificates). */
  generation: () => number
  /**
   * Keep the last valid entry of a key also when it is deleted (settings, trust: entries nobody
   * deletes legitimately), so a member cannot erase a signed entry. In every map an entry
   * replaced by one that fails is kept the same way. @default false
   */
  sticky?: boolean
  /** Told when a kept entry (`raw`) stands in for what is stored (`stored`; undefined when deleted), so the node can put it back. */
  repair?: (key: string, raw: unknown, stored: unknown) => void
  /**
   * The order of a key's successive values (compared as tuples): a value its writer signed that
   * is older than the one this node holds for the key is a replay — anyone can copy an old
   * signed value back — and the newer one stays in effect (`rolled-back-entry`). Election entries
   * order by (epoch, round), registers by version. @default none (every valid value counts)
   */
  order?: (value: T) => readonly number[]
  /**
   * A valid entry deleted by a remote update is offered to `repair` (which puts back only this
   * node's own): a member's delete, or the delete half of a Yjs conflict a forgery won elsewhere,
   * must not erase what this node wrote (job status). @default false
   */
  restoreDeleted?: boolean
  /**
   * Checks a stored value's signature and names its signer. @default verifyEntry — ClusterState
   * never passes another; the signed-propagation benchmark's unsigned baseline does (the same
   * typed view without the signature).
   */
  verify?: EntryVerifier
}

/** A signature check: the value without its signature and who signed it, or why it fails. */
export type EntryVerifier = (doc: string, map: string, key: string, raw: unknown) => VerifyResult

interface CacheSlot<T> {
  raw: unknown
  /** The value when signature, schema and key check pass. */
  parsed: T | undefined
  signer: string | undefined
  /** The authority refusal last found for this value, and whether it was counted. */
  refused?: string
  counted?: boolean
  /** Whether the value fails for its signature (not its shape): someone other than its writer wrote it. */
  forged?: boolean
  /** The value in effect as of `generation` of the trust. */
  value: T | undefined
  generation: number
}

/**
 * A read-only, validated view of one Y.Map: `get` and `entries` return only entries that pass the
 * schema and the key check. Results are cached by the identity of the stored value, so an
 * unchanged entry is validated once and an invalid one is logged and counted once.
 */
export class ValidatedMap<T> {
  private readonly cache = new Map<string, CacheSlot<T>>()
  /** Sticky maps: the last valid raw entry and value per key. */
  private readonly kept = new Map<string, { raw: unknown, value: T }>()
  /** Changes of the Y.Map seen (its observer), and the entries computed at a version. */
  private version = 0
  private entriesMemo: { version: number, generation: number, value: Array<[string, T]> } | undefined
  /** Sticky maps: the stored value (or its absence) already answered by a write-back, per key. */
  private readonly answered = new Map<string, unknown>()

  constructor (
    readonly name: string,
    private readonly ymap: Y.Map<unknown>,
    private readonly schema: z.ZodType<T>,
    private readonly keyCheck: KeyCheck<T>,
    private readonly stats: ValidationStats,
    private readonly log: Logger,
    private readonly trust: ValidatedMapTrust<T>
  ) {
    // Remember a valid entry as it is replaced, also when nobody read it in between: what
    // replaces it may fail, and then the valid one stays in effect.
    // Each value that arrives is checked as it arrives (so a forgery is counted even when the
    // writer's next entry replaces it before anyone reads the map).
    ymap.observe(event => {
      this.version++
      for (const [key, change] of event.changes.keys) {
        if (change.action !== 'add' && this.kept.get(key)?.raw !== change.oldValue) {
          const value = this.read(key, change.oldValue)
          if (value !== undefined) this.kept.set(key, { raw: change.oldValue, value })
        }
        if (change.action === 'delete' && this.trust.restoreDeleted === true && event.transaction.origin === REMOTE_ORIGIN && this.trust.sticky !== true) {
          const kept = this.kept.get(key)
          if (kept !== undefined) this.trust.repair?.(key, kept.raw, undefined)
        }
        // a deleted entry of a sticky map is answered at once (kept, and put back)
        if (change.action !== 'delete' || this.trust.sticky === true) this.readKept(key, ymap.get(key))
      }
    })
  }

  get (key: string): T | undefined {
    return this.readKept(key, this.ymap.get(key))
  }

  /** Who signed the entry now in effect under `key` (undefined when there is none). */
  signerOf (key: string): string | undefined {
    const value = this.get(key)
    if (value === undefined) return undefined
    const slot = this.cache.get(key)
    if (slot?.value === value) return slot.signer
    return this.cache.get(`\u0000kept:${key}`)?.signer
  }

  has (key: string): boolean {
    return this.get(key) !== undefined
  }

  /** Valid entries, in key order (recomputed only when the map or the trust it depends on changed). */
  entries (): Array<[string, T]> {
    const generation = this.trust.generation()
    const memo = this.entriesMemo
    if (memo !== undefined && memo.version === this.version && memo.generation === generation) return [...memo.value]
    const value = this.computeEntries()
    this.entriesMemo = { version: this.version, generation, value }
    return [...value]
  }

  private computeEntries (): Array<[string, T]> {
    const out: Array<[string, T]> = []
    for (const [key, raw] of this.ymap.entries()) {
      const value = this.readKept(key, raw)
      if (value !== undefined) out.push([key, value])
    }
    if (this.trust.sticky === true) {
      for (const key of [...this.kept.keys()]) {
        if (this.ymap.has(key)) continue
        const value = this.readKept(key, undefined)
        if (value !== undefined) out.push([key, value])
      }
    }
    if (this.cache.size > this.ymap.size + this.kept.size || (this.trust.sticky !== true && this.kept.size > this.ymap.size)) this.prune()
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  values (): T[] {
    return this.entries().map(([, v]) => v)
  }

  /** Number of raw keys, valid or not. */
  get rawSize (): number {
    return this.ymap.size
  }

  /**
   * read(), or the last valid entry of the key when the stored one fails — or is gone, in a
   * sticky map: a member cannot replace a signed entry by writing garbage over it.
   */
  private readKept (key: string, raw: unknown): T | undefined {
    const value = this.read(key, raw)
    if (raw === undefined && this.trust.sticky !== true) {
      this.kept.delete(key)
      this.answered.delete(key)
      return undefined
    }
    if (value !== undefined) {
      const held = this.kept.get(key)
      if (held === undefined || held.raw === raw || !this.older(value, held.value)) {
        this.kept.set(key, { raw, value })
        this.answered.delete(key)
        return value
      }
    }
    const kept = this.kept.get(key)
    if (kept === undefined) return undefined
    // The signed entry was deleted or replaced by one that fails: keep it (its writer puts it back).
    const still = this.read(`\u0000kept:${key}`, kept.raw, key, false)
    if (still === undefined) {
      this.kept.delete(key)
      return undefined
    }
    // Written back only over a forgery or a deletion: a value its writer signed that this node
    // cannot read (a newer version's shape) stays in the document for the nodes that can.
    const slot = this.cache.get(key)
    const replay = value !== undefined
    const forged = raw === undefined || replay || slot?.forged === true || slot?.refused !== undefined
    if (!forged) return still
    if (!this.answered.has(key) || this.answered.get(key) !== raw) {
      this.answered.set(key, raw)
      this.stats.record(this.name, raw === undefined ? 'deleted-signed-entry' : replay ? 'rolled-back-entry' : 'overwrote-signed-entry')
      this.log.warn({ map: this.name, key: truncate(key) }, replay
        ? 'a signed entry was replaced by an older one its writer signed (a replay); keeping the newer'
        : 'a valid signed entry was deleted or overwritten by one that fails; keeping it')
      this.trust.repair?.(key, kept.raw, raw)
    }
    return still
  }

  /** Whether `a` comes before `b` in the key's order (never, without one). */
  private older (a: T, b: T): boolean {
    const order = this.trust.order
    if (order === undefined) return false
    const x = order(a)
    const y = order(b)
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number)
    return x.length < y.length
  }

  /** The entry if valid now; refusals are counted (once per stored value) unless `count` is false. */
  private read (slotKey: string, raw: unknown, key: string = slotKey, count = true): T | undefined {
    if (raw === undefined) return undefined
    const generation = this.trust.generation()
    let slot = this.cache.get(slotKey)
    if (slot === undefined || slot.raw !== raw) {
      slot = { raw, ...this.check(key, raw, count), value: undefined, generation: -1 }
      this.cache.set(slotKey, slot)
    }
    if (slot.generation === generation) return slot.value
    // Signature, schema and key are checked once per stored value; who may write it is checked
    // again whenever the trust it depends on changes (operators, revocations, certificates).
    slot.generation = generation
    slot.value = undefined
    if (slot.parsed === undefined || slot.signer === undefined) return undefined
    const refused = this.trust.authority(key, slot.parsed, slot.signer)
    if (refused !== null) {
      if (slot.refused !== refused && count) {
        if (slot.refused !== undefined && slot.counted === true) this.stats.unrecord(this.name, slot.refused)
        slot.counted = true
        this.stats.record(this.name, refused)
        this.log.warn({ map: this.name, key: truncate(key), signer: slot.signer, reason: refused }, 'entry its signer may not write skipped')
      }
      slot.refused = refused
      return undefined
    }
    // refused before, valid now (what it depends on arrived later): it was no forgery after all
    if (slot.refused !== undefined && slot.counted === true) this.stats.unrecord(this.name, slot.refused)
    slot.refused = undefined
    slot.counted = false
    slot.value = slot.parsed
    return slot.value
  }

  private check (key: string, raw: unknown, count: boolean): { parsed: T | undefined, signer: string | undefined, forged?: boolean } {
    const signed = (this.trust.verify ?? verifyEntry)(this.trust.doc, this.name.replace(/^jobs\./, ''), key, raw)
    if (!signed.ok) {
      if (count) this.stats.record(this.name, signed.reason)
      this.log.warn({ map: this.name, key: truncate(key), reason: signed.reason }, 'entry with no valid signature skipped')
      return { parsed: undefined, signer: undefined, forged: true }
    }
    const parsed = this.schema.safeParse(signed.value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const reason = `${issue?.path.join('.') ?? ''}:${issue?.code ?? 'invalid'}`
      this.stats.record(this.name, 'schema')
      this.log.warn({ map: this.name, key: truncate(key), reason }, 'invalid entry skipped')
      return { parsed: undefined, signer: undefined }
    }
    const bad = this.keyCheck(key, parsed.data)
    if (bad !== null) {
      this.stats.record(this.name, 'key')
      this.log.warn({ map: this.name, key: truncate(key), reason: bad }, 'entry with a wrong key skipped')
      return { parsed: undefined, signer: undefined }
    }
    return { parsed: parsed.data, signer: signed.by }
  }

  private prune (): void {
    if (this.trust.sticky !== true) {
      for (const key of this.kept.keys()) if (!this.ymap.has(key)) { this.kept.delete(key); this.answered.delete(key) }
    }
    for (const key of this.cache.keys()) {
      const k = key.startsWith('\u0000kept:') ? key.slice(6) : key
      if (!this.ymap.has(k) && !this.kept.has(k)) this.cache.delete(key)
    }
  }
}

function truncate (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…(${s.length})` : s
}

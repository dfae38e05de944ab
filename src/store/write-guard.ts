/**
 * WriteGuard: the gate every LevelDB write of a node passes (document log, local tables).
 *
 * Why it exists: when a write fails — a full disk, ENOSPC — LevelDB may have written part of a
 * record to its write-ahead log, and its log writer no longer knows where the file ends. Every
 * later write to that log is acknowledged and then lost at the next crash (measured on a 2 MB
 * tmpfs: 50 of 50 writes acknowledged after the disk was freed were gone after a kill -9). A
 * compaction that fails the same way leaves LevelDB refusing every write until it is reopened.
 *
 * So after a failed write no write touches that log again: writes are refused at once with a
 * `PersistenceError` naming the cause, and the database is closed and reopened (a new log
 * file; the old one is replayed up to its last whole record) as soon as its file system has
 * `reopenMinFreeBytes` free. Writes are serialised, one at a time, so none can be appended
 * behind one that fails. Reads pass through untouched; during a reopen they may fail once.
 *
 * The guard has no timer: whoever writes (the DocStore's retries, the tables) drives recovery,
 * and `recover()` may be called to try now.
 */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { StoreError, errorMessage } from '../core/errors.js'
import type { RootDb } from './level.js'

/** @default 1 MiB */
export const DEFAULT_REOPEN_MIN_FREE_BYTES = 1024 * 1024

export interface WriteGuardInit {
  /** Free bytes the database's file system needs before a reopen is tried. @default 1 MiB */
  reopenMinFreeBytes?: number
}

export interface WriteGuardComponents {
  /** The opened database; the guard hands out a guarded view of it (`db`). */
  db: RootDb
  clock: Clock
  logger: Logger
  /** Free bytes on the database's file system (statfs), or undefined when unknown. */
  freeBytes: () => Promise<number | undefined>
}

/** Whether the database can persist now, and since when it cannot. */
export interface PersistenceState {
  writable: boolean
  /** Why not: `ENOSPC`, `EROFS`, `EACCES`, `EIO`, or a LevelDB code; null while writable. */
  code: string | null
  /** The failed write's message (LevelDB's own words); null while writable. */
  error: string | null
  /** Clock time of the first failed write of this outage; null while writable. */
  sinceMs: number | null
  /** Writes that failed since the node started. */
  failedWrites: number
  /** Times the database was reopened to recover. */
  reopens: number
}

/** A write was refused or failed: the store cannot persist now. `reason` is the cause's code. */
export class PersistenceError extends StoreError {
  readonly reason: string
  constructor (reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PersistenceError'
    this.reason = reason
  }
}

const CODE_BY_MESSAGE: ReadonlyArray<[RegExp, string]> = [
  [/no space left on device/i, 'ENOSPC'],
  [/disk quota exceeded/i, 'EDQUOT'],
  [/read-only file system/i, 'EROFS'],
  [/permission denied/i, 'EACCES'],
  [/input\/output error/i, 'EIO'],
  [/too many open files/i, 'EMFILE']
]

/**
 * The code that says why a write failed: an errno code found in the cause chain or in LevelDB's
 * message (`IO error: …/000003.log: No space left on device` → `ENOSPC`), else the LevelDB
 * code, else `UNKNOWN`.
 */
export function persistErrorCode (err: unknown): string {
  let level: string | undefined
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PersistenceError) return e.reason
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
    if (typeof code === 'string' && code.startsWith('LEVEL_')) level ??= code
    const message = errorMessage(e)
    for (const [re, c] of CODE_BY_MESSAGE) if (re.test(message)) return c
  }
  return level ?? 'UNKNOWN'
}

type Write = 'put' | 'del' | 'batch' | 'clear'
const WRITES: ReadonlySet<string> = new Set<Write>(['put', 'del', 'batch', 'clear'])

export class WriteGuard {
  /** The database as every component should use it: writes go through the guard. */
  readonly db: RootDb
  private readonly raw: RootDb
  private readonly clock: Clock
  private readonly log: Logger
  private readonly freeBytes: () => Promise<number | undefined>
  private readonly reopenMinFreeBytes: number
  /** Writes run one after another on this chain (it never rejects). */
  private chain: Promise<unknown> = Promise.resolve()
  private broken: { code: string, error: string, sinceMs: number } | undefined
  private failedWrites = 0
  private reopens = 0

  constructor (components: WriteGuardComponents, init: WriteGuardInit = {}) {
    this.raw = components.db
    this.clock = components.clock
    this.log = components.logger.child({ component: 'write-guard' })
    this.freeBytes = components.freeBytes
    this.reopenMinFreeBytes = init.reopenMinFreeBytes ?? DEFAULT_REOPEN_MIN_FREE_BYTES
    if (!(Number.isInteger(this.reopenMinFreeBytes) && this.reopenMinFreeBytes >= 0)) {
      throw new RangeError(`reopenMinFreeBytes must be an integer ≥ 0, got ${this.reopenMinFreeBytes}`)
    }
    this.db = this.guarded()
  }

  state (): PersistenceState {
    const b = this.broken
    return { writable: b === undefined, code: b?.code ?? null, error: b?.error ?? null, sinceMs: b?.sinceMs ?? null, failedWrites: this.failedWrites, reopens: this.reopens }
  }

  /** Make the database writable again now if it is not (a reopen, when there is room). Resolves whether it is writable. */
  async recover (): Promise<boolean> {
    return await this.serial(async () => await this.recoverNow())
  }

  /** A view of the database whose write methods go through `write`; everything else is the database's own, bound to it. */
  private guarded (): RootDb {
    const bound = new Map<PropertyKey, unknown>()
    return new Proxy(this.raw, {
      get: (target, prop) => {
        const cached = bound.get(prop)
        if (cached !== undefined) return cached
        const value: unknown = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        const fn = value as (...args: unknown[]) => unknown
        const wrapped = typeof prop === 'string' && WRITES.has(prop)
          ? async (...args: unknown[]) => {
            if (prop === 'batch' && !Array.isArray(args[0])) throw new Error('WriteGuard: a chained batch bypasses the guard; pass an array of operations')
            return await this.write(prop as Write, async () => await fn.apply(target, args))
          }
          : fn.bind(target)
        bound.set(prop, wrapped)
        return wrapped
      }
    })
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn)
    this.chain = run.catch(() => undefined) // the caller gets the rejection; the chain goes on
    return await run
  }

  private async write<T> (op: Write, fn: () => Promise<T>): Promise<T> {
    return await this.serial(async () => {
      if (!(await this.recoverNow())) throw this.refusal()
      try {
        return await fn()
      } catch (err) {
        this.failedWrites++
        const code = persistErrorCode(err)
        this.broken = { code, error: errorMessage(err), sinceMs: this.clock.nowMs() }
        this.log.error({ err, code, op }, 'a database write failed: writes are refused until the database is reopened, once its disk has room')
        throw new PersistenceError(code, `the store cannot persist (${code}): ${errorMessage(err)}`, { cause: err })
      }
    })
  }

  /** Writable now, or reopened when there is room; false when it must wait. Runs on the chain. */
  private async recoverNow (): Promise<boolean> {
    const b = this.broken
    if (b === undefined) return true
    const free = await this.freeBytes().catch((err: unknown) => {
      this.log.debug({ err }, 'cannot read the free space of the database\'s file system')
      return undefined
    })
    if (free !== undefined && free < this.reopenMinFreeBytes) return false
    try {
      if (this.raw.status === 'open') await this.raw.close()
      await this.raw.open()
    } catch (err) {
      this.log.debug({ err, free }, 'reopening the database failed; trying again later')
      b.error = errorMessage(err)
      return false
    }
    this.reopens++
    this.broken = undefined
    this.log.warn({ code: b.code, downMs: this.clock.nowMs() - b.sinceMs, free }, 'the database is writable again (reopened)')
    return true
  }

  private refusal (): PersistenceError {
    const b = this.broken as NonNullable<WriteGuard['broken']>
    return new PersistenceError(b.code, `the store cannot persist (${b.code}) since ${Math.round((this.clock.nowMs() - b.sinceMs) / 1000)} s: ${b.error}`)
  }
}

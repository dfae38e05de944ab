import { MinHeap } from './heap.js'
import { onAbort } from './signals.js'
import { ConfigError } from './errors.js'

/**
 * Time as a dependency. Every component takes a `Clock`; nothing outside `src/core/` reads
 * `Date.now()` or calls `setTimeout`, so the simulator can run the real code on virtual time.
 */

/** An opaque handle for a scheduled timer. */
export interface TimerHandle {
  readonly id: number
}

export interface Clock {
  /** Milliseconds since the Unix epoch (system) or since the start of the run (virtual). */
  nowMs(): number
  /**
   * A monotonic reading for measuring durations (leases, timeouts): never steps when the wall
   * clock is set or jumps; only its rate may drift. Unrelated to `nowMs`' origin.
   */
  monoMs(): number
  /** Run `fn` once after `delayMs` (clamped to ≥ 0). */
  setTimer(fn: () => void, delayMs: number): TimerHandle
  /** Cancel a timer; cancelling a fired or unknown timer is a no-op. */
  clearTimer(handle: TimerHandle | undefined): void
}

/** Resolve after `ms` on the given clock, or reject with the signal's reason when aborted. */
export async function sleep (clock: Clock, ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const handle = clock.setTimer(() => {
      unsubscribe?.()
      resolve()
    }, ms)
    const unsubscribe = signal !== undefined
      ? onAbort(signal, () => {
        clock.clearTimer(handle)
        reject(signal.reason)
      })
      : undefined
  })
}

/**
 * Test-only: `RIFTMESH_CLOCK_OFFSET_MS` shifts the wall clock (`nowMs`) of every SystemClock in
 * this process by that many ms (an integer, may be negative), so a test can run a real node
 * whose clock is wrong (test/integration/clock.test.ts). Read once, by the first SystemClock;
 * monotonic readings and timers are not affected. Leave it unset in production.
 */
export const CLOCK_OFFSET_ENV = 'RIFTMESH_CLOCK_OFFSET_MS'

/** The offset `RIFTMESH_CLOCK_OFFSET_MS` asks for (0 when unset); a malformed value is a ConfigError. */
export function clockOffsetFromEnv (env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[CLOCK_OFFSET_ENV]
  if (raw === undefined || raw === '') return 0
  const v = Number(raw)
  if (!Number.isSafeInteger(v)) throw new ConfigError(CLOCK_OFFSET_ENV, 'an integer number of milliseconds (test only)', `got ${JSON.stringify(raw)}`)
  return v
}

let envOffsetMs: number | undefined

/** The real clock: wall time and Node timers. Timers are unref'd so they never keep a process alive alone. */
export class SystemClock implements Clock {
  private nextId = 1
  private readonly timers = new Map<number, NodeJS.Timeout>()
  private readonly offsetMs: number

  /** @param offsetMs added to every `nowMs` reading (tests only). @default RIFTMESH_CLOCK_OFFSET_MS, else 0 */
  constructor (offsetMs?: number) {
    this.offsetMs = offsetMs ?? (envOffsetMs ??= clockOffsetFromEnv(process.env))
  }

  nowMs (): number {
    return Date.now() + this.offsetMs
  }

  monoMs (): number {
    return performance.now()
  }

  setTimer (fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++
    const t = setTimeout(() => {
      this.timers.delete(id)
      fn()
    }, Math.max(0, delayMs))
    t.unref()
    this.timers.set(id, t)
    return { id }
  }

  clearTimer (handle: TimerHandle | undefined): void {
    if (handle === undefined) return
    const t = this.timers.get(handle.id)
    if (t !== undefined) {
      clearTimeout(t)
      this.timers.delete(handle.id)
    }
  }

  /** Number of timers not yet fired or cleared (for leak checks in tests). */
  get pendingTimers (): number {
    return this.timers.size
  }
}

interface VirtualTimer {
  id: number
  dueMs: number
  seq: number
  fn: () => void
}

/**
 * Virtual time for tests and the simulator. Time moves only through `advance`/`runUntil`;
 * due timers fire in (due time, insertion order), so one schedule always replays the same way.
 */
export class VirtualClock implements Clock {
  private now: number
  /** Sum of `jump`s: the monotonic reading ignores them. */
  private jumped = 0
  private seq = 0
  private nextId = 1
  /** Ordered by (dueMs, seq). */
  private readonly heap = new MinHeap<VirtualTimer>((a, b) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq))
  private readonly cancelled = new Set<number>()
  private readonly live = new Set<number>()

  constructor (startMs = 0) {
    this.now = startMs
  }

  nowMs (): number {
    return this.now
  }

  monoMs (): number {
    return this.now - this.jumped
  }

  setTimer (fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++
    this.live.add(id)
    this.heap.push({ id, dueMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn })
    return { id }
  }

  clearTimer (handle: TimerHandle | undefined): void {
    if (handle === undefined) return
    if (this.live.delete(handle.id)) this.cancelled.add(handle.id)
  }

  /** Timers scheduled and neither fired nor cleared. */
  get pendingTimers (): number {
    return this.live.size
  }

  /** Due time of the next live timer, or undefined when none is pending. */
  nextDueMs (): number | undefined {
    this.dropCancelledTop()
    return this.heap.peek()?.dueMs
  }

  /**
   * Fire the single next timer (moving time to its due time). Returns false when none is pending.
   */
  step (): boolean {
    this.dropCancelledTop()
    const t = this.heap.pop()
    if (t === undefined) return false
    this.live.delete(t.id)
    this.now = Math.max(this.now, t.dueMs)
    t.fn()
    return true
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance (ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance needs a non-negative duration, got ${ms}`)
    this.runUntil(this.now + ms)
  }

  /** Fire timers due at or before `targetMs` (including ones they schedule), then set time to `targetMs`. */
  runUntil (targetMs: number): void {
    for (;;) {
      const due = this.nextDueMs()
      if (due === undefined || due > targetMs) break
      this.step()
    }
    this.now = Math.max(this.now, targetMs)
  }

  /**
   * Jump the clock without firing anything in between (a clock step on one node in the simulator).
   * Timers keep their absolute due times.
   */
  jump (deltaMs: number): void {
    this.now += deltaMs
    this.jumped += deltaMs
  }

  private dropCancelledTop (): void {
    for (let top = this.heap.peek(); top !== undefined && this.cancelled.has(top.id); top = this.heap.peek()) {
      this.cancelled.delete(top.id)
      this.heap.pop()
    }
  }
}

/**
 * An AbortSignal that fires after `ms` on the given clock (a TimeoutError), or when `parent`
 * aborts. Call `clear()` when the guarded work is done so no timer is left behind.
 */
export function timeoutSignal (clock: Clock, ms: number, parent?: AbortSignal): { signal: AbortSignal, clear: () => void } {
  const controller = new AbortController()
  let unsubscribe: (() => void) | undefined
  if (parent?.aborted === true) controller.abort(parent.reason)
  else if (parent !== undefined) unsubscribe = onAbort(parent, () => controller.abort(parent.reason))
  const handle = clock.setTimer(() => {
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'))
  }, ms)
  return {
    signal: controller.signal,
    clear: () => {
      clock.clearTimer(handle)
      unsubscribe?.()
    }
  }
}

/** The clock's reading as a record timestamp: whole milliseconds, never negative (clocks can be stepped back). */
export function timestampMs (clock: Clock): number {
  return Math.max(0, Math.floor(clock.nowMs()))
}

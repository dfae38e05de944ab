/**
 * LoopManager: runs each manager's periodic work on the injected clock, each loop on its own
 * interval. A loop never overlaps itself (the next run is scheduled when the last one ends); a
 * loop that throws is logged and retried with exponential back-off, and never stops the node or
 * the other loops. `health()` summarises every loop for status and the REPL.
 */
import type { Clock, TimerHandle } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import { ConfigError } from '../core/errors.js'
import { OncePerCause, causeKey } from '../core/once-per-cause.js'

/** First retry delay after a failure. @default 1_000 */
export const DEFAULT_LOOP_BACKOFF_MIN_MS = 1_000
/** Longest retry delay after failures in a row. @default 60_000 */
export const DEFAULT_LOOP_BACKOFF_MAX_MS = 60_000
/** Most loops one manager holds. @default 64 */
export const MAX_LOOPS = 64

export interface LoopSpec {
  name: string
  intervalMs: number
  /** Delay before the first run. @default 0 */
  initialDelayMs?: number
  run: (signal: AbortSignal) => unknown
}

export interface LoopHealth {
  name: string
  intervalMs: number
  runs: number
  failures: number
  consecutiveFailures: number
  /** Local clock ms of the last run's end, null before the first. */
  lastRunAtMs: number | null
  lastDurationMs: number | null
  lastError: string | null
  state: 'idle' | 'running' | 'ok' | 'failing' | 'stopped'
}

export interface LoopManagerInit {
  backoffMinMs?: number
  backoffMaxMs?: number
}

interface Loop {
  spec: LoopSpec
  timer: TimerHandle | undefined
  health: LoopHealth
}

export class LoopManager {
  private readonly loops = new Map<string, Loop>()
  private readonly log: Logger
  /** A failing loop is logged once per cause, and once when it recovers. */
  private readonly failing: OncePerCause
  private readonly backoffMinMs: number
  private readonly backoffMaxMs: number
  private controller: AbortController | undefined

  constructor (private readonly c: { clock: Clock, logger: Logger }, init: LoopManagerInit = {}) {
    this.log = c.logger.child({ component: 'loops' })
    this.failing = new OncePerCause(this.log)
    this.backoffMinMs = init.backoffMinMs ?? DEFAULT_LOOP_BACKOFF_MIN_MS
    this.backoffMaxMs = init.backoffMaxMs ?? DEFAULT_LOOP_BACKOFF_MAX_MS
    if (!(this.backoffMinMs > 0) || !(this.backoffMaxMs >= this.backoffMinMs)) {
      throw new ConfigError('loops.backoffMinMs/backoffMaxMs', 'backoffMinMs > 0 and backoffMaxMs ≥ backoffMinMs')
    }
  }

  /** Register a loop (before or after start). A second loop of the same name is a programming error. */
  add (spec: LoopSpec): void {
    if (this.loops.has(spec.name)) throw new Error(`loop ${spec.name} is already registered`)
    if (this.loops.size >= MAX_LOOPS) throw new Error(`more than ${MAX_LOOPS} loops`)
    if (!(spec.intervalMs > 0)) throw new ConfigError(`loop ${spec.name} intervalMs`, 'a number > 0', `got ${spec.intervalMs}`)
    const loop: Loop = {
      spec,
      timer: undefined,
      health: { name: spec.name, intervalMs: spec.intervalMs, runs: 0, failures: 0, consecutiveFailures: 0, lastRunAtMs: null, lastDurationMs: null, lastError: null, state: 'idle' }
    }
    this.loops.set(spec.name, loop)
    if (this.controller !== undefined) this.schedule(loop, spec.initialDelayMs ?? 0)
  }

  start (): void {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    for (const loop of this.loops.values()) this.schedule(loop, loop.spec.initialDelayMs ?? 0)
  }

  stop (): void {
    if (this.controller === undefined) return
    this.controller.abort()
    this.controller = undefined
    for (const loop of this.loops.values()) {
      if (loop.timer !== undefined) this.c.clock.clearTimer(loop.timer)
      loop.timer = undefined
      loop.health.state = 'stopped'
    }
  }

  /** Run a loop as soon as possible (e.g. new data landed), unless it is running now. */
  trigger (name: string): void {
    const loop = this.loops.get(name)
    if (loop === undefined || this.controller === undefined || loop.timer === undefined) return
    this.c.clock.clearTimer(loop.timer)
    this.schedule(loop, 0)
  }

  health (): LoopHealth[] {
    return [...this.loops.values()].map(l => ({ ...l.health }))
  }

  /** True while no loop is failing. */
  healthy (): boolean {
    return [...this.loops.values()].every(l => l.health.consecutiveFailures === 0)
  }

  /** Back-off after `failures` failures in a row: min · 2^(failures − 1), capped. */
  static backoffMs (failures: number, minMs: number, maxMs: number): number {
    return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, failures - 1)))
  }

  private schedule (loop: Loop, delayMs: number): void {
    if (this.controller === undefined) return
    loop.timer = this.c.clock.setTimer(() => { void this.runOnce(loop) }, delayMs)
  }

  private async runOnce (loop: Loop): Promise<void> {
    const controller = this.controller
    if (controller === undefined) return
    loop.timer = undefined
    const h = loop.health
    const started = this.c.clock.monoMs()
    h.state = 'running'
    let next = loop.spec.intervalMs
    try {
      await loop.spec.run(controller.signal)
      h.consecutiveFailures = 0
      h.state = 'ok'
      this.failing.report(h.name, null)
    } catch (err) {
      h.failures++
      h.consecutiveFailures++
      h.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      h.state = 'failing'
      next = LoopManager.backoffMs(h.consecutiveFailures, this.backoffMinMs, this.backoffMaxMs)
      // once per loop and cause (status shows the count and the last error meanwhile), not at every retry
      this.failing.report(h.name, {
        key: causeKey(h.lastError), level: 'error', msg: 'loop failed; retrying with back-off', cleared: 'loop recovered', fields: { err, loop: h.name, failures: h.consecutiveFailures, retryInMs: next }
      })
    }
    h.runs++
    h.lastRunAtMs = this.c.clock.monoMs()
    h.lastDurationMs = h.lastRunAtMs - started
    if (this.controller !== controller) {
      h.state = 'stopped'
      return
    }
    // the interval counts from the run's start (a slow run shortens the wait, never overlaps)
    this.schedule(loop, Math.max(0, started + next - h.lastRunAtMs))
  }
}

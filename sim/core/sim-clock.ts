/**
 * A node's clock in the simulator: true virtual time plus the node's offset, drift and jumps.
 * Timers are scheduler events owned by the node (dropped when it crashes, deferred while it is
 * paused). Durations on a drifting clock run fast or slow against true time.
 */
import type { Clock, TimerHandle } from '../../src/core/clock.js'
import type { Scheduler, SimEvent } from './scheduler.js'

export class SimClock implements Clock {
  /** Constant offset from true time, ms. */
  offsetMs = 0
  /** Rate error: 0.001 = this clock runs 0.1 % fast. */
  drift = 0
  private nextId = 1
  private readonly timers = new Map<number, SimEvent>()

  constructor (private readonly sched: Scheduler, readonly node: number) {}

  nowMs (): number {
    return this.sched.nowMs * (1 + this.drift) + this.offsetMs
  }

  /** Monotonic: drifts with the clock's rate, ignores jumps. */
  monoMs (): number {
    return this.sched.nowMs * (1 + this.drift) + this.rateOffsetMs
  }

  /** Offset that keeps the monotonic reading continuous across drift changes (not jumps). */
  private rateOffsetMs = 0

  setTimer (fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++
    const trueDelay = Math.max(0, delayMs) / (1 + this.drift)
    const ev = this.sched.after(trueDelay, 'timer', () => {
      this.timers.delete(id)
      fn()
    }, this.node)
    this.timers.set(id, ev)
    return { id }
  }

  clearTimer (handle: TimerHandle | undefined): void {
    if (handle === undefined) return
    const ev = this.timers.get(handle.id)
    if (ev !== undefined) {
      this.sched.cancel(ev)
      this.timers.delete(handle.id)
    }
  }

  /** Step the clock (a jump forward or back) without firing anything. */
  jump (deltaMs: number): void {
    this.offsetMs += deltaMs
  }

  /** Change the rate error from now on, keeping the reading continuous. */
  setDrift (drift: number): void {
    this.offsetMs += this.sched.nowMs * (this.drift - drift)
    this.rateOffsetMs += this.sched.nowMs * (this.drift - drift)
    this.drift = drift
  }

  /** Forget every timer (the node crashed). */
  dropAll (): void {
    for (const ev of this.timers.values()) this.sched.cancel(ev)
    this.timers.clear()
  }

  get pendingTimers (): number {
    return this.timers.size
  }
}

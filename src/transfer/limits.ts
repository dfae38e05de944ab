/**
 * The limits of the transfer layer, all on the injected clock: a token bucket (bandwidth and
 * request rates), a counting semaphore with a bounded wait queue, and the per-peer request
 * budget of a holder.
 */
import { sleep, type Clock } from '../core/clock.js'
import { ConfigError, RiftmeshError } from '../core/errors.js'
import { onAbort } from '../core/signals.js'

/** A wait queue is full: the caller is refused instead of queued. */
export class QueueFullError extends RiftmeshError {
  constructor (what: string, max: number) {
    super(`${what}: more than ${max} waiting`, 'ERR_QUEUE_FULL')
    this.name = 'QueueFullError'
  }
}

/**
 * Tokens refill continuously at `ratePerSec` up to `burst`. `take(n)` waits (on the clock) until
 * `n` tokens are there; `n` above `burst` is taken in `burst`-sized parts, so any amount passes.
 */
export class TokenBucket {
  private tokens: number
  private lastMs: number

  constructor (private readonly clock: Clock, readonly ratePerSec: number, readonly burst: number) {
    if (!(ratePerSec > 0) || !(burst > 0)) throw new RangeError(`token bucket needs a positive rate and burst, got ${ratePerSec}, ${burst}`)
    this.tokens = burst
    this.lastMs = clock.monoMs()
  }

  private refill (): void {
    const now = this.clock.monoMs()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.lastMs) * this.ratePerSec / 1000)
    this.lastMs = now
  }

  /** Take `n` now if there are enough tokens; false (and nothing taken) otherwise. */
  tryTake (n = 1): boolean {
    this.refill()
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** Milliseconds until `n` (≤ burst) tokens will be there. */
  waitMsFor (n = 1): number {
    this.refill()
    return this.tokens >= n ? 0 : Math.ceil((n - this.tokens) * 1000 / this.ratePerSec)
  }

  async take (n: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    let left = n
    while (left > 0) {
      const part = Math.min(left, this.burst)
      for (let waitMs = this.waitMsFor(part); waitMs > 0; waitMs = this.waitMsFor(part)) await sleep(this.clock, waitMs, options)
      this.tokens -= part
      left -= part
    }
  }
}

/** At most `max` holders at once; waiters queue FIFO up to `maxWaiting`, beyond that `acquire` throws QueueFullError. */
export class Semaphore {
  private held = 0
  /** `onAbort`: unsubscribes from the waiter's signal. */
  private readonly waiters: Array<{ resolve: () => void, reject: (err: unknown) => void, signal?: AbortSignal, onAbort?: () => void }> = []

  constructor (readonly max: number, readonly maxWaiting: number, private readonly what = 'semaphore') {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`${what}: max must be an integer ≥ 1, got ${max}`)
  }

  get inUse (): number {
    return this.held
  }

  get waiting (): number {
    return this.waiters.length
  }

  tryAcquire (): boolean {
    if (this.held >= this.max) return false
    this.held++
    return true
  }

  async acquire (options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.tryAcquire()) return
    if (this.waiters.length >= this.maxWaiting) throw new QueueFullError(this.what, this.maxWaiting)
    await new Promise<void>((resolve, reject) => {
      const w: (typeof this.waiters)[number] = { resolve, reject, signal: options.signal }
      if (options.signal !== undefined) {
        const signal = options.signal
        w.onAbort = onAbort(signal, () => {
          const i = this.waiters.indexOf(w)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(signal.reason)
        })
      }
      this.waiters.push(w)
    })
  }

  release (): void {
    const next = this.waiters.shift()
    if (next !== undefined) {
      next.onAbort?.() // unsubscribe
      next.resolve() // the slot passes to the waiter
      return
    }
    if (this.held <= 0) throw new Error(`${this.what}: release without acquire`)
    this.held--
  }

  /** Run `fn` holding one slot. */
  async run<T> (fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    await this.acquire(options)
    try {
      return await fn()
    } finally {
      this.release()
    }
  }
}

export interface PeerBudgetInit {
  /** Requests one peer may start per minute (a token bucket, burst = the same number). */
  requestsPerMinute: number
  /** Streams one peer may have open at once. */
  maxConcurrentPerPeer: number
  /** Peers tracked; past this the least recently seen peer is forgotten. */
  maxPeers: number
}

export type BudgetVerdict = { ok: true, release: () => void } | { ok: false, why: 'rate' | 'concurrency', retryAfterMs: number }

/** A holder's per-peer admission: a request rate and a concurrency cap per peer. */
export class PeerBudget {
  private readonly peers = new Map<string, { bucket: TokenBucket, open: number }>()

  constructor (private readonly clock: Clock, private readonly init: PeerBudgetInit) {}

  admit (peer: string): BudgetVerdict {
    let p = this.peers.get(peer)
    if (p === undefined) {
      if (this.peers.size >= this.init.maxPeers) {
        for (const [id, entry] of this.peers) {
          if (entry.open === 0) {
            this.peers.delete(id)
            break
          }
        }
      }
      p = { bucket: new TokenBucket(this.clock, this.init.requestsPerMinute / 60, this.init.requestsPerMinute), open: 0 }
    } else {
      this.peers.delete(peer) // re-insert: most recent last
    }
    this.peers.set(peer, p)
    if (p.open >= this.init.maxConcurrentPerPeer) return { ok: false, why: 'concurrency', retryAfterMs: 1_000 }
    if (!p.bucket.tryTake(1)) return { ok: false, why: 'rate', retryAfterMs: p.bucket.waitMsFor(1) }
    p.open++
    const entry = p
    let released = false
    return {
      ok: true,
      release: () => {
        if (released) return
        released = true
        entry.open--
      }
    }
  }

  /**
   * One more request from `peer` on a stream it already holds: 0 when its rate allows it (a
   * token is taken), else the milliseconds until it would.
   */
  charge (peer: string): number {
    const p = this.peers.get(peer)
    if (p === undefined) return 0 // forgotten meanwhile (more than maxPeers): not charged
    return p.bucket.tryTake(1) ? 0 : Math.max(1, p.bucket.waitMsFor(1))
  }

  /** Streams open now, all peers. */
  openStreams (): number {
    let n = 0
    for (const p of this.peers.values()) n += p.open
    return n
  }
}

/** `value` when it is an integer in [min, max]; else a ConfigError naming `key`. */
export function intInRange (key: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `an integer in [${min}, ${max}]`, `got ${String(value)}`)
  }
  return value
}

import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { ConfigError } from '../../../src/core/errors.js'
import { PeerBudget, QueueFullError, Semaphore, TokenBucket, intInRange } from '../../../src/transfer/limits.js'
import { hostsFromMultiaddrs } from '../../../src/transfer/fast-path.js'

/** Let pending promise callbacks run. */
const flush = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

describe('TokenBucket', () => {
  it('lets a burst through, then paces takes at the rate on the clock', async () => {
    const clock = new VirtualClock(0)
    const b = new TokenBucket(clock, 1000, 500) // 1000 tokens/s, burst 500
    await b.take(500)
    let done = false
    const p = b.take(250).then(() => { done = true })
    await flush()
    expect(done).toBe(false)
    clock.advance(249)
    await flush()
    expect(done).toBe(false)
    clock.advance(1)
    await flush()
    await p
    expect(done).toBe(true)
  })

  it('takes more than the burst in parts', async () => {
    const clock = new VirtualClock(0)
    const b = new TokenBucket(clock, 100, 100)
    let done = false
    const p = b.take(350).then(() => { done = true })
    for (let i = 0; i < 40 && !done; i++) {
      clock.advance(100)
      await flush()
    }
    await p
    expect(clock.nowMs()).toBe(2_500) // 100 at once, 250 more at 100/s
  })

  it('stops waiting when aborted', async () => {
    const clock = new VirtualClock(0)
    const b = new TokenBucket(clock, 1, 1)
    await b.take(1)
    const ac = new AbortController()
    const p = b.take(1, { signal: ac.signal })
    ac.abort(new Error('stop'))
    await expect(p).rejects.toThrow('stop')
    expect(clock.pendingTimers).toBe(0)
  })
})

describe('Semaphore', () => {
  it('queues past max and refuses past maxWaiting', async () => {
    const s = new Semaphore(1, 1, 'test')
    await s.acquire()
    const second = s.acquire()
    await expect(s.acquire()).rejects.toThrow(QueueFullError)
    s.release()
    await second
    expect(s.inUse).toBe(1)
    s.release()
    expect(s.inUse).toBe(0)
  })
})

describe('PeerBudget', () => {
  it('refuses a peer over its rate, and over its concurrency, independently of other peers', () => {
    const clock = new VirtualClock(0)
    const b = new PeerBudget(clock, { requestsPerMinute: 2, maxConcurrentPerPeer: 5, maxPeers: 10 })
    const r1 = b.admit('a')
    const r2 = b.admit('a')
    expect(r1.ok && r2.ok).toBe(true)
    const r3 = b.admit('a')
    expect(r3).toMatchObject({ ok: false, why: 'rate' })
    expect(r3.ok ? 0 : r3.retryAfterMs).toBe(30_000)
    expect(b.admit('b').ok).toBe(true)
    clock.advance(30_000)
    expect(b.admit('a').ok).toBe(true)

    const c = new PeerBudget(clock, { requestsPerMinute: 100, maxConcurrentPerPeer: 1, maxPeers: 10 })
    const held = c.admit('a')
    expect(c.admit('a')).toMatchObject({ ok: false, why: 'concurrency' })
    if (held.ok) held.release()
    expect(c.admit('a').ok).toBe(true)
  })
})

describe('intInRange / hostsFromMultiaddrs', () => {
  it('names the key of a bad setting', () => {
    expect(() => intInRange('sync.chunkBytes', 0.5, 1)).toThrow(ConfigError)
    expect(() => intInRange('sync.chunkBytes', 0, 1)).toThrow('sync.chunkBytes')
    expect(intInRange('k', 5, 1, 5)).toBe(5)
  })
  it('keeps the IPs of multiaddrs', () => {
    expect(hostsFromMultiaddrs(['/ip4/127.0.0.1/tcp/4001/p2p/x', '/ip6/::1/tcp/4001', '/memory/abc', '/ip4/127.0.0.1/tcp/5'])).toEqual(['127.0.0.1', '::1'])
  })
})

import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { anySignal, onAbort } from '../../../src/core/signals.js'

describe('anySignal', () => {
  it('aborts with the reason of whichever source aborts first, and then lets go of the others', () => {
    const a = new AbortController()
    const b = new AbortController()
    const l = anySignal([a.signal, undefined, b.signal])
    expect(l.signal.aborted).toBe(false)
    b.abort(new Error('b went'))
    expect(l.signal.aborted).toBe(true)
    expect((l.signal.reason as Error).message).toBe('b went')
    // a's one shared listener stays; l no longer follows a
    expect(getEventListeners(a.signal, 'abort').length).toBeLessThanOrEqual(1)
    a.abort(new Error('a went later'))
    expect((l.signal.reason as Error).message).toBe('b went')
  })

  it('is aborted at once when a source already is; one source is passed through', () => {
    const a = new AbortController()
    a.abort('early')
    expect(anySignal([new AbortController().signal, a.signal]).signal.reason).toBe('early')
    const only = new AbortController().signal
    expect(anySignal([undefined, only]).signal).toBe(only)
  })

  it('a long-lived source carries one listener however many signals were made from it, and disposed ones do not follow it', () => {
    const stop = new AbortController()
    const disposed = []
    for (let i = 0; i < 1_000; i++) {
      const l = anySignal([stop.signal, new AbortController().signal])
      l.dispose()
      disposed.push(l.signal)
    }
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1)
    const l = anySignal([stop.signal, new AbortController().signal])
    stop.abort('stopping')
    expect(l.signal.reason).toBe('stopping')
    expect(disposed.some(s => s.aborted)).toBe(false)
  })
})

describe('onAbort', () => {
  it('runs every current subscriber once, through one real listener, and none that unsubscribed', () => {
    const c = new AbortController()
    const calls: number[] = []
    const unsubscribe = Array.from({ length: 10_000 }, (_, i) => onAbort(c.signal, () => calls.push(i)))
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1)
    for (let i = 0; i < 10_000; i += 2) unsubscribe[i]?.()
    c.abort()
    expect(calls).toHaveLength(5_000)
    expect(calls.every(i => i % 2 === 1)).toBe(true)
    expect(calls).toEqual([...calls].sort((a, b) => a - b)) // in the order they subscribed
    c.abort() // a second abort is a no-op for signals: nothing runs again
    expect(calls).toHaveLength(5_000)
  })

  it('keeps subscribers of different signals apart', () => {
    const a = new AbortController()
    const b = new AbortController()
    let ranA = 0
    let ranB = 0
    onAbort(a.signal, () => ranA++)
    onAbort(b.signal, () => ranB++)
    a.abort()
    expect([ranA, ranB]).toEqual([1, 0])
  })
})

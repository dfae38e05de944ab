import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { anySignal } from '../../../src/core/signals.js'

describe('anySignal', () => {
  it('aborts with the reason of whichever source aborts first, and then lets go of the others', () => {
    const a = new AbortController()
    const b = new AbortController()
    const l = anySignal([a.signal, undefined, b.signal])
    expect(l.signal.aborted).toBe(false)
    b.abort(new Error('b went'))
    expect(l.signal.aborted).toBe(true)
    expect((l.signal.reason as Error).message).toBe('b went')
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0)
  })

  it('is aborted at once when a source already is; one source is passed through', () => {
    const a = new AbortController()
    a.abort('early')
    expect(anySignal([new AbortController().signal, a.signal]).signal.reason).toBe('early')
    const only = new AbortController().signal
    expect(anySignal([undefined, only]).signal).toBe(only)
  })

  it('dispose leaves no listener on a long-lived source, however many signals were made from it', () => {
    const stop = new AbortController()
    for (let i = 0; i < 1_000; i++) {
      const l = anySignal([stop.signal, new AbortController().signal])
      l.dispose()
    }
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0)
    const l = anySignal([stop.signal, new AbortController().signal])
    stop.abort('stopping')
    expect(l.signal.reason).toBe('stopping')
  })
})

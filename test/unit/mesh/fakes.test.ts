import { describe, expect, it } from 'vitest'
import { framePair, FrameTooLargeError, FakeNetwork } from './fakes.js'

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs)

describe('framePair (the in-memory FrameStream the mesh tests use)', () => {
  it('delivers frames in order, copied, and then end-of-stream after close', async () => {
    const { a, b } = framePair()
    const sent = bytes(1, 2)
    await a.write(sent)
    sent[0] = 9
    await a.write(bytes(3))
    await a.close()
    expect(await b.read()).toEqual(bytes(1, 2))
    expect(await b.read()).toEqual(bytes(3))
    expect(await b.read()).toBeUndefined()
    expect(await b.read()).toBeUndefined()
    await expect(a.write(bytes(4))).rejects.toThrow('write after close')
  })

  it('keeps the other direction open after one side closes (half-close)', async () => {
    const { a, b } = framePair()
    await a.close()
    await b.write(bytes(7))
    expect(await a.read()).toEqual(bytes(7))
  })

  it('makes write wait while the queue is full, and resumes it when the reader takes a frame', async () => {
    const { a, b, ab } = framePair({ maxQueuedFrames: 2 })
    await a.write(bytes(1))
    await a.write(bytes(2))
    let done = false
    const third = a.write(bytes(3)).then(() => { done = true })
    await Promise.resolve()
    expect(done).toBe(false)
    expect(ab.queued).toBe(2)
    expect(await b.read()).toEqual(bytes(1))
    await third
    expect(ab.queued).toBe(2)
  })

  it('rejects a frame above the reader’s maxFrameBytes', async () => {
    const { a, b } = framePair({ bMaxFrameBytes: 2 })
    await a.write(bytes(1, 2, 3))
    await expect(b.read()).rejects.toBeInstanceOf(FrameTooLargeError)
  })

  it('abort fails pending and later reads and writes on both ends', async () => {
    const { a, b } = framePair({ maxQueuedFrames: 1 })
    const reading = b.read()
    await a.write(bytes(1))
    expect(await reading).toEqual(bytes(1))
    await a.write(bytes(2))
    const blocked = a.write(bytes(3))
    const err = new Error('reset')
    b.abort(err)
    await expect(blocked).rejects.toBe(err)
    await expect(b.read()).rejects.toBe(err)
    await expect(a.read()).rejects.toBe(err)
  })

  it('rejects a waiting read with the signal’s reason', async () => {
    const { b } = framePair()
    const ac = new AbortController()
    const reading = b.read({ signal: ac.signal })
    ac.abort(new Error('deadline'))
    await expect(reading).rejects.toThrow('deadline')
  })
})

describe('FakeNetwork', () => {
  it('floods a published message to direct neighbours only, with the publisher as from', async () => {
    const net = new FakeNetwork()
    const [x, y, z] = ['x', 'y', 'z'].map(id => net.add(id))
    net.connect('x', 'y')
    net.connect('y', 'z')
    const got: string[] = []
    y!.subscribe('t', m => got.push(`y<-${m.from}`))
    z!.subscribe('t', m => got.push(`z<-${m.from}`))
    await x!.publish('t', bytes(1))
    await expect.poll(() => y!.received, { timeout: 1_000 }).toBe(1)
    expect(got).toEqual(['y<-x'])
    expect(z!.received).toBe(0)
  })

  it('refuses to open a stream to a peer that is not connected or does not speak the protocol', async () => {
    const net = new FakeNetwork()
    const x = net.add('x')
    net.add('y')
    await expect(x.open('y', '/p/1', { maxFrameBytes: 10 })).rejects.toThrow(/not connected/)
    net.connect('x', 'y')
    await expect(x.open('y', '/p/1', { maxFrameBytes: 10 })).rejects.toThrow(/not supported/)
  })
})

/**
 * The side channel: sealed frames over a real TCP pair on 127.0.0.1, one-time tokens, and the
 * CHUNK encoding that skips a copy.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { SystemClock, VirtualClock, type Clock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { FastPathListener, SIDE_READ_BUFFER_BYTES, SealedFrameStream, connectAny } from '../../../src/transfer/fast-path.js'
import { isOwned } from '../../../src/transfer/owned-buffers.js'
import { TransferFrame, encodeFrame, frameWithDataParts } from '../../../src/transfer/protocol.js'

const closers: Array<() => unknown> = []
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c() })

/** Two ends of one loopback TCP connection, the target's end made by `dial`. */
async function pairVia (dial: (port: number) => Promise<Socket>): Promise<[Socket, Socket]> {
  let accepted!: (s: Socket) => void
  const got = new Promise<Socket>(resolve => { accepted = resolve })
  const server: Server = createServer(s => accepted(s))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  closers.push(async () => await new Promise(resolve => server.close(resolve)))
  const a = server.address()
  const client = await dial(typeof a === 'object' && a !== null ? a.port : 0)
  const holder = await got
  closers.push(() => { client.destroy(); holder.destroy() })
  return [holder, client]
}

/** A plain `net.connect` target end. */
async function socketPair (): Promise<[Socket, Socket]> {
  return await pairVia(async port => {
    const client = connect({ port, host: '127.0.0.1' })
    await new Promise(resolve => client.once('connect', resolve))
    return client
  })
}

/** The target's end made by `connectAny` (it reads into one reused buffer). */
async function connectedPair (): Promise<[Socket, Socket]> {
  return await pairVia(async port => {
    const client = await connectAny(['127.0.0.1'], port, new SystemClock(), 3_000)
    if (client === undefined) throw new Error('no connection')
    return client
  })
}

const pairs = [['an accepted socket', socketPair], ['a socket from connectAny', connectedPair]] as const

const KEY = Buffer.alloc(32, 7)
const signal = (): AbortSignal => AbortSignal.timeout(5_000)

describe('SealedFrameStream', () => {
  it.each([['sealed', KEY], ['plain', new Uint8Array(0)]])('carries frames both ways, in order, of any size, and ends cleanly (%s)', async (mode, key) => {
    const [h, t] = await socketPair()
    const holder = new SealedFrameStream(h, key, 'holder', 4 << 20)
    const target = new SealedFrameStream(t, key, 'target', 4 << 20)
    expect(holder.sealed).toBe(mode === 'sealed')
    const sizes = [0, 1, 16_383, 70_000, 3 << 20]
    const sending = (async () => {
      for (const n of sizes) await holder.write(Buffer.alloc(n, n % 251))
      await holder.writeParts([Buffer.from('ab'), Buffer.from('cd')])
    })()
    for (const n of sizes) expect(Buffer.compare(Buffer.from(await target.read({ signal: signal() }) as Uint8Array), Buffer.alloc(n, n % 251))).toBe(0)
    expect(Buffer.from(await target.read({ signal: signal() }) as Uint8Array).toString()).toBe('abcd')
    await sending
    await target.write(Buffer.from('back'))
    expect(Buffer.from(await holder.read({ signal: signal() }) as Uint8Array).toString()).toBe('back')
    await holder.close()
    expect(await target.read({ signal: signal() })).toBeUndefined()
  })

  it.each([['plain', new Uint8Array(0)], ['sealed', KEY]])('calls onWritten only once the data may be reused: overwriting it then changes nothing on the wire (%s)', async (_mode, key) => {
    const [h, t] = await socketPair()
    const holder = new SealedFrameStream(h, key, 'holder', 64 << 20)
    const target = new SealedFrameStream(t, key, 'target', 64 << 20)
    // far more than a loopback socket takes at once, so plain mode leaves most of it queued
    const data = Buffer.alloc(32 << 20, 3)
    let called = 0
    const receiving = target.read({ signal: signal() })
    await holder.writeParts([Buffer.from('x'), data], { onWritten: () => { called++; data.fill(0) } })
    const got = Buffer.from(await receiving as Uint8Array)
    await expect.poll(() => called).toBe(1)
    expect(got.byteLength).toBe(1 + (32 << 20))
    expect(got.subarray(1).every(b => b === 3)).toBe(true)
  })

  it('fails on a flipped bit, a wrong key, and a frame over the limit', async () => {
    const [h1, t1] = await socketPair()
    h1.write(Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('xyz'), Buffer.alloc(16)])) // a forged frame
    await expect(new SealedFrameStream(t1, KEY, 'target', 1024).read({ signal: signal() })).rejects.toThrow('does not authenticate')

    const [h2, t2] = await socketPair()
    await new SealedFrameStream(h2, Buffer.alloc(32, 8), 'holder', 1024).write(Buffer.from('hello'))
    await expect(new SealedFrameStream(t2, KEY, 'target', 1024).read({ signal: signal() })).rejects.toThrow('does not authenticate')

    const [h3, t3] = await socketPair()
    await new SealedFrameStream(h3, KEY, 'holder', 1 << 20).write(Buffer.alloc(2048))
    await expect(new SealedFrameStream(t3, KEY, 'target', 1024).read({ signal: signal() })).rejects.toMatchObject({ name: 'InvalidDataLengthError' })
  })

  it.each(pairs)('receiving on %s: frames larger than one socket read arrive whole, in owned memory, and a reader that falls behind stops the socket', async (_name, pair) => {
    const [h, t] = await pair()
    const holder = new SealedFrameStream(h, new Uint8Array(0), 'holder', 64 << 20)
    const target = new SealedFrameStream(t, new Uint8Array(0), 'target', 64 << 20)
    const frames = 48
    const frameBytes = (1 << 20) + 5 // not a multiple of any read size
    const sending = (async () => { for (let i = 0; i < frames; i++) await holder.write(Buffer.alloc(frameBytes, i)) })()
    // nobody reads for a while: the target takes in about its queue limit (8 MiB) plus what one read holds, then stops
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(t.bytesRead).toBeLessThan(8 * (1 << 20) + frameBytes + SIDE_READ_BUFFER_BYTES + 64 * 1024)
    for (let i = 0; i < frames; i++) {
      const f = await target.read({ signal: signal() }) as Buffer
      expect(f.byteLength).toBe(frameBytes)
      expect(isOwned(f)).toBe(true)
      expect(f[0] === i % 256 && f[frameBytes - 1] === i % 256 && f.every(b => b === i % 256)).toBe(true)
    }
    await sending
    await holder.close()
    expect(await target.read({ signal: signal() })).toBeUndefined()
  })

  it('keeps what a connectAny socket received before a stream took it over', async () => {
    const [h, t] = await connectedPair()
    await new SealedFrameStream(h, KEY, 'holder', 1024).write(Buffer.from('early'))
    await new Promise(resolve => setTimeout(resolve, 100))
    const target = new SealedFrameStream(t, KEY, 'target', 1024)
    expect(Buffer.from(await target.read({ signal: signal() }) as Uint8Array).toString()).toBe('early')
  })

  it.each(pairs)('on %s: an empty frame arriving alone is read at once; a second read while one waits is refused', async (_name, pair) => {
    const [h, t] = await pair()
    const target = new SealedFrameStream(t, new Uint8Array(0), 'target', 1024)
    const reading = target.read({ signal: signal() })
    await expect(target.read({ signal: signal() })).rejects.toThrow('already waiting')
    h.write(Buffer.from([0, 0, 0, 0]))
    expect((await reading)?.byteLength).toBe(0)
  })

  it.each(pairs)('on %s: an end inside a frame is an error, an abort destroys the socket', async (_name, pair) => {
    const [h1, t1] = await pair()
    h1.end(Buffer.from([0, 0, 0, 9, 1, 2]))
    await expect(new SealedFrameStream(t1, new Uint8Array(0), 'target', 1024).read({ signal: signal() })).rejects.toThrow('closed inside a frame')
    const [, t2] = await pair()
    const target = new SealedFrameStream(t2, new Uint8Array(0), 'target', 1024)
    const ac = new AbortController()
    const reading = target.read({ signal: ac.signal })
    ac.abort(new Error('stop now'))
    await expect(reading).rejects.toThrow('stop now')
    expect(t2.destroyed).toBe(true)
  })

  it('plain mode puts the bytes on the wire as they are, behind a length prefix; sealed mode does not', async () => {
    for (const key of [new Uint8Array(0), KEY]) {
      const [h, t] = await socketPair()
      await new SealedFrameStream(h, key, 'holder', 1024).write(Buffer.from('hello'))
      const wire = await new Promise<Buffer>(resolve => t.once('data', resolve))
      expect(wire.subarray(0, 4).readUInt32BE(0)).toBe(5)
      expect(wire.includes(Buffer.from('hello'))).toBe(key.byteLength === 0)
      expect(wire.byteLength).toBe(key.byteLength === 0 ? 9 : 9 + 16)
    }
  })

  it('refuses a frame replayed in the other direction', async () => {
    // a frame a target sealed (direction 1), captured, and played to a target (which expects direction 0)
    const [h2, t2] = await socketPair()
    await new SealedFrameStream(t2, KEY, 'target', 1024).write(Buffer.from('x'))
    const bytes = await new Promise<Buffer>(resolve => h2.once('data', resolve))
    const [h, t] = await socketPair()
    h.write(bytes)
    await expect(new SealedFrameStream(t, KEY, 'target', 1024).read({ signal: signal() })).rejects.toThrow('does not authenticate')
  })
})

describe('FastPathListener', () => {
  async function listener (clock: Clock = new SystemClock(), encrypt?: boolean): Promise<FastPathListener> {
    const l = new FastPathListener({ clock, logger: silentLogger() }, { host: '127.0.0.1', tokenTtlMs: 10_000, handshakeTimeoutMs: 5_000, ...(encrypt !== undefined ? { encrypt } : {}) })
    await l.start()
    closers.push(async () => await l.stop())
    return l
  }
  const dial = async (port: number, bytes: Uint8Array): Promise<Socket> => {
    const s = connect({ port, host: '127.0.0.1' })
    closers.push(() => s.destroy())
    await new Promise(resolve => s.once('connect', resolve))
    s.write(bytes)
    return s
  }

  it('hands over the connection that brings the token, once, with what followed it', async () => {
    const l = await listener()
    const offer = l.offer()
    if (offer === undefined) throw new Error('no offer')
    const client = await dial(l.port, Buffer.concat([offer.token, Buffer.from('first frame')]))
    const socket = await offer.accepted
    expect(socket).toBeDefined()
    const data = await new Promise<Buffer>(resolve => { socket?.once('data', resolve); socket?.resume() })
    expect(data.toString()).toBe('first frame')
    // the same token again: refused
    const again = await dial(l.port, offer.token)
    await new Promise(resolve => again.once('close', resolve))
    expect(l.refusedConnections).toBe(1)
    client.destroy()
  })

  it('offers a fresh 32-byte key only when it encrypts (plain by default)', async () => {
    expect((await listener()).offer()?.key.byteLength).toBe(0)
    const sealed = await listener(new SystemClock(), true)
    const [a, b] = [sealed.offer(), sealed.offer()]
    expect(a?.key.byteLength).toBe(32)
    expect(Buffer.compare(Buffer.from(a?.key ?? []), Buffer.from(b?.key ?? []))).not.toBe(0)
  })

  it('closes a connection with an unknown token; an offer expires on the clock', async () => {
    const clock = new VirtualClock(0)
    const l = await listener(clock)
    const bad = await dial(l.port, Buffer.alloc(32, 1))
    await new Promise(resolve => bad.once('close', resolve))
    expect(l.refusedConnections).toBe(1)
    const offer = l.offer()
    clock.advance(10_000)
    expect(await offer?.accepted).toBeUndefined()
  })
})

describe('frameWithDataParts', () => {
  it.each([1, 127, 128, 16_383, 16_384, 1 << 20, (1 << 21) + 3])('encodes %i bytes exactly like encodeFrame', n => {
    const data = Buffer.alloc(n, 5)
    for (const offset of [0, 1, 300, 2 ** 40]) {
      const [prefix, body] = frameWithDataParts({ kind: TransferFrame.Kind.CHUNK, offset: BigInt(offset) }, data)
      const whole = encodeFrame({ kind: TransferFrame.Kind.CHUNK, offset: BigInt(offset), data: data as Uint8Array<ArrayBuffer> })
      expect(Buffer.compare(Buffer.concat([prefix, body]), whole)).toBe(0)
      const header = { kind: TransferFrame.Kind.HEADER, size: BigInt(n + offset), mtimeMs: 1_700_000_000_000n, sha256: 'ab'.repeat(32), offset: BigInt(offset) }
      const [hp, hb] = frameWithDataParts(header, data)
      expect(Buffer.compare(Buffer.concat([hp, hb]), encodeFrame({ ...header, data: data as Uint8Array<ArrayBuffer> }))).toBe(0)
    }
  })
})

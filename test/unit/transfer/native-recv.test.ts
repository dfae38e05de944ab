/**
 * The native BATCH receiver (native/batch/ through native-recv.ts), against a holder
 * played by hand on a real loopback TCP connection: the frames it reads, the files it writes,
 * what it refuses, and that it leaves the socket exactly at the end of the batch's answers.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadNativeReceiver, type NativeItem, type NativeReceiver, type NativeReceiveOptions } from '../../../src/transfer/native-recv.js'
import { TRANSFER_VERSION, TransferFrame, encodeFrame } from '../../../src/transfer/protocol.js'
import { tempDir } from '../../helpers.js'

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex')
const OPTIONS: NativeReceiveOptions = { fsync: true, maxFrameBytes: 4 * 1024 * 1024, idleTimeoutMs: 10_000, version: TRANSFER_VERSION }

/** `uint32be(n) • bytes`: one plain side-channel frame. */
function framed (bytes: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(bytes.byteLength, 0)
  return Buffer.concat([head, bytes])
}

function header (data: Buffer, over: Partial<TransferFrame> = {}): Buffer {
  return framed(encodeFrame({ kind: TransferFrame.Kind.HEADER, size: BigInt(data.length), sha256: sha(data), offset: 0n, data: new Uint8Array(data), ...over }))
}

/** A connected pair: `reader` never read by Node (the native side takes its descriptor), `holder` writes. */
interface Pair { reader: Socket, holder: Socket, fd: number }

describe.runIf(process.platform === 'linux')('native batch receiver', () => {
  let native: NativeReceiver
  let dir: string
  let cleanup: () => Promise<void>
  let server: Server
  const open: Socket[] = []

  beforeEach(async () => {
    const r = loadNativeReceiver()
    if ('why' in r) throw new Error(`npm install builds the receiver on Linux: ${r.why}`)
    native = r
    ;({ dir, cleanup } = await tempDir('riftmesh-native-recv-'))
    await mkdir(join(dir, 'games'))
  })

  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy()
    await new Promise<void>(resolve => server !== undefined ? server.close(() => resolve()) : resolve())
    await cleanup()
  })

  async function pair (): Promise<Pair> {
    const accepted = new Promise<Socket>(resolve => {
      server = createServer({ pauseOnConnect: true }, s => resolve(s))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const holder = connect({ port, host: '127.0.0.1' })
    const reader = await accepted
    open.push(holder, reader)
    const fd = (reader as unknown as { _handle: { fd: number } })._handle.fd
    return { reader, holder, fd }
  }

  const item = (name: string, data: Buffer, over: Partial<NativeItem> = {}): NativeItem =>
    ({ dest: join(dir, 'games', name), size: data.length, sha256: sha(data), countLines: name.endsWith('.jsonl'), ...over })

  it('writes each verified file in place, counts games, and leaves the socket at the end of the batch', async () => {
    const { reader, holder, fd } = await pair()
    const a = Buffer.from('{"g":1}\n\r\n{"g":2}\n\n{"g":3}') // 3 games: a lone \r and an empty line are not games
    const b = Buffer.alloc(300_000, 7)
    const c = Buffer.alloc(0)
    const after = framed(encodeFrame({ kind: TransferFrame.Kind.END }))
    holder.write(Buffer.concat([header(a), header(b), header(c), after])) // a frame past the batch, for whoever reads next
    const r = await native.receive(fd, [item('a.jsonl', a), item('b.bin', b), item('c.jsonl', c)], OPTIONS, AbortSignal.timeout(10_000))
    expect(r).toMatchObject({ status: 'ok', answered: 3 })
    expect(r.outcomes.map(o => o.kind)).toEqual(['ok', 'ok', 'ok'])
    expect(r.outcomes[0]).toMatchObject({ sha256: sha(a), gameCount: 3, size: a.length })
    expect(r.outcomes[1]).toMatchObject({ sha256: sha(b), gameCount: 0, size: b.length })
    expect(r.outcomes[2]).toMatchObject({ sha256: sha(c), gameCount: 0, size: 0 })
    expect(readFileSync(join(dir, 'games', 'a.jsonl')).equals(a)).toBe(true)
    expect(readFileSync(join(dir, 'games', 'b.bin')).equals(b)).toBe(true)
    expect(readdirSync(join(dir, 'games')).sort()).toEqual(['a.jsonl', 'b.bin', 'c.jsonl'])
    // not one byte past the batch was taken off the socket
    const rest = new Promise<Buffer>(resolve => reader.once('data', resolve))
    reader.resume()
    expect((await rest).equals(after)).toBe(true)
  })

  it('a skipped item, a changed one and a corrupted one each fail alone; the rest are written', async () => {
    const { holder, fd } = await pair()
    const good = Buffer.from('good\n')
    const changed = Buffer.from('changed\n')
    const rotten = Buffer.from('rotten\n')
    const skip = framed(encodeFrame({ kind: TransferFrame.Kind.SKIP, code: TransferFrame.Code.NOT_FOUND, message: 'not in my manifest' }))
    holder.write(Buffer.concat([
      skip,
      header(changed, { sha256: sha('another version') }),
      header(Buffer.from('rott3n\n'), { sha256: sha(rotten) }), // the holder claims the right hash, the bytes are not it
      header(good)
    ]))
    const items = [item('s.jsonl', Buffer.from('x')), item('c.jsonl', changed), item('r.jsonl', rotten), item('g.jsonl', good)]
    const r = await native.receive(fd, items, OPTIONS, AbortSignal.timeout(10_000))
    expect(r.status).toBe('ok')
    expect(r.outcomes).toEqual([
      { kind: 'skip', code: 1, message: 'not in my manifest' },
      { kind: 'changed' },
      { kind: 'mismatch', sha256: sha('rott3n\n') },
      expect.objectContaining({ kind: 'ok', sha256: sha(good) })
    ])
    expect(readdirSync(join(dir, 'games'))).toEqual(['g.jsonl']) // nothing of the others, not even a partial
  })

  it('stops at an ERROR frame with its code and retry-after; what arrived before is placed', async () => {
    const { holder, fd } = await pair()
    const one = Buffer.from('one\n')
    holder.write(Buffer.concat([header(one), framed(encodeFrame({ kind: TransferFrame.Kind.ERROR, code: TransferFrame.Code.BUSY, message: 'busy', retryAfterMs: 250 }))]))
    const r = await native.receive(fd, [item('1.jsonl', one), item('2.jsonl', one)], OPTIONS, AbortSignal.timeout(10_000))
    expect(r).toMatchObject({ status: 'error-frame', code: 3, retryAfterMs: 250, message: 'busy', answered: 1 })
    expect(r.outcomes.map(o => o.kind)).toEqual(['ok', 'none'])
    expect(readdirSync(join(dir, 'games'))).toEqual(['1.jsonl'])
  })

  it('reports a holder that closes mid-batch; the file whose frame was cut is not written', async () => {
    const { holder, fd } = await pair()
    const one = Buffer.from('one\n')
    const two = Buffer.alloc(100_000, 2)
    const cut = header(two)
    holder.end(Buffer.concat([header(one), cut.subarray(0, 50_000)]))
    const r = await native.receive(fd, [item('1.jsonl', one), item('2.bin', two)], OPTIONS, AbortSignal.timeout(10_000))
    expect(r).toMatchObject({ status: 'eof', answered: 1 })
    expect(readdirSync(join(dir, 'games'))).toEqual(['1.jsonl'])
  })

  it.each([
    ['a frame over the limit', (d: Buffer) => Buffer.concat([Buffer.from([0x7f, 0, 0, 0]), d]), /over the limit/],
    ['a malformed frame', () => framed(Buffer.from([0x0a, 0x7f, 0x01])), /malformed frame/],
    ['an unknown version', (d: Buffer) => framed(encodeFrame({ version: 9, kind: TransferFrame.Kind.HEADER, size: BigInt(d.length), sha256: sha(d), data: new Uint8Array(d) })), /unknown frame version 9/],
    ['a size other than the item\'s', (d: Buffer) => header(Buffer.concat([d, d])), /expected 5 at 0/],
    ['a frame of another kind', () => framed(encodeFrame({ kind: TransferFrame.Kind.CHUNK })), /expected HEADER or SKIP/]
  ])('ends the exchange as a protocol error on %s', async (_what, frame, message) => {
    const { holder, fd } = await pair()
    const d = Buffer.from('data\n')
    holder.write(frame(d))
    const r = await native.receive(fd, [item('x.jsonl', d)], OPTIONS, AbortSignal.timeout(10_000))
    expect(r.status).toBe('protocol')
    expect(r.message).toMatch(message)
    expect(readdirSync(join(dir, 'games'))).toEqual([])
  })

  it('an abort ends a wait for a silent holder at once; a silent holder also times out by itself', async () => {
    const { fd } = await pair()
    const ac = new AbortController()
    const pending = native.receive(fd, [item('x.jsonl', Buffer.from('x'))], OPTIONS, ac.signal)
    setTimeout(() => ac.abort(), 50)
    expect((await pending).status).toBe('cancelled')
    const r = await native.receive(fd, [item('x.jsonl', Buffer.from('x'))], { ...OPTIONS, idleTimeoutMs: 100 }, AbortSignal.timeout(10_000))
    expect(r.status).toBe('timeout')
    const aborted = AbortSignal.abort()
    expect((await native.receive(fd, [item('x.jsonl', Buffer.from('x'))], OPTIONS, aborted)).status).toBe('cancelled')
  })

  it('never writes through a symlink left at the partial\'s name, and reports a file it cannot create', async () => {
    const { holder, fd } = await pair()
    const d = Buffer.from('data\n')
    const outside = join(dir, 'outside')
    writeFileSync(outside, 'keep')
    symlinkSync(outside, join(dir, 'games', 'x.jsonl.partial'))
    holder.write(Buffer.concat([header(d), header(d)]))
    const r = await native.receive(fd, [item('x.jsonl', d), item('none/y.jsonl', d)], OPTIONS, AbortSignal.timeout(10_000))
    expect(r.status).toBe('ok')
    expect(r.outcomes[0]?.kind).toBe('ok')
    expect(r.outcomes[1]).toEqual({ kind: 'io', message: 'ENOENT (open)' })
    expect(readFileSync(outside, 'utf8')).toBe('keep')
    expect(readFileSync(join(dir, 'games', 'x.jsonl')).equals(d)).toBe(true)
    expect(existsSync(join(dir, 'games', 'x.jsonl.partial'))).toBe(false)
  })

  it('refuses arguments it cannot use, with a clear error', async () => {
    const d = Buffer.from('x')
    await Promise.all([
      expect(native.receive(-1, [item('x', d)], OPTIONS, new AbortController().signal)).rejects.toThrow(/expects a descriptor/),
      expect(native.receive(0, [], OPTIONS, new AbortController().signal)).rejects.toThrow(/1 to 4096 items/),
      expect(native.receive(0, [item('x', d, { dest: 'relative' })], OPTIONS, new AbortController().signal)).rejects.toThrow(/absolute path/),
      expect(native.receive(0, [item('x', d, { sha256: 'abc' })], OPTIONS, new AbortController().signal)).rejects.toThrow(/64 hex digits/),
      expect(native.receive(0, [item('x', d)], { ...OPTIONS, idleTimeoutMs: 0 }, new AbortController().signal)).rejects.toThrow(/idleTimeoutMs/)
    ])
  })
})

describe('native batch receiver loader', () => {
  it('says why there is none when the addon was not built, without throwing', () => {
    expect(loadNativeReceiver('/nonexistent/riftmesh-batch.node')).toEqual({ why: expect.stringMatching(/was not built/) as string })
  })
})

/**
 * The native BATCH sender (native/batch/ through native-send.ts), against a target
 * played by hand on a real loopback TCP connection: the frames it writes (decoded with the
 * protocol's own decoder), the SKIPs it builds for files that are gone, changed or outside the
 * data dir, and how it ends when the target goes away or stops reading.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, realpathSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadNativeSender, type NativeSendItem, type NativeSender, type NativeSendOptions } from '../../../src/transfer/native-send.js'
import { TRANSFER_VERSION, TransferFrame, skipFrame } from '../../../src/transfer/protocol.js'
import { tempDir } from '../../helpers.js'

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex')

/** Frames as they arrive on `socket`, decoded (any version); `frames(n)` waits for the first n. */
function frameReader (socket: Socket): { frames: (n: number) => Promise<TransferFrame[]>, rest: () => Buffer } {
  let buf = Buffer.alloc(0)
  const got: TransferFrame[] = []
  let wake: (() => void) | undefined
  socket.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b])
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0)
      got.push(TransferFrame.decode(buf.subarray(4, 4 + n)))
      buf = buf.subarray(4 + n)
    }
    wake?.()
  })
  return {
    frames: async n => {
      while (got.length < n) await new Promise<void>(resolve => { wake = resolve })
      return got.slice(0, n)
    },
    rest: () => buf
  }
}

describe.runIf(process.platform === 'linux')('native batch sender', () => {
  let native: NativeSender
  let dir: string
  let root: string
  let cleanup: () => Promise<void>
  let server: Server | undefined
  const open: Socket[] = []
  let options: NativeSendOptions

  beforeEach(async () => {
    const r = loadNativeSender()
    if ('why' in r) throw new Error(`npm install builds the batch addon on Linux: ${r.why}`)
    native = r
    ;({ dir, cleanup } = await tempDir('riftmesh-native-send-'))
    root = join(dir, 'data')
    mkdirSync(join(root, 'games'), { recursive: true })
    root = realpathSync(root)
    options = { rootReal: root, idleTimeoutMs: 10_000, version: TRANSFER_VERSION }
  })

  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy()
    await new Promise<void>(resolve => server !== undefined ? server.close(() => resolve()) : resolve())
    server = undefined
    await cleanup()
  })

  /** A connected pair: the holder's socket (its descriptor goes to the addon) and the target's. */
  async function pair (): Promise<{ holder: Socket, target: Socket, fd: number }> {
    const accepted = new Promise<Socket>(resolve => {
      server = createServer({ pauseOnConnect: true }, s => resolve(s))
    })
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    const port = (server?.address() as { port: number }).port
    const target = connect({ port, host: '127.0.0.1' })
    const holder = await accepted
    open.push(holder, target)
    return { holder, target, fd: (holder as unknown as { _handle: { fd: number } })._handle.fd }
  }

  /** Write a file under the data dir; the item the server would plan for it. */
  function listed (rel: string, data: Buffer): { path: string, size: number, mtimeMs: number, sha256: string } {
    const full = join(root, rel)
    writeFileSync(full, data)
    const st = statSync(full)
    return { path: full, size: st.size, mtimeMs: Math.floor(st.mtimeMs), sha256: sha(data) }
  }

  it('sends each file as a HEADER with its bytes and the ready SKIPs in their places; the socket then carries on', async () => {
    const { holder, target, fd } = await pair()
    const read = frameReader(target)
    const a = Buffer.from('{"g":1}\n{"g":2}\n')
    const b = Buffer.alloc(700_000, 3)
    const items: NativeSendItem[] = [listed('games/a.jsonl', a), { skip: skipFrame('NOT_FOUND', 'not in the manifest') }, listed('games/b.bin', b), listed('games/empty', Buffer.alloc(0))]
    const r = await native.send(fd, items, options, AbortSignal.timeout(10_000))
    expect(r).toMatchObject({ status: 'ok', served: 3, bytes: a.length + b.length })
    expect(r.outcomes.map(o => o.kind)).toEqual(['sent', 'skip', 'sent', 'sent'])
    holder.write(Buffer.from([0, 0, 0, 0])) // Node writes on the socket again after the batch: an empty frame
    const frames = await read.frames(5)
    const item = items[0] as { mtimeMs: number }
    expect(frames[0]).toMatchObject({ version: TRANSFER_VERSION, kind: TransferFrame.Kind.HEADER, size: BigInt(a.length), mtimeMs: BigInt(item.mtimeMs), sha256: sha(a), offset: 0n })
    expect(Buffer.from(frames[0]?.data ?? []).equals(a)).toBe(true)
    expect(frames[1]).toMatchObject({ kind: TransferFrame.Kind.SKIP, code: TransferFrame.Code.NOT_FOUND, message: 'not in the manifest' })
    expect(Buffer.from(frames[2]?.data ?? []).equals(b)).toBe(true)
    expect(frames[3]).toMatchObject({ kind: TransferFrame.Kind.HEADER, size: 0n, sha256: sha('') })
    expect(frames[4]).toMatchObject({ version: 0 }) // the empty frame Node wrote, in order, after the batch
    expect(read.rest().length).toBe(0)
  })

  it('answers a file that is gone, changed, not a file or outside the data dir with a SKIP built in C, and goes on', async () => {
    const { target, fd } = await pair()
    const read = frameReader(target)
    const gone = listed('games/gone.jsonl', Buffer.from('x\n'))
    unlinkSync(gone.path)
    const grown = listed('games/grown.jsonl', Buffer.from('x\n'))
    writeFileSync(grown.path, 'x\ny\n')
    const touched = listed('games/touched.jsonl', Buffer.from('t\n'))
    utimesSync(touched.path, new Date(), new Date(touched.mtimeMs + 5_000))
    const dirItem = { path: join(root, 'games'), size: 4096, mtimeMs: 0, sha256: sha('') }
    writeFileSync(join(dir, 'secret'), 'secret\n')
    symlinkSync(join(dir, 'secret'), join(root, 'games', 'link.jsonl'))
    const outside = { path: join(root, 'games', 'link.jsonl'), size: 7, mtimeMs: Math.floor(statSync(join(dir, 'secret')).mtimeMs), sha256: sha('secret\n') }
    const fine = listed('games/fine.jsonl', Buffer.from('fine\n'))
    const r = await native.send(fd, [gone, grown, touched, dirItem, outside, fine], options, AbortSignal.timeout(10_000))
    expect(r).toMatchObject({ status: 'ok', served: 1 })
    expect(r.outcomes).toEqual([
      { kind: 'refused', code: 'CHANGED', message: 'deleted since the last scan' },
      { kind: 'refused', code: 'CHANGED', message: 'the file changed since the last scan' },
      { kind: 'refused', code: 'CHANGED', message: 'the file changed since the last scan' },
      { kind: 'refused', code: 'CHANGED', message: 'the file changed since the last scan' },
      { kind: 'refused', code: 'BAD_PATH', message: 'a symlink leads outside the data dir' },
      { kind: 'sent' }
    ])
    const frames = await read.frames(6)
    expect(frames.map(f => [f.kind, f.code, f.message])).toEqual([
      [TransferFrame.Kind.SKIP, TransferFrame.Code.CHANGED, 'deleted since the last scan'],
      [TransferFrame.Kind.SKIP, TransferFrame.Code.CHANGED, 'the file changed since the last scan'],
      [TransferFrame.Kind.SKIP, TransferFrame.Code.CHANGED, 'the file changed since the last scan'],
      [TransferFrame.Kind.SKIP, TransferFrame.Code.CHANGED, 'the file changed since the last scan'],
      [TransferFrame.Kind.SKIP, TransferFrame.Code.BAD_PATH, 'a symlink leads outside the data dir'],
      [TransferFrame.Kind.HEADER, TransferFrame.Code.NONE, '']
    ])
    expect(Buffer.from(frames[5]?.data ?? []).toString()).toBe('fine\n')
  })

  it('ends with a write error when the target goes away, and on an abort or a target that stops reading', async () => {
    const big = Buffer.alloc(48 * 1024 * 1024, 1) // more than the socket buffers hold
    {
      const { target, fd } = await pair()
      target.destroy()
      const r = await native.send(fd, [listed('games/big', big)], options, AbortSignal.timeout(10_000))
      expect(r.status).toBe('write')
      expect(r.message).toMatch(/write|sendfile/)
    }
    {
      const { target, fd } = await pair()
      target.pause() // never reads: the send fills the buffers and waits
      const ac = new AbortController()
      const pending = native.send(fd, [listed('games/big2', big)], options, ac.signal)
      setTimeout(() => ac.abort(), 100)
      expect((await pending).status).toBe('cancelled')
      const r = await native.send(fd, [listed('games/big3', big)], { ...options, idleTimeoutMs: 100 }, AbortSignal.timeout(10_000))
      expect(r.status).toBe('timeout')
    }
  })

  it('refuses arguments it cannot use, with a clear error', async () => {
    const item = { path: join(root, 'x'), size: 1, mtimeMs: 0, sha256: sha('x') }
    const signal = new AbortController().signal
    await expect(native.send(-1, [item], options, signal)).rejects.toThrow(/expects a descriptor/)
    await expect(native.send(0, [], options, signal)).rejects.toThrow(/1 to 4096 items/)
    await expect(native.send(0, [{ ...item, path: 'relative' }], options, signal)).rejects.toThrow(/path \(absolute\)/)
    await expect(native.send(0, [{ ...item, mtimeMs: 1.5 }], options, signal)).rejects.toThrow(/whole ms/)
    await expect(native.send(0, [{ skip: new Uint8Array(0) }], options, signal)).rejects.toThrow(/1 to 4096 bytes/)
    await expect(native.send(0, [item], { ...options, rootReal: 'data' }, signal)).rejects.toThrow(/rootReal/)
  })
})

describe('native batch sender loader', () => {
  it('says why there is none when the addon was not built, without throwing', () => {
    expect(loadNativeSender('/nonexistent/riftmesh-batch.node')).toEqual({ why: expect.stringMatching(/was not built/) as string })
  })
})

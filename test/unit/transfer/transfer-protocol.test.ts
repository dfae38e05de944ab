/**
 * Server and client of /riftmesh/transfer/1.0.0 over the in-memory FakeNetwork (real files in
 * temp dirs): what the holder refuses and counts, the flow-control window, resume, verification.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SystemClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { DropCounters } from '../../../src/mesh/drops.js'
import { TransferClient, type TransferClientInit } from '../../../src/transfer/client.js'
import { HashMismatchError, PathRefusedError, TransferRefusedError } from '../../../src/transfer/errors.js'
import { MemoryHashCache } from '../../../src/transfer/hash-cache.js'
import { TRANSFER_PROTOCOL, TransferFrame, TransferRequest, decodeFrame, encodeRequest } from '../../../src/transfer/protocol.js'
import { ManifestScanner } from '../../../src/transfer/scanner.js'
import { TransferServer, type TransferServerInit } from '../../../src/transfer/server.js'
import { FakeNetwork, type FakeMesh } from '../mesh/fakes.js'
import { tempDir } from '../../helpers.js'

const logger = silentLogger()
const clock = new SystemClock()
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { await Promise.all(cleanups.splice(0).map(async c => await c())) })

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
/** Deterministic bytes. */
function bytes (n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24 }
  return b
}

async function dir (): Promise<string> {
  const { dir, cleanup } = await tempDir('riftmesh-xfer-')
  cleanups.push(cleanup)
  return dir
}

async function put (root: string, rel: string, content: Buffer | string): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true })
  await writeFile(join(root, rel), content)
}

interface Setup {
  holderDir: string
  targetDir: string
  scanner: ManifestScanner
  server: TransferServer
  client: TransferClient
  target: FakeMesh
  drops: DropCounters
}

async function setup (files: Record<string, Buffer | string>, serverInit: Partial<TransferServerInit> = {}, clientInit: Partial<TransferClientInit> = {}, hosts?: string[]): Promise<Setup> {
  const holderDir = await dir()
  const targetDir = await dir()
  for (const [rel, content] of Object.entries(files)) await put(holderDir, rel, content)
  const net = new FakeNetwork()
  const holder = net.add('holder')
  const target = net.add('target')
  net.connect('holder', 'target')
  const scanner = new ManifestScanner({ clock, logger, cache: new MemoryHashCache() }, { dataDir: holderDir })
  await scanner.scan()
  const drops = new DropCounters(logger)
  const server = new TransferServer({ mesh: holder, catalog: scanner, clock, logger, drops }, { dataDir: holderDir, chunkBytes: 1024, ...serverInit })
  await server.start()
  cleanups.push(async () => await server.stop())
  const client = new TransferClient({ mesh: target, clock, logger, ...(hosts !== undefined ? { hostsOf: async () => hosts } : {}) }, { dataDir: targetDir, windowBytes: 4096, ...clientInit })
  cleanups.push(async () => client.stop())
  return { holderDir, targetDir, scanner, server, client, target, drops }
}

/** A raw request to the holder; returns the first frame of the answer. */
async function ask (s: Setup, req: Partial<TransferRequest>): Promise<TransferFrame> {
  const stream = await s.target.open('holder', TRANSFER_PROTOCOL, { maxFrameBytes: 1 << 20, signal: AbortSignal.timeout(5_000) })
  await stream.write(encodeRequest(req))
  const f = await stream.read({ signal: AbortSignal.timeout(5_000) })
  stream.abort(new Error('done'))
  if (f === undefined) throw new Error('no answer')
  return decodeFrame(f, 'holder')
}

describe('transfer over a fake mesh', () => {
  it('pulls a file in chunks, verifies it, and reports progress; a second pull moves nothing', async () => {
    const content = bytes(10_000)
    const s = await setup({ 'selfplay/hex8_2p/a.jsonl': content })
    const progress: number[] = []
    const r = await s.client.pull('holder', { path: 'selfplay/hex8_2p/a.jsonl', sha256: sha(content), size: content.length }, { onProgress: p => progress.push(p.bytesDone) })
    expect(r).toMatchObject({ size: 10_000, sha256: sha(content), bytesReceived: 10_000, resumedFrom: 0, alreadyPresent: false, viaFastPath: false })
    expect(await readFile(join(s.targetDir, 'selfplay/hex8_2p/a.jsonl'))).toEqual(content)
    expect(progress.at(-1)).toBe(10_000)
    expect(progress).toHaveLength(10) // 1 KiB chunks
    await expect(stat(join(s.targetDir, 'selfplay/hex8_2p/a.jsonl.partial'))).rejects.toThrow('ENOENT')

    const again = await s.client.pull('holder', { path: 'selfplay/hex8_2p/a.jsonl', sha256: sha(content) })
    expect(again).toMatchObject({ alreadyPresent: true, bytesReceived: 0 })
    expect(s.server.stats.served).toBe(1)
  })

  it('pulls an empty file, and one without an expected hash (the holder\'s is checked)', async () => {
    const s = await setup({ 'games/empty.jsonl': '', 'games/b.jsonl': 'b\n' })
    expect(await s.client.pull('holder', { path: 'games/empty.jsonl', sha256: sha('') })).toMatchObject({ size: 0, bytesReceived: 0 })
    expect(await s.client.pull('holder', { path: 'games/b.jsonl' })).toMatchObject({ size: 2, sha256: sha('b\n'), gameCount: 1 })
  })

  it('resumes from the size of the partial', async () => {
    const content = bytes(9_000, 7)
    const s = await setup({ 'models/m.pt': content })
    await put(s.targetDir, 'models/m.pt.partial', content.subarray(0, 5_000))
    const r = await s.client.pull('holder', { path: 'models/m.pt', sha256: sha(content) })
    expect(r).toMatchObject({ resumedFrom: 5_000, bytesReceived: 4_000 })
    expect(await readFile(join(s.targetDir, 'models/m.pt'))).toEqual(content)
  })

  it('detects a wrong prefix in the partial, deletes it, and succeeds on the next pull', async () => {
    const content = bytes(6_000, 3)
    const s = await setup({ 'models/m.pt': content })
    await put(s.targetDir, 'models/m.pt.partial', bytes(2_000, 99))
    const err = await s.client.pull('holder', { path: 'models/m.pt', sha256: sha(content) }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HashMismatchError)
    expect((err as HashMismatchError).expected).toBe(sha(content))
    await expect(stat(join(s.targetDir, 'models/m.pt.partial'))).rejects.toThrow('ENOENT')
    await expect(stat(join(s.targetDir, 'models/m.pt'))).rejects.toThrow('ENOENT')
    expect(await s.client.pull('holder', { path: 'models/m.pt', sha256: sha(content) })).toMatchObject({ resumedFrom: 0, bytesReceived: 6_000 })
  })

  it('refuses traversal, absolute paths, paths outside the kinds and files not in the manifest, and counts them', async () => {
    const s = await setup({ 'selfplay/a.jsonl': 'a\n' })
    await put(s.holderDir, 'db/secret', 'no')
    for (const path of ['../../etc/passwd', '/etc/passwd', 'selfplay/../db/secret', 'db/secret', 'selfplay/a\0.jsonl']) {
      const f = await ask(s, { op: TransferRequest.Op.GET, path })
      expect([path, f.kind, f.code]).toEqual([path, TransferFrame.Kind.ERROR, TransferFrame.Code.BAD_PATH])
    }
    const missing = await ask(s, { op: TransferRequest.Op.GET, path: 'selfplay/never-listed.jsonl' })
    expect(missing.code).toBe(TransferFrame.Code.NOT_FOUND)
    expect(s.server.stats.refused).toMatchObject({ BAD_PATH: 5, NOT_FOUND: 1 })
    expect(s.drops.perPeer().target?.protocol).toBe(6)
    // the client refuses to write such paths itself
    await expect(s.client.pull('holder', { path: '../../etc/passwd' })).rejects.toThrow(PathRefusedError)
  })

  it('refuses a listed file replaced by a symlink out of the data dir', async () => {
    const outside = await dir()
    await put(outside, 'secret', 'top secret\n')
    const s = await setup({ 'selfplay/a.jsonl': 'a\n' })
    await unlink(join(s.holderDir, 'selfplay/a.jsonl'))
    await symlink(join(outside, 'secret'), join(s.holderDir, 'selfplay/a.jsonl'))
    const f = await ask(s, { op: TransferRequest.Op.GET, path: 'selfplay/a.jsonl' })
    expect(f.code).toBe(TransferFrame.Code.BAD_PATH)
    expect(s.drops.perPeer().target?.protocol).toBe(1)
  })

  it('answers CHANGED (not counted) when the file changed after the scan or the hash asked for differs', async () => {
    const s = await setup({ 'selfplay/a.jsonl': 'a\n' })
    expect((await ask(s, { op: TransferRequest.Op.GET, path: 'selfplay/a.jsonl', expectedSha256: sha('other') })).code).toBe(TransferFrame.Code.CHANGED)
    await writeFile(join(s.holderDir, 'selfplay/a.jsonl'), 'a\nb\n')
    const err = await s.client.pull('holder', { path: 'selfplay/a.jsonl' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TransferRefusedError)
    expect((err as TransferRefusedError).refusal).toBe('CHANGED')
    expect(s.drops.total()).toBe(0)
  })

  it('answers BUSY past the per-peer request rate and counts it', async () => {
    const s = await setup({ 'selfplay/a.jsonl': 'a\n' }, { requestsPerMinute: 2 })
    await s.client.pull('holder', { path: 'selfplay/a.jsonl' })
    await rm(join(s.targetDir, 'selfplay/a.jsonl'))
    await s.client.pull('holder', { path: 'selfplay/a.jsonl' })
    await rm(join(s.targetDir, 'selfplay/a.jsonl'))
    const err = await s.client.pull('holder', { path: 'selfplay/a.jsonl' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TransferRefusedError)
    expect(err).toMatchObject({ refusal: 'BUSY' })
    expect((err as TransferRefusedError).retryAfterMs).toBeGreaterThan(0)
    expect(s.server.stats.refused.BUSY).toBe(1)
    expect(s.drops.perPeer().target?.protocol).toBe(1)
  })

  it('answers BUSY past the per-peer concurrency', async () => {
    const s = await setup({ 'selfplay/a.jsonl': bytes(5_000) }, { maxConcurrentPerPeer: 1 })
    // a GET with no credit holds its stream open
    const held = await s.target.open('holder', TRANSFER_PROTOCOL, { maxFrameBytes: 1 << 20 })
    await held.write(encodeRequest({ op: TransferRequest.Op.GET, path: 'selfplay/a.jsonl', credit: 0 }))
    expect(decodeFrame(await held.read() as Uint8Array, 'holder').kind).toBe(TransferFrame.Kind.HEADER)
    expect((await ask(s, { op: TransferRequest.Op.GET, path: 'selfplay/a.jsonl' })).code).toBe(TransferFrame.Code.BUSY)
    held.abort(new Error('done'))
  })

  it('never sends more than the credit granted', async () => {
    const s = await setup({ 'models/big.pt': bytes(20_000) })
    const stream = await s.target.open('holder', TRANSFER_PROTOCOL, { maxFrameBytes: 1 << 20 })
    await stream.write(encodeRequest({ op: TransferRequest.Op.GET, path: 'models/big.pt', credit: 2_500 }))
    const frames: TransferFrame[] = []
    for (let i = 0; i < 3; i++) frames.push(decodeFrame(await stream.read({ signal: AbortSignal.timeout(5_000) }) as Uint8Array, 'holder'))
    // the HEADER carries the first chunk; the credit ends inside the third
    expect(frames.map(f => [f.kind, f.data.byteLength])).toEqual([['HEADER', 1024], ['CHUNK', 1024], ['CHUNK', 452]])
    await expect(stream.read({ signal: AbortSignal.timeout(200) })).rejects.toThrow() // nothing more without credit
    expect(s.server.stats.bytesServed).toBe(2_500)
    stream.abort(new Error('done'))
  })

  it('lists the full manifest in pages', async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 25; i++) files[`games/hex8_2p/g${String(i).padStart(2, '0')}.jsonl`] = `${i}\n`
    const s = await setup(files)
    const listed = await s.client.list('holder', { pageEntries: 10 })
    expect(listed.map(f => f.path)).toEqual(Object.keys(files).sort())
    expect(listed[0]).toMatchObject({ kind: 'games', config: 'hex8_2p', gameCount: 1, sha256: sha('0\n') })
    expect(s.server.stats.listPages).toBe(3)
  })

  it('runs at most maxConcurrentTransfers pulls at once', async () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 6; i++) files[`models/m${i}.pt`] = bytes(8_000, i + 1)
    const s = await setup(files, {}, { maxConcurrentTransfers: 2 })
    let peak = 0
    await Promise.all(Object.keys(files).map(async path => await s.client.pull('holder', { path }, { onProgress: () => { peak = Math.max(peak, s.client.active) } })))
    expect(peak).toBe(2)
    for (const [path, content] of Object.entries(files)) expect(await readFile(join(s.targetDir, path))).toEqual(content)
  })

  it('spreads a short run of small files over the transfer slots, and fills batches from a long one', async () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 250; i++) files[`games/spread/g${String(i).padStart(3, '0')}.jsonl`] = bytes(200, i + 1)
    const s = await setup(files, {}, { windowBytes: 1 << 20, maxConcurrentTransfers: 4 })
    const names = Object.keys(files)
    const pullAll = async (paths: string[]): Promise<void> => {
      await Promise.all(paths.map(async path => await s.client.pull('holder', { path, sha256: sha(files[path] as Buffer), size: 200 })))
    }
    // a sync job of 50: a share for each of the 4 slots, not one batch of 50
    await pullAll(names.slice(0, 50))
    expect(s.client.stats.batches).toBeGreaterThanOrEqual(4)
    expect(s.client.stats.batches).toBeLessThanOrEqual(7)
    // 200 at once: batches of 64, the default most (the tail spread again)
    const before = s.client.stats.batches
    await pullAll(names.slice(50))
    expect(s.client.stats.batches - before).toBeGreaterThanOrEqual(4)
    expect(s.client.stats.batches - before).toBeLessThanOrEqual(8)
    for (const path of names) expect(await readFile(join(s.targetDir, path))).toEqual(files[path])
  })

  it('runs GET after GET on one stream', async () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 5; i++) files[`games/g${i}.jsonl`] = bytes(3_000, i + 10)
    const s = await setup(files)
    for (const path of Object.keys(files)) await s.client.pull('holder', { path })
    expect(s.client.stats.streamsOpened).toBe(1)
    expect(s.server.stats).toMatchObject({ streams: 1, requests: 5, served: 5 })
  })

  it('moves a session to the side channel when the holder offers one and it is reachable', async () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 4; i++) files[`models/m${i}.pt`] = bytes(50_000, i + 20)
    const s = await setup(files, { fastPath: { host: '127.0.0.1' } }, {}, ['127.0.0.1'])
    const results = []
    for (const path of Object.keys(files)) results.push(await s.client.pull('holder', { path, sha256: sha(files[path] as Buffer) }))
    expect(results.every(r => r.viaFastPath)).toBe(true)
    expect(s.server.stats).toMatchObject({ sideSessions: 1, servedFastPath: 4 })
    for (const [path, content] of Object.entries(files)) expect(Buffer.compare(await readFile(join(s.targetDir, path)), content)).toBe(0)
  })

  it('stays on the stream when the side channel cannot be reached', async () => {
    const s = await setup({ 'models/m.pt': bytes(20_000) }, { fastPath: { host: '127.0.0.1' } }, { fastConnectTimeoutMs: 2_000 }, ['127.0.0.2'])
    const r = await s.client.pull('holder', { path: 'models/m.pt' })
    expect(r).toMatchObject({ viaFastPath: false, size: 20_000 })
    expect(s.server.stats.sideSessions).toBe(0)
  })

  it('retries a holder that answers BUSY after its retry-after', async () => {
    const s = await setup({ 'selfplay/a.jsonl': bytes(5_000) }, { maxConcurrentPerPeer: 1 })
    const held = await s.target.open('holder', TRANSFER_PROTOCOL, { maxFrameBytes: 1 << 20 })
    await held.write(encodeRequest({ op: TransferRequest.Op.GET, path: 'selfplay/a.jsonl', credit: 0 }))
    await held.read()
    const pulling = s.client.pull('holder', { path: 'selfplay/a.jsonl' })
    await expect.poll(() => s.server.stats.refused.BUSY, { timeout: 5_000 }).toBe(1)
    held.abort(new Error('let it go'))
    expect(await pulling).toMatchObject({ size: 5_000 })
    expect(s.client.stats.busyRetries).toBe(1)
  })
})

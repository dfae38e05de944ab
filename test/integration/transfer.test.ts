/**
 * File transfer between three real nodes (libp2p over TCP on 127.0.0.1, pnet + Noise + Yamux,
 * the real replicated cluster state): two holders publish their manifests in the document, the
 * target pulls exactly what it lacks and verifies every hash; then the faults: a cut mid-file
 * resumes from the offset, a corrupted copy is detected and fetched from the other holder,
 * traversal and symlink requests are refused and counted. Small files travel in BATCH requests
 * (written by the disk pool's worker threads), with the same checks per file.
 */
import { createHash } from 'node:crypto'
import { cp, mkdir, open, readFile, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SystemClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import type { Manifest } from '../../src/state/schema.js'
import { TransferClient } from '../../src/transfer/client.js'
import { HashMismatchError, TransferFailedError, TransferRefusedError } from '../../src/transfer/errors.js'
import { hostsFromMultiaddrs } from '../../src/transfer/fast-path.js'
import { MemoryHashCache } from '../../src/transfer/hash-cache.js'
import { toManifestEntry } from '../../src/transfer/manifest.js'
import { TRANSFER_PROTOCOL, TransferFrame, TransferRequest, decodeFrame, encodeRequest } from '../../src/transfer/protocol.js'
import { ManifestScanner, nodeScannerFs, type ScannerFs } from '../../src/transfer/scanner.js'
import { TransferServer } from '../../src/transfer/server.js'
import { startMemoryPeer, testSwarmKey, type MemoryPeer } from '../support/memory-peer.js'
import { tempDir } from '../helpers.js'

const logger = silentLogger()
const clock = new SystemClock()
const MiB = 1024 * 1024
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
function bytes (n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i += 4) { x = (x * 1664525 + 1013904223) >>> 0; b.writeUInt32LE(x, Math.min(i, n - 4)) }
  return b
}

interface Node {
  peer: MemoryPeer
  dir: string
  reads: string[]
  scanner: ManifestScanner
  server: TransferServer
  client: TransferClient
  cleanup: () => Promise<void>
}

const nodes: Node[] = []

async function startNode (swarmKey: Uint8Array, fastPath: boolean, serverInit: { acceptBatch?: boolean, nativeSend?: boolean } = {}): Promise<Node> {
  const peer = await startMemoryPeer({ swarmKey, transport: 'tcp', heartbeats: false })
  const { dir, cleanup } = await tempDir('riftmesh-xfer-it-')
  const reads: string[] = []
  const fs: ScannerFs = { ...nodeScannerFs, createReadStream: (p, o) => { reads.push(p); return nodeScannerFs.createReadStream(p, o) } }
  const scanner = new ManifestScanner({ clock, logger, fs, cache: new MemoryHashCache() }, { dataDir: dir })
  const server = new TransferServer({ mesh: peer.mesh, catalog: scanner, clock, logger, drops: peer.drops }, {
    dataDir: dir, chunkBytes: 256 * 1024, ...serverInit, ...(fastPath ? { fastPath: { host: '127.0.0.1' } } : {})
  })
  await server.start()
  const client = new TransferClient({
    mesh: peer.mesh, clock, logger, hashes: scanner, hostsOf: async p => hostsFromMultiaddrs(await peer.mesh.peerAddrs(p))
  }, { dataDir: dir, windowBytes: 2 * MiB, idleTimeoutMs: 10_000 })
  const node = { peer, dir, reads, scanner, server, client, cleanup }
  nodes.push(node)
  return node
}

async function put (root: string, rel: string, content: Buffer | string): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true })
  await writeFile(join(root, rel), content)
}

/** Scan and publish this node's manifest into the cluster document. */
async function publish (n: Node): Promise<void> {
  const scan = await n.scanner.scan()
  n.peer.state.setManifest(toManifestEntry(scan, { nodeId: n.peer.mesh.selfId, generatedAt: clock.nowMs(), maxEntries: 2_000 }))
}

/** What `target` lacks of `holder`'s manifest (by path and hash), as seen in target's copy of the document. */
function lacking (target: Node, holder: Node): Array<{ path: string, sha256: string, size: number }> {
  const theirs = target.peer.state.manifest(holder.peer.mesh.selfId) as Manifest
  return Object.entries(theirs.files)
    .filter(([path, f]) => target.scanner.lookup(path)?.sha256 !== f.sha256)
    .map(([path, f]) => ({ path, sha256: f.sha256, size: f.size }))
}

let A: Node, B: Node, C: Node
const files = new Map<string, Buffer>()
/** The target has these already. */
const ALREADY_ON_C = ['selfplay/hex8_2p/batch0.jsonl', 'selfplay/hex8_2p/batch1.jsonl']

let swarmKey: Uint8Array
beforeAll(async () => {
  swarmKey = testSwarmKey()
  A = await startNode(swarmKey, true) // holder with the fast path
  B = await startNode(swarmKey, false) // holder, libp2p stream only
  C = await startNode(swarmKey, true) // the training node
  for (let i = 0; i < 12; i++) files.set(`selfplay/hex8_2p/batch${i}.jsonl`, Buffer.from(`${'{"game":1}\n'.repeat(100 + i)}`))
  for (let i = 0; i < 4; i++) files.set(`selfplay/hexagonal_2p/batch${i}.jsonl`, Buffer.from('{"game":2}\n'.repeat(50)))
  files.set('models/hex8_2p/best.pt', bytes(3 * MiB + 123, 1))
  files.set('training/hex8_2p/data.npz', bytes(700_000, 2))
  for (const [rel, content] of files) await put(A.dir, rel, content)
  await cp(A.dir, B.dir, { recursive: true, preserveTimestamps: true })
  for (const rel of ALREADY_ON_C) await put(C.dir, rel, files.get(rel) as Buffer)
  await B.peer.mesh.dial(A.peer.addr, { signal: AbortSignal.timeout(5_000) })
  await C.peer.mesh.dial(A.peer.addr, { signal: AbortSignal.timeout(5_000) })
  await C.peer.mesh.dial(B.peer.addr, { signal: AbortSignal.timeout(5_000) })
  for (const n of [A, B, C]) await publish(n)
}, 60_000)

afterAll(async () => {
  for (const n of nodes.splice(0)) {
    await n.client.close()
    await n.server.stop()
    await n.peer.stop()
    await n.cleanup()
  }
})

describe('transfer between three libp2p nodes', () => {
  it('pulls exactly what the target lacks, verifies every hash, and a second run moves nothing', async () => {
    await expect.poll(() => C.peer.state.manifests().length, { timeout: 10_000 }).toBe(3)
    const want = lacking(C, A)
    expect(want.map(w => w.path).sort()).toEqual([...files.keys()].filter(p => !ALREADY_ON_C.includes(p)).sort())
    const results = await Promise.all(want.map(async w => await C.client.pullFromAny([A.peer.mesh.selfId, B.peer.mesh.selfId], w, { signal: AbortSignal.timeout(30_000) })))
    expect(results.every(r => r.peer === A.peer.mesh.selfId && r.viaFastPath && !r.alreadyPresent)).toBe(true)
    for (const [rel, content] of files) expect(sha(await readFile(join(C.dir, rel)))).toBe(sha(content))

    // the received files' hashes were handed to the scanner: the rescan reads nothing
    C.reads.length = 0
    await publish(C)
    expect(C.reads).toEqual([])
    expect(lacking(C, A)).toEqual([])
    expect(lacking(C, B)).toEqual([])
    await expect.poll(() => Object.keys(A.peer.state.manifest(C.peer.mesh.selfId)?.files ?? {}).length, { timeout: 10_000 }).toBe(files.size)

    // asked again for everything, nothing crosses the network
    const servedBefore = A.server.stats.served + B.server.stats.served
    const again = await Promise.all([...files].map(async ([path, c]) => await C.client.pullFromAny([A.peer.mesh.selfId], { path, sha256: sha(c), size: c.length })))
    expect(again.every(r => r.alreadyPresent && r.bytesReceived === 0)).toBe(true)
    expect(A.server.stats.served + B.server.stats.served).toBe(servedBefore)
  })

  it('resumes from the offset after the connection is cut mid-file (libp2p stream)', async () => {
    const rel = 'models/square8_2p/big.pt'
    const content = bytes(6 * MiB, 3)
    await put(B.dir, rel, content)
    await publish(B)
    let cut = false
    const first = await C.client.pull(B.peer.mesh.selfId, { path: rel, sha256: sha(content) }, {
      onProgress: p => {
        if (!cut && p.bytesDone >= 2 * MiB) {
          cut = true
          void C.peer.mesh.hangUp(B.peer.mesh.selfId)
        }
      }
    }).catch((e: unknown) => e)
    expect(first).toBeInstanceOf(TransferFailedError)
    const partial = (await stat(join(C.dir, `${rel}.partial`))).size
    expect(partial).toBeGreaterThanOrEqual(2 * MiB)
    expect(partial).toBeLessThan(content.length)
    await C.peer.mesh.dial(B.peer.addr, { signal: AbortSignal.timeout(5_000) })
    const second = await C.client.pull(B.peer.mesh.selfId, { path: rel, sha256: sha(content) })
    expect(second).toMatchObject({ resumedFrom: partial, bytesReceived: content.length - partial, viaFastPath: false })
    expect(sha(await readFile(join(C.dir, rel)))).toBe(sha(content))
  })

  it('resumes from the offset after a fast-path transfer is aborted mid-file', async () => {
    const rel = 'models/square8_3p/big.pt'
    const content = bytes(5 * MiB, 4)
    await put(A.dir, rel, content)
    await publish(A)
    const ac = new AbortController()
    const first = await C.client.pull(A.peer.mesh.selfId, { path: rel, sha256: sha(content) }, {
      signal: ac.signal,
      onProgress: p => { if (p.bytesDone >= MiB) ac.abort(new Error('cut')) }
    }).catch((e: unknown) => e)
    expect((first as Error).message).toBe('cut')
    const partial = (await stat(join(C.dir, `${rel}.partial`))).size
    expect(partial).toBeGreaterThanOrEqual(MiB)
    const second = await C.client.pull(A.peer.mesh.selfId, { path: rel, sha256: sha(content) })
    expect(second).toMatchObject({ resumedFrom: partial, viaFastPath: true })
    expect(sha(await readFile(join(C.dir, rel)))).toBe(sha(content))
  })

  it.runIf(process.platform === 'linux')('writes a durable large file around the page cache (O_DIRECT) and resumes it from a block boundary', async () => {
    const rel = 'models/hex8_2p/big.pt'
    const content = bytes(5 * MiB + 777, 5)
    await put(A.dir, rel, content)
    await publish(A)
    // size known, fsync on (the default), the addon built: direct mode
    expect(C.client.directIo).toBeDefined()
    const ac = new AbortController()
    const first = await C.client.pull(A.peer.mesh.selfId, { path: rel, sha256: sha(content), size: content.length }, {
      signal: ac.signal,
      onProgress: p => { if (p.bytesDone >= 2 * MiB) ac.abort(new Error('cut')) }
    }).catch((e: unknown) => e)
    expect((first as Error).message).toBe('cut')
    const partial = (await stat(join(C.dir, `${rel}.partial`))).size
    expect(partial % 4096).toBe(0)
    expect(partial).toBeGreaterThanOrEqual(MiB)
    const directBefore = C.client.stats.directFiles
    const second = await C.client.pull(A.peer.mesh.selfId, { path: rel, sha256: sha(content), size: content.length })
    expect(second).toMatchObject({ resumedFrom: partial, viaFastPath: true, size: content.length })
    expect(C.client.stats.directFiles).toBe(directBefore + 1)
    expect((await readFile(join(C.dir, rel))).equals(content)).toBe(true)
    expect(C.client.directIo?.refused).toBeUndefined()
  })

  it('detects a copy corrupted on the holder\'s disk and fetches the file from the other holder', async () => {
    const rel = 'training/hex8_2p/rot.npz'
    const content = bytes(MiB + 17, 5)
    await put(A.dir, rel, content)
    await put(B.dir, rel, content)
    await publish(A)
    await publish(B)
    // bit rot on A after its scan: same size, same mtime, other bytes
    const full = join(A.dir, rel)
    const before = await stat(full)
    const fh = await open(full, 'r+')
    await fh.write(Buffer.from('CORRUPT'), 0, 7, 500_000)
    await fh.close()
    await utimes(full, before.atimeMs / 1000, before.mtimeMs / 1000)
    const r = await C.client.pullFromAny([A.peer.mesh.selfId, B.peer.mesh.selfId], { path: rel, sha256: sha(content) })
    expect(r.peer).toBe(B.peer.mesh.selfId)
    expect(r.failedHolders.map(f => [f.peer, f.error.name]), String(r.failedHolders[0]?.error)).toEqual([[A.peer.mesh.selfId, 'HashMismatchError']])
    expect((r.failedHolders[0]?.error as HashMismatchError).actual).not.toBe(sha(content))
    expect(sha(await readFile(join(C.dir, rel)))).toBe(sha(content))
  })

  it('pulls small files in batches, many files per request, from a holder with the fast path and from one without', async () => {
    const small = Array.from({ length: 40 }, (_, i) => ({ path: `games/batch/g${i}.jsonl`, content: Buffer.from('{"g":1}\n'.repeat(i + 1)) }))
    for (const f of small) {
      await put(A.dir, f.path, f.content)
      await put(B.dir, f.path, f.content)
    }
    await publish(A)
    await publish(B)
    const before = { c: C.client.stats.batches, native: C.client.stats.nativeBatches, a: A.server.stats.batches, aNative: A.server.stats.nativeBatches, b: B.server.stats.batches }
    const results = await Promise.all(small.map(async (f, i) => await C.client.pull(i % 2 === 0 ? A.peer.mesh.selfId : B.peer.mesh.selfId,
      { path: f.path, sha256: sha(f.content), size: f.content.length }, { signal: AbortSignal.timeout(30_000) })))
    for (const f of small) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
    expect(results.map(r => r.gameCount)).toEqual(small.map((_, i) => i + 1))
    expect(results.every((r, i) => r.viaFastPath === (i % 2 === 0) && !r.alreadyPresent && r.bytesReceived === r.size)).toBe(true)
    const batches = C.client.stats.batches - before.c
    expect(batches).toBeGreaterThanOrEqual(2) // one holder each at least
    expect(batches).toBeLessThanOrEqual(8) // 40 files, not one request each
    expect(A.server.stats.batches - before.a + B.server.stats.batches - before.b).toBe(batches)
    // A's batches (plain side channel) were sent and received natively where the addon is built; B's (libp2p stream) in JS
    if (process.platform === 'linux') {
      expect(C.client.stats.nativeBatches - before.native).toBe(A.server.stats.batches - before.a)
      expect(A.server.stats.nativeBatches - before.aNative).toBe(A.server.stats.batches - before.a)
    }
    // the received files' hashes went to the scanner: nothing is read on the next scan
    C.reads.length = 0
    await publish(C)
    expect(C.reads.filter(r => r.includes('games/batch'))).toEqual([])
  })

  it('in a batch, a file changed on the holder is skipped and a corrupted one fails its hash, each alone; both come from the other holder', async () => {
    const changed = { path: 'games/mixed/changed.jsonl', content: Buffer.from('{"v":1}\n') }
    const rotten = { path: 'games/mixed/rotten.jsonl', content: Buffer.from('{"v":2}\n'.repeat(30)) }
    const fine = { path: 'games/mixed/fine.jsonl', content: Buffer.from('{"v":3}\n') }
    for (const f of [changed, rotten, fine]) {
      await put(A.dir, f.path, f.content)
      await put(B.dir, f.path, f.content)
    }
    await publish(A)
    await publish(B)
    await writeFile(join(A.dir, changed.path), '{"v":1}\n{"v":1.5}\n') // grew after A's scan
    const full = join(A.dir, rotten.path)
    const st = await stat(full)
    await writeFile(full, Buffer.from('{"v":9}\n'.repeat(30))) // same size, same mtime, other bytes
    await utimes(full, st.atimeMs / 1000, st.mtimeMs / 1000)
    const holders = [A.peer.mesh.selfId, B.peer.mesh.selfId]
    const [rc, rr, rf] = await Promise.all([changed, rotten, fine].map(async f => await C.client.pullFromAny(holders, { path: f.path, sha256: sha(f.content), size: f.content.length })))
    expect(rc?.peer).toBe(B.peer.mesh.selfId)
    expect(rc?.failedHolders.map(h => [h.peer, h.error.name, (h.error as TransferRefusedError).refusal])).toEqual([[A.peer.mesh.selfId, 'TransferRefusedError', 'CHANGED']])
    expect(rr?.peer).toBe(B.peer.mesh.selfId)
    expect(rr?.failedHolders.map(h => [h.peer, h.error.name])).toEqual([[A.peer.mesh.selfId, 'HashMismatchError']])
    expect(rf?.peer).toBe(A.peer.mesh.selfId)
    expect(rf?.failedHolders).toEqual([])
    for (const f of [changed, rotten, fine]) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
  })

  it('a session that carried a native batch carries the next batch and GET without a new stream', async () => {
    const round = (r: number): Array<{ path: string, content: Buffer }> => Array.from({ length: 6 }, (_, i) => ({ path: `games/reuse/r${r}-${i}.jsonl`, content: Buffer.from(`{"r":${r}}\n`.repeat(i + 1)) }))
    const big = { path: 'training/reuse/big.npz', content: bytes(1536 * 1024, 9) } // over the batch limit: a GET of its own
    for (const f of [...round(1), ...round(2), big]) await put(A.dir, f.path, f.content)
    await publish(A)
    const pull = async (fs: Array<{ path: string, content: Buffer }>): Promise<void> => {
      await Promise.all(fs.map(async f => await C.client.pull(A.peer.mesh.selfId, { path: f.path, sha256: sha(f.content), size: f.content.length }, { signal: AbortSignal.timeout(30_000) })))
    }
    await pull(round(1))
    const opened = C.client.stats.streamsOpened
    const native = C.client.stats.nativeBatches
    await pull(round(2))
    await pull([big])
    expect(C.client.stats.streamsOpened).toBe(opened)
    if (process.platform === 'linux') expect(C.client.stats.nativeBatches).toBeGreaterThan(native)
    for (const f of [...round(1), ...round(2), big]) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
  })

  it('receives batches in JavaScript with sync.nativeReceive off, with the same checks per file', async () => {
    const js = new TransferClient({ mesh: C.peer.mesh, clock, logger, hashes: C.scanner, hostsOf: async p => hostsFromMultiaddrs(await C.peer.mesh.peerAddrs(p)) },
      { dataDir: C.dir, windowBytes: 2 * MiB, idleTimeoutMs: 10_000, nativeReceive: false })
    try {
      const fine = Array.from({ length: 12 }, (_, i) => ({ path: `games/js/f${i}.jsonl`, content: Buffer.from('{"j":1}\n'.repeat(i + 2)) }))
      const rotten = { path: 'games/js/rotten.jsonl', content: Buffer.from('{"j":2}\n'.repeat(9)) }
      for (const f of [...fine, rotten]) await put(A.dir, f.path, f.content)
      await publish(A)
      const full = join(A.dir, rotten.path)
      const st = await stat(full)
      await writeFile(full, Buffer.from('{"j":7}\n'.repeat(9))) // same size and mtime, other bytes
      await utimes(full, st.atimeMs / 1000, st.mtimeMs / 1000)
      const pulls = [...fine, rotten].map(async f => await js.pull(A.peer.mesh.selfId, { path: f.path, sha256: sha(f.content), size: f.content.length }, { signal: AbortSignal.timeout(30_000) }))
      const results = await Promise.allSettled(pulls)
      expect(results.slice(0, -1).map(r => r.status === 'fulfilled' ? r.value.gameCount : r.reason)).toEqual(fine.map((_, i) => i + 2))
      expect(results.at(-1)).toMatchObject({ status: 'rejected', reason: { name: 'HashMismatchError' } })
      for (const f of fine) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
      expect(js.stats.batches).toBeGreaterThanOrEqual(1)
      expect(js.stats.nativeBatches).toBe(0)
      expect(js.stats.viaFastPath).toBe(fine.length)
    } finally {
      await js.close()
    }
  })

  it('a holder with sync.nativeBatch off sends its batches in JavaScript on the side channel, with the same checks per file', async () => {
    const js = await startNode(swarmKey, true, { nativeSend: false })
    await C.peer.mesh.dial(js.peer.addr, { signal: AbortSignal.timeout(5_000) })
    const fine = Array.from({ length: 10 }, (_, i) => ({ path: `games/jsholder/f${i}.jsonl`, content: Buffer.from('{"h":1}\n'.repeat(i + 1)) }))
    const gone = { path: 'games/jsholder/gone.jsonl', content: Buffer.from('{"h":2}\n') }
    for (const f of [...fine, gone]) await put(js.dir, f.path, f.content)
    await publish(js)
    await unlink(join(js.dir, gone.path)) // deleted after the scan: a SKIP (CHANGED) for that item alone
    const native = C.client.stats.nativeBatches
    const results = await Promise.allSettled([...fine, gone].map(async f => await C.client.pull(js.peer.mesh.selfId, { path: f.path, sha256: sha(f.content), size: f.content.length }, { signal: AbortSignal.timeout(30_000) })))
    expect(results.slice(0, -1).map(r => r.status === 'fulfilled' ? r.value.gameCount : r.reason)).toEqual(fine.map((_, i) => i + 1))
    expect(results.at(-1)).toMatchObject({ status: 'rejected', reason: { name: 'TransferRefusedError', refusal: 'CHANGED' } })
    for (const f of fine) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
    expect(js.server.stats.batches).toBeGreaterThanOrEqual(1)
    expect(js.server.stats.nativeBatches).toBe(0)
    expect(js.server.stats.refused.CHANGED).toBe(1)
    if (process.platform === 'linux') expect(C.client.stats.nativeBatches).toBeGreaterThan(native) // received natively all the same
  })

  it('holds batched pulls to the bandwidth cap too', async () => {
    const capped = new TransferClient({ mesh: C.peer.mesh, clock, logger, hostsOf: async p => hostsFromMultiaddrs(await C.peer.mesh.peerAddrs(p)) },
      { dataDir: C.dir, windowBytes: 2 * MiB, idleTimeoutMs: 10_000, maxBytesPerSecond: 2 * MiB })
    try {
      const fs = Array.from({ length: 40 }, (_, i) => ({ path: `games/capped/c${i}.bin`, content: bytes(100 * 1024, 100 + i) }))
      for (const f of fs) await put(A.dir, f.path, f.content)
      await publish(A)
      const t0 = performance.now()
      await Promise.all(fs.map(async f => await capped.pull(A.peer.mesh.selfId, { path: f.path, sha256: sha(f.content), size: f.content.length }, { signal: AbortSignal.timeout(30_000) })))
      // 4,000 KiB at 2 MiB/s with a burst of a tenth of a second: at least ~1.8 s, however fast the machine
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1_500)
      expect(capped.stats.batches).toBeGreaterThanOrEqual(1)
      for (const f of fs) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
    } finally {
      await capped.close()
    }
  })

  it('pulls from a holder that does not take BATCH one GET per file, and keeps doing so', async () => {
    const old = await startNode(swarmKey, true, { acceptBatch: false })
    await C.peer.mesh.dial(old.peer.addr, { signal: AbortSignal.timeout(5_000) })
    const small = Array.from({ length: 12 }, (_, i) => ({ path: `games/old/g${i}.jsonl`, content: Buffer.from(`{"old":${i}}\n`) }))
    for (const f of small) await put(old.dir, f.path, f.content)
    await publish(old)
    const pull = async (fs: typeof small): Promise<void> => {
      const rs = await Promise.all(fs.map(async f => await C.client.pull(old.peer.mesh.selfId, { path: f.path, sha256: sha(f.content), size: f.content.length })))
      expect(rs.every(r => r.viaFastPath && r.size > 0)).toBe(true)
    }
    const bytesBefore = C.client.stats.bytesReceived
    await pull(small.slice(0, 6))
    expect(C.client.stats.bytesReceived - bytesBefore).toBe(small.slice(0, 6).reduce((n, f) => n + f.content.length, 0)) // each file counted once
    expect(old.server.stats.batches).toBe(0)
    expect(old.server.stats.refused.BAD_REQUEST).toBeGreaterThanOrEqual(1) // the batch that was tried
    expect(old.server.stats.served).toBe(6)
    const refusedBefore = old.server.stats.refused.BAD_REQUEST
    await pull(small.slice(6)) // no second try: GETs straight away
    expect(old.server.stats.refused.BAD_REQUEST).toBe(refusedBefore)
    expect(old.server.stats.served).toBe(12)
    for (const f of small) expect(sha(await readFile(join(C.dir, f.path)))).toBe(sha(f.content))
  })

  it('answers refused BATCH items with SKIP, serves the rest, and the session goes on; refusals are counted', async () => {
    const { dir: outside, cleanup } = await tempDir('riftmesh-outside-')
    try {
      await writeFile(join(outside, 'secret'), 'secret\n')
      await put(A.dir, 'selfplay/b-swapped.jsonl', 'ok\n')
      await put(A.dir, 'selfplay/b-good.jsonl', 'good\n')
      await publish(A)
      await unlink(join(A.dir, 'selfplay/b-swapped.jsonl'))
      await symlink(join(outside, 'secret'), join(A.dir, 'selfplay/b-swapped.jsonl'))
      const before = A.peer.drops.perPeer()[C.peer.mesh.selfId]?.protocol ?? 0
      const items = ['../../etc/passwd', '/etc/passwd', 'selfplay/b-unlisted.jsonl', 'selfplay/b-swapped.jsonl', 'selfplay/b-good.jsonl']
      const stream = await C.peer.mesh.open(A.peer.mesh.selfId, TRANSFER_PROTOCOL, { maxFrameBytes: MiB, signal: AbortSignal.timeout(5_000) })
      const ask = async (paths: string[]): Promise<Array<string | number>> => {
        await stream.write(encodeRequest({ op: TransferRequest.Op.BATCH, credit: MiB, items: paths.map(path => ({ path, expectedSha256: '', size: path === 'selfplay/b-good.jsonl' ? 5n : 3n })) }))
        const out: Array<string | number> = []
        for (const _ of paths) {
          const f = decodeFrame(await stream.read({ signal: AbortSignal.timeout(5_000) }) as Uint8Array, 'A')
          out.push(f.kind === TransferFrame.Kind.SKIP ? f.code : Buffer.from(f.data).toString())
        }
        return out
      }
      expect(await ask(items)).toEqual(['BAD_PATH', 'BAD_PATH', 'NOT_FOUND', 'BAD_PATH', 'good\n'])
      expect(await ask(['selfplay/b-good.jsonl'])).toEqual(['good\n']) // the same stream, a second batch
      await stream.close()
      expect((A.peer.drops.perPeer()[C.peer.mesh.selfId]?.protocol ?? 0) - before).toBe(4)
    } finally {
      await cleanup()
    }
  })

  it('refuses ../../etc/passwd, an absolute path and symlinks out of the data dir, and counts them', async () => {
    const { dir: outside, cleanup } = await tempDir('riftmesh-outside-')
    try {
      await writeFile(join(outside, 'secret'), 'secret\n')
      await symlink(join(outside, 'secret'), join(A.dir, 'selfplay', 'leak.jsonl')) // never listed
      await put(A.dir, 'selfplay/swapped.jsonl', 'ok\n')
      await publish(A)
      await unlink(join(A.dir, 'selfplay/swapped.jsonl')) // listed, then swapped for a symlink out
      await symlink(join(outside, 'secret'), join(A.dir, 'selfplay/swapped.jsonl'))
      const before = A.peer.drops.perPeer()[C.peer.mesh.selfId]?.protocol ?? 0
      const answers: Array<[string, string]> = []
      for (const path of ['../../etc/passwd', '/etc/passwd', 'selfplay/../../../etc/passwd', 'selfplay/leak.jsonl', 'selfplay/swapped.jsonl']) {
        const stream = await C.peer.mesh.open(A.peer.mesh.selfId, TRANSFER_PROTOCOL, { maxFrameBytes: MiB, signal: AbortSignal.timeout(5_000) })
        await stream.write(encodeRequest({ op: TransferRequest.Op.GET, path, credit: MiB }))
        const f = decodeFrame(await stream.read({ signal: AbortSignal.timeout(5_000) }) as Uint8Array, 'A')
        await stream.close()
        answers.push([path, f.kind === TransferFrame.Kind.ERROR ? f.code : f.kind])
      }
      expect(answers).toEqual([
        ['../../etc/passwd', 'BAD_PATH'],
        ['/etc/passwd', 'BAD_PATH'],
        ['selfplay/../../../etc/passwd', 'BAD_PATH'],
        ['selfplay/leak.jsonl', 'NOT_FOUND'],
        ['selfplay/swapped.jsonl', 'BAD_PATH']
      ])
      expect((A.peer.drops.perPeer()[C.peer.mesh.selfId]?.protocol ?? 0) - before).toBe(5)
    } finally {
      await cleanup()
    }
  })
})

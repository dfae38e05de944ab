/**
 * The holder's request frame limit over real libp2p (memory transport, pnet + Noise + Yamux): the
 * largest BATCH the protocol allows — 256 items with paths of 1,024 characters — is read and
 * answered item by item, and a frame past the limit resets the stream and is counted `oversized`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SystemClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import type { FrameStream } from '../../src/mesh/mesh.js'
import { MAX_PATH_CHARS } from '../../src/transfer/paths.js'
import {
  MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_REQUEST_FRAME_BYTES, TRANSFER_PROTOCOL, TransferFrame, TransferRequest, decodeFrame, encodeRequest
} from '../../src/transfer/protocol.js'
import { MemoryHashCache } from '../../src/transfer/hash-cache.js'
import { ManifestScanner } from '../../src/transfer/scanner.js'
import { TransferServer } from '../../src/transfer/server.js'
import { startMemoryPeer, testSwarmKey, type MemoryPeer } from '../support/memory-peer.js'
import { tempDir } from '../helpers.js'

const clock = new SystemClock()
const logger = silentLogger()
let holder: MemoryPeer | undefined
let target: MemoryPeer | undefined
let server: TransferServer | undefined
let cleanup: (() => Promise<void>) | undefined

beforeAll(async () => {
  const swarmKey = testSwarmKey()
  holder = await startMemoryPeer({ swarmKey, heartbeats: false })
  target = await startMemoryPeer({ swarmKey, heartbeats: false })
  const tmp = await tempDir('riftmesh-xfer-limits-')
  cleanup = tmp.cleanup
  const scanner = new ManifestScanner({ clock, logger, cache: new MemoryHashCache() }, { dataDir: tmp.dir })
  await scanner.scan()
  server = new TransferServer({ mesh: holder.mesh, catalog: scanner, clock, logger, drops: holder.drops }, { dataDir: tmp.dir })
  await server.start()
  await target.mesh.dial(holder.addr, { signal: AbortSignal.timeout(5_000) })
}, 30_000)

afterAll(async () => {
  await server?.stop()
  await target?.stop()
  await holder?.stop()
  await cleanup?.()
})

const h = (): MemoryPeer => holder as MemoryPeer

async function openSession (): Promise<FrameStream> {
  return await (target as MemoryPeer).mesh.open(h().mesh.selfId, TRANSFER_PROTOCOL, { maxFrameBytes: 4 * 1024 * 1024, signal: AbortSignal.timeout(5_000) })
}

/** A BATCH of the most items, each path `MAX_PATH_CHARS` long made of `char`, each of `size` bytes. */
function largestBatch (char: string, size: bigint): Uint8Array {
  const items = Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => {
    const head = `games/${i}/`
    return { path: head + char.repeat(MAX_PATH_CHARS - head.length), expectedSha256: 'f'.repeat(64), size }
  })
  return encodeRequest({ op: TransferRequest.Op.BATCH, items, credit: MAX_BATCH_BYTES })
}

describe('the holder\'s request frame limit', () => {
  it('reads the largest BATCH the protocol allows and answers every item (here: not listed)', async () => {
    // no encoding of the largest items can pass the limit, whatever their sizes claim
    expect(largestBatch('€', 2n ** 64n - 1n).byteLength).toBeLessThanOrEqual(MAX_REQUEST_FRAME_BYTES)
    for (const char of ['a', '€']) { // 1 and 3 UTF-8 bytes per character
      // sizes that add up to the most a BATCH may ask for
      const request = largestBatch(char, BigInt(MAX_BATCH_BYTES / MAX_BATCH_ITEMS))
      expect(request.byteLength).toBeGreaterThan(256 * 1024) // more than the holder used to read
      const s = await openSession()
      await s.write(request)
      const codes: string[] = []
      for (let i = 0; i < MAX_BATCH_ITEMS; i++) {
        const bytes = await s.read({ signal: AbortSignal.timeout(10_000) })
        if (bytes === undefined) throw new Error(`the holder closed after ${i} answers`)
        const f = decodeFrame(bytes, 'holder')
        expect(f.kind).toBe(TransferFrame.Kind.SKIP)
        codes.push(String(f.code))
      }
      expect(new Set(codes)).toEqual(new Set([String(TransferFrame.Code.NOT_FOUND)]))
      await s.close()
      expect(await s.read({ signal: AbortSignal.timeout(10_000) })).toBeUndefined() // the holder closes in turn
    }
  })

  it('resets the stream on a frame past the limit and counts it oversized', async () => {
    const before = h().drops.perPeer()[(target as MemoryPeer).mesh.selfId]?.oversized ?? 0
    const s = await openSession()
    await s.write(encodeRequest({ path: `games/${'a'.repeat(MAX_REQUEST_FRAME_BYTES)}` }))
    await expect(s.read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(h().drops.perPeer()[(target as MemoryPeer).mesh.selfId]?.oversized).toBe(before + 1)
  })
})

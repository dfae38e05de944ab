/**
 * The real Libp2pMesh on the in-process memory transport: what PROTOCOLS.md says about framing,
 * signed gossip and the swarm key, checked against libp2p itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshMessage } from '../../../src/mesh/mesh.js'
import { startMemoryPeer, testSwarmKey, TEST_CLUSTER, type MemoryPeer, type MemoryPeerOptions } from '../../support/memory-peer.js'
import { docTopic } from '../../../src/node/node.js'

const peers: MemoryPeer[] = []
afterEach(async () => { await Promise.all(peers.splice(0).map(async p => await p.stop())) })

async function peer (opts: MemoryPeerOptions): Promise<MemoryPeer> {
  const p = await startMemoryPeer({ heartbeats: false, ...opts })
  peers.push(p)
  return p
}

async function connectedPair (opts: MemoryPeerOptions = {}): Promise<[MemoryPeer, MemoryPeer]> {
  const swarmKey = testSwarmKey()
  const a = await peer({ swarmKey, ...opts })
  const b = await peer({ swarmKey, ...opts })
  await b.mesh.dial(a.addr, { signal: AbortSignal.timeout(5_000) })
  return [a, b]
}

const PROBE = '/riftmesh-test/probe/1.0.0'
const MiB = 1024 * 1024

/** A handler on `p` that records each frame's size, end-of-stream, or the error that ended the read. */
async function recordFrames (p: MemoryPeer, maxFrameBytes: number): Promise<string[]> {
  const log: string[] = []
  await p.mesh.handle(PROBE, async stream => {
    try {
      for (let f = await stream.read(); f !== undefined; f = await stream.read()) log.push(`frame ${f.byteLength}`)
      log.push('end')
    } catch (err) {
      log.push(`error ${(err as Error).name}`)
    }
  }, { maxFrameBytes })
  return log
}

describe('Libp2pMesh streams (length-prefixed frames)', () => {
  it('carries frames in order and reports end-of-stream as undefined', async () => {
    const [a, b] = await connectedPair()
    const log = await recordFrames(a, 1_024)
    const s = await b.mesh.open(a.mesh.selfId, PROBE, { maxFrameBytes: 1_024, signal: AbortSignal.timeout(5_000) })
    await s.write(new Uint8Array(3))
    await s.write(new Uint8Array(0))
    await s.write(new Uint8Array(1_024))
    await s.close()
    await expect.poll(() => log.at(-1), { timeout: 5_000 }).toBe('end')
    expect(log).toEqual(['frame 3', 'frame 0', 'frame 1024', 'end'])
  })

  it('makes read throw for a frame above maxFrameBytes', async () => {
    const [a, b] = await connectedPair()
    const log = await recordFrames(a, 1_024)
    const s = await b.mesh.open(a.mesh.selfId, PROBE, { maxFrameBytes: 1_024, signal: AbortSignal.timeout(5_000) })
    await s.write(new Uint8Array(1_025)).catch(() => undefined) // the reset may race the write
    await expect.poll(() => log.length, { timeout: 5_000 }).toBe(1)
    expect(log[0]).toBe('error InvalidDataLengthError')
  })

  it('carries a 3 MiB frame', async () => {
    const [a, b] = await connectedPair()
    const log = await recordFrames(a, 64 * MiB)
    const s = await b.mesh.open(a.mesh.selfId, PROBE, { maxFrameBytes: 64 * MiB, signal: AbortSignal.timeout(5_000) })
    await s.write(new Uint8Array(3 * MiB))
    await s.close()
    await expect.poll(() => log.length, { timeout: 10_000 }).toBe(2)
    expect(log).toEqual([`frame ${3 * MiB}`, 'end'])
  })

  it('carries a 5 MiB frame when maxFrameBytes is 64 MiB', async () => {
    const [a, b] = await connectedPair()
    const log = await recordFrames(a, 64 * MiB)
    const s = await b.mesh.open(a.mesh.selfId, PROBE, { maxFrameBytes: 64 * MiB, signal: AbortSignal.timeout(5_000) })
    await s.write(new Uint8Array(5 * MiB)).catch(() => undefined)
    await s.close().catch(() => undefined)
    await expect.poll(() => log.length, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(log[0]).toBe(`frame ${5 * MiB}`)
  })
})

describe('Libp2pMesh gossip and transport security', () => {
  it('gives a gossip message its verified signer as from', async () => {
    const [a, b] = await connectedPair()
    const got: MeshMessage[] = []
    b.mesh.subscribe('riftmesh-test/t/1', m => got.push(m))
    await expect.poll(() => a.mesh.libp2p.services.pubsub.getSubscribers('riftmesh-test/t/1').map(String), { timeout: 5_000 }).toContain(b.mesh.selfId)
    await a.mesh.publish('riftmesh-test/t/1', new Uint8Array([42]))
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(1)
    expect(got[0]).toMatchObject({ topic: 'riftmesh-test/t/1', from: a.mesh.selfId, data: new Uint8Array([42]) })
  })

  it('cannot connect two nodes with different swarm keys', async () => {
    const a = await peer({ swarmKey: testSwarmKey() })
    const b = await peer({ swarmKey: testSwarmKey() })
    // the pnet layer garbles the Noise handshake: the dial never completes and is cut off by its deadline
    await expect(b.mesh.dial(a.addr, { signal: AbortSignal.timeout(1_500) })).rejects.toThrow(/cannot dial/)
    expect(a.mesh.connectedPeers()).toEqual([])
  })

  it('delivers a too-large update by sync after the notice (replicator over real libp2p)', async () => {
    const [a, b] = await connectedPair({ replicator: { maxGossipMessageBytes: 2_048, minSyncGapMs: 1, antiEntropyIntervalMs: 600_000 } })
    // the sync each side starts on connect
    await expect.poll(() => a.replicator.counters.syncsServed + b.replicator.counters.syncsServed, { timeout: 5_000 }).toBe(2)
    await expect.poll(() => a.mesh.libp2p.services.pubsub.getSubscribers(docTopic(TEST_CLUSTER)).map(String), { timeout: 5_000 }).toContain(b.mesh.selfId)
    const started = b.replicator.counters.syncsStarted
    const big = Array.from({ length: 5 }, (_, i) => String(i).repeat(1_000)) // one write of ~5 KB
    a.state.setSetting('big', big)
    await expect.poll(() => b.state.setting('big'), { timeout: 10_000 }).toEqual(big)
    expect(a.replicator.counters.tooLargeNotices).toBe(1)
    expect(b.drops.total()).toBe(0)
    expect(b.replicator.counters.syncsStarted).toBeGreaterThan(started)
    expect(a.drops.total() + b.drops.total()).toBe(0)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { DropCounters, type DropReason } from '../../../src/mesh/drops.js'
import { DocUpdate } from '../../../src/mesh/gen/riftmesh.js'
import { DOC_MESSAGE_VERSION, Replicator, type ReplicatorInit, type UpdateSource } from '../../../src/mesh/replicator.js'
import { SYNC_PROTOCOL } from '../../../src/mesh/sync-protocol.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { makeState, nodeId } from '../../helpers.js'
import { FakeNetwork, type FakeMesh } from './fakes.js'

const TOPIC = 'riftmesh/test/doc/1'

interface Node { id: string, mesh: FakeMesh, state: ClusterState, drops: DropCounters, r: Replicator }

const running: Replicator[] = []
const states: ClusterState[] = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
  for (const s of states.splice(0)) s.destroy()
})

function node (net: FakeNetwork, clock: VirtualClock, n: number, init: Partial<ReplicatorInit> = {}): Node {
  const id = nodeId(n)
  const mesh = net.add(id)
  const state = makeState(n, n, {}, clock)
  states.push(state)
  const drops = new DropCounters(silentLogger())
  // every write counts as durable at once (DocStore.onPersisted in a node)
  const updates: UpdateSource = { onPersisted: l => state.onUpdate(l) }
  const r = new Replicator({ mesh, state, updates, clock, rng: new SeededRng(n), logger: silentLogger(), drops }, { topic: TOPIC, ...init })
  return { id, mesh, state, drops, r }
}

async function start (...nodes: Node[]): Promise<void> {
  for (const x of nodes) {
    await x.r.start()
    running.push(x.r)
  }
}

const docMessages = (net: FakeNetwork): DocUpdate[] => net.published.filter(m => m.topic === TOPIC).map(m => DocUpdate.decode(m.data))

/** Two nodes linked before their replicators start (so no sync on connect). */
async function pairOfNodes (init: Partial<ReplicatorInit> = {}): Promise<{ net: FakeNetwork, clock: VirtualClock, a: Node, b: Node }> {
  const net = new FakeNetwork()
  const clock = new VirtualClock(1_000_000)
  const a = node(net, clock, 1, init)
  const b = node(net, clock, 2, init)
  net.connect(a.id, b.id)
  await start(a, b)
  return { net, clock, a, b }
}

describe('Replicator: publishing local writes', () => {
  it('publishes an isolated write at once and coalesces the writes that follow within the window', async () => {
    const { net, clock, a, b } = await pairOfNodes({ coalesceWindowMs: 30 })
    a.state.setSetting('x', 1)
    await expect.poll(() => a.r.counters.published, { timeout: 1_000 }).toBe(1) // leading edge: no wait
    clock.advance(10)
    a.state.setSetting('y', 2)
    clock.advance(10)
    a.state.setSetting('z', 3)
    clock.advance(29)
    expect(a.r.counters.published).toBe(1) // each buffered write pushed the flush 30 ms further
    clock.advance(1)
    await expect.poll(() => a.r.counters.published, { timeout: 1_000 }).toBe(2)
    const msgs = docMessages(net)
    expect(msgs[1]).toMatchObject({ version: DOC_MESSAGE_VERSION, doc: 'control', tooLarge: false })
    expect(a.r.counters.publishedBytes).toBe(net.published.reduce((n, m) => n + m.data.byteLength, 0))
    await expect.poll(() => b.state.setting('z'), { timeout: 1_000 }).toBe(3)
    expect([b.state.setting('x'), b.state.setting('y')]).toEqual([1, 2])
    expect(b.r.counters).toMatchObject({ received: 2, applied: 2, published: 0 }) // a remote update is not re-published
  })

  it('publishes at most maxCoalesceDelayMs after the first buffered write, even under a steady stream of writes', async () => {
    const { net, clock, a } = await pairOfNodes({ coalesceWindowMs: 30, maxCoalesceDelayMs: 100 })
    const publishedAt: number[] = []
    for (let t = 0; t < 200; t += 20) {
      const before = net.published.length
      a.state.setSetting(`k${t}`, t)
      clock.advance(20)
      if (net.published.length > before) publishedAt.push(clock.nowMs() - 1_000_000)
    }
    // the first write went out at once; the next (at 20 ms) was buffered and the stream of
    // writes kept pushing the flush, until 100 ms after it
    expect(publishedAt.slice(0, 2)).toEqual([20, 120])
  })


  it('sends one message per document written in the window', async () => {
    const { net, clock, a, b } = await pairOfNodes()
    a.state.setSetting('x', 1)
    const { jobId } = a.state.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: a.id, dispatchEpoch: 1, attempt: 0, previousJobId: null })
    clock.advance(30)
    await expect.poll(() => a.r.counters.published, { timeout: 1_000 }).toBe(2)
    expect(docMessages(net).map(m => m.doc).sort()).toEqual(['control', `jobs/${jobId.slice(0, jobId.lastIndexOf('.'))}`])
    await expect.poll(() => b.state.job(jobId)?.jobId, { timeout: 1_000 }).toBe(jobId)
  })

  it('publishes what is buffered when stopped', async () => {
    const { net, a } = await pairOfNodes()
    a.state.setSetting('x', 1)
    await a.r.stop()
    expect(docMessages(net)).toHaveLength(1)
  })

  it('counts a failed publish and leaves the update to anti-entropy', async () => {
    const { clock, a, b } = await pairOfNodes({ antiEntropyIntervalMs: 5_000 })
    a.mesh.publishError = new Error('no peers')
    a.state.setSetting('x', 1)
    clock.advance(30)
    await expect.poll(() => a.r.counters.publishFailures, { timeout: 1_000 }).toBe(1)
    expect(a.r.counters.published).toBe(0)
    clock.advance(6_000) // ≥ 1.2 × antiEntropyIntervalMs: every node has run one periodic sync
    await expect.poll(() => b.state.setting('x'), { timeout: 1_000 }).toBe(1)
  })
})

describe('Replicator: updates too large for gossip', () => {
  /** One transaction, so one update too large for gossip. */
  const fill = (s: ClusterState, n: number): void => {
    s.docs.get('control')!.transact(() => {
      for (let i = 0; i < n; i++) s.setSetting(`big${i}`, String(i).repeat(1_000).slice(0, 1_000))
    })
  }

  it('publishes a tooLarge notice instead, and the receiver fetches the data by sync', async () => {
    const { net, clock, a, b } = await pairOfNodes({ maxGossipMessageBytes: 2_048 })
    fill(a.state, 5)
    clock.advance(30)
    await expect.poll(() => a.r.counters.tooLargeNotices, { timeout: 1_000 }).toBe(1)
    const [notice] = docMessages(net)
    expect(notice).toMatchObject({ version: DOC_MESSAGE_VERSION, doc: 'control', tooLarge: true })
    expect(notice?.update.byteLength).toBe(0)
    expect(net.published[0]!.data.byteLength).toBeLessThan(64)
    await expect.poll(() => b.state.setting('big4'), { timeout: 1_000 }).toBe('4'.repeat(1_000))
    expect(b.r.counters.syncsStarted).toBe(1)
    await expect.poll(() => a.r.counters.syncsServed, { timeout: 1_000 }).toBe(1)
    expect(JSON.stringify(b.state.toJSON())).toBe(JSON.stringify(a.state.toJSON()))
    expect(a.drops.total() + b.drops.total()).toBe(0)
  })

  it('ignores a notice that arrives within minSyncGapMs of the last sync with that peer; the periodic sync brings the data', async () => {
    const { clock, a, b } = await pairOfNodes({ maxGossipMessageBytes: 2_048, minSyncGapMs: 1_000, antiEntropyIntervalMs: 5_000 })
    await b.r.syncWith(a.id)
    fill(a.state, 5)
    clock.advance(30)
    await expect.poll(() => b.mesh.received, { timeout: 1_000 }).toBe(1)
    expect(b.r.counters.syncsStarted).toBe(1)
    expect(b.state.setting('big0')).toBeUndefined()
    clock.advance(6_000)
    await expect.poll(() => b.state.setting('big0'), { timeout: 1_000 }).toBe('0'.repeat(1_000))
  })

  it('does nothing with a notice when anti-entropy is off', async () => {
    const { clock, a, b } = await pairOfNodes({ maxGossipMessageBytes: 2_048, antiEntropy: false })
    fill(a.state, 5)
    clock.advance(30)
    await expect.poll(() => b.r.counters.received, { timeout: 1_000 }).toBe(1)
    expect(b.r.counters.syncsStarted).toBe(0)
    expect(b.state.setting('big0')).toBeUndefined()
  })
})

describe('Replicator: validating gossip', () => {
  const good = (): Uint8Array => {
    const d = new Y.Doc()
    d.getMap('m').set('k', 1)
    return Y.encodeStateAsUpdateV2(d)
  }
  const cases: Array<{ name: string, data: () => Uint8Array, reason: DropReason }> = [
    { name: 'larger than maxGossipMessageBytes', data: () => DocUpdate.encode({ version: 1, doc: 'control', update: new Uint8Array(5_000), tooLarge: false }), reason: 'oversized' },
    { name: 'bytes that do not decode', data: () => new Uint8Array([0x1a, 0x40]), reason: 'malformed' },
    { name: 'an unknown version', data: () => DocUpdate.encode({ version: 2, doc: 'control', update: good() as Uint8Array<ArrayBuffer>, tooLarge: false }), reason: 'version' },
    { name: 'an invalid document name', data: () => DocUpdate.encode({ version: 1, doc: '../etc', update: good() as Uint8Array<ArrayBuffer>, tooLarge: false }), reason: 'bad-doc-name' },
    { name: 'an update that does not decode', data: () => DocUpdate.encode({ version: 1, doc: 'control', update: new Uint8Array([1, 2, 3]), tooLarge: false }), reason: 'invalid-update' }
  ]
  for (const c of cases) {
    it(`drops a message with ${c.name}, counted as ${c.reason} against the signer`, async () => {
      const { net, b } = await pairOfNodes({ maxGossipMessageBytes: 4_096 })
      const before = JSON.stringify(b.state.toJSON())
      net.deliver(b.id, { topic: TOPIC, from: nodeId(7), data: c.data() })
      await expect.poll(() => b.r.counters.received, { timeout: 1_000 }).toBe(1)
      expect(b.r.counters.applied).toBe(0)
      expect(b.drops.perPeer()).toEqual({ [nodeId(7)]: { [c.reason]: 1 } })
      expect(JSON.stringify(b.state.toJSON())).toBe(before)
    })
  }

  it('drops an update for a retired document without counting it', async () => {
    const { net, b } = await pairOfNodes()
    const bucket = 'jobs/e1-abc-x1'
    b.state.docs.markRetired([bucket])
    net.deliver(b.id, { topic: TOPIC, from: nodeId(7), data: DocUpdate.encode({ version: 1, doc: bucket, update: good() as Uint8Array<ArrayBuffer>, tooLarge: false }) })
    await expect.poll(() => b.r.counters.received, { timeout: 1_000 }).toBe(1)
    expect(b.r.counters.applied).toBe(0)
    expect(b.drops.total()).toBe(0)
    expect(b.state.docs.names()).not.toContain(bucket)
  })
})

describe('Replicator: anti-entropy', () => {
  it('syncs with a newly connected peer (both sides start one) so a node that missed gossip catches up', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1)
    const b = node(net, clock, 2)
    await start(a, b)
    a.state.setSetting('before-connect', true)
    clock.advance(30) // published to nobody
    await expect.poll(() => a.r.counters.published, { timeout: 1_000 }).toBe(1)
    net.connect(a.id, b.id)
    await expect.poll(() => b.state.setting('before-connect'), { timeout: 1_000 }).toBe(true)
    expect(a.r.counters.syncsStarted).toBe(1)
    expect(b.r.counters.syncsStarted).toBe(1)
    await expect.poll(() => a.r.counters.syncsServed + b.r.counters.syncsServed, { timeout: 1_000 }).toBe(2)
  })

  it('carries a delete that gossip lost (a delete does not move the state vector)', async () => {
    const { net, clock, a, b } = await pairOfNodes({ antiEntropyIntervalMs: 5_000 })
    a.state.setLease({ v: 1, nodeId: a.id, epoch: 1, round: 0, leaseMs: 10_000, voters: [a.id] })
    clock.advance(30)
    await expect.poll(() => b.state.leases().length, { timeout: 1_000 }).toBe(1)
    net.disconnect(a.id, b.id)
    a.state.clearLease()
    clock.advance(30)
    await expect.poll(() => a.r.counters.published, { timeout: 1_000 }).toBe(2)
    net.connect(a.id, b.id)
    await expect.poll(() => b.state.leases().length, { timeout: 1_000 }).toBe(0)
  })

  it('does not register the sync protocol or sync on connect when anti-entropy is off', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1, { antiEntropy: false })
    const b = node(net, clock, 2)
    await start(a, b)
    net.connect(a.id, b.id)
    await expect(b.mesh.open(a.id, SYNC_PROTOCOL, { maxFrameBytes: 1_024 })).rejects.toThrow(/not supported/)
    expect(a.r.counters.syncsStarted).toBe(0)
    await expect.poll(() => b.r.counters.syncsFailed, { timeout: 1_000 }).toBe(1) // b's sync on connect found no handler
  })

  it('counts a failed sync and rejects syncWith', async () => {
    const { b } = await pairOfNodes()
    await expect(b.r.syncWith(nodeId(9))).rejects.toThrow(/not connected/)
    expect(b.r.counters).toMatchObject({ syncsStarted: 1, syncsFailed: 1 })
  })

  it('does not sync documents with a connected peer of another cluster', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1, { topic: 'riftmesh/red/doc/1' })
    const b = node(net, clock, 2, { topic: 'riftmesh/blue/doc/1' })
    await start(a, b)
    a.state.setSetting('red-only', true)
    net.connect(a.id, b.id)
    await expect.poll(() => a.r.counters.syncsFailed + b.r.counters.syncsFailed, { timeout: 1_000 }).toBe(2)
    expect(b.state.setting('red-only')).toBeUndefined()
    expect(a.r.counters.syncsServed + b.r.counters.syncsServed).toBe(0)
  })

  it('refuses a bad setting at construction', () => {
    const net = new FakeNetwork()
    expect(() => node(net, new VirtualClock(), 1, { maxGossipMessageBytes: 0 })).toThrow(/maxGossipMessageBytes/)
    expect(() => node(net, new VirtualClock(), 2, { coalesceWindowMs: -1 })).toThrow(/coalesceWindowMs/)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { DropCounters, type DropReason } from '../../../src/mesh/drops.js'
import { Heartbeat } from '../../../src/mesh/gen/riftmesh.js'
import { HEARTBEAT_VERSION, HeartbeatService, MAX_HEARTBEAT_BYTES, isNewerHeartbeat, stateDigest, trustRootDigest, type HeartbeatOrder, type HeartbeatServiceInit, type LoadSample } from '../../../src/mesh/heartbeat.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { REMOTE_ORIGIN } from '../../../src/state/docs.js'
import { makeState, nodeId } from '../../helpers.js'
import { FakeNetwork, type FakeMesh } from './fakes.js'

const TOPIC = 'riftmesh/test/hb/1'
const LOAD: LoadSample = { cpuPercent: 12.5, memoryPercent: 40, diskPercent: 50, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 2, trainingJobs: 1 }
const INIT: HeartbeatServiceInit = {
  topic: TOPIC,
  heartbeatIntervalMs: 1_000,
  suspectAfterMs: 3_000,
  deadAfterMs: 5_000,
  cpuHighPercent: 80,
  cpuCriticalPercent: 95,
  stretchHigh: 1.2,
  stretchCritical: 1.4
}

interface Node { id: string, mesh: FakeMesh, state: ClusterState, drops: DropCounters, hb: HeartbeatService }

const services: HeartbeatService[] = []
const states: ClusterState[] = []
afterEach(() => {
  for (const s of services.splice(0)) s.stop()
  for (const s of states.splice(0)) s.destroy()
})

function node (net: FakeNetwork, clock: VirtualClock, n: number, init: Partial<HeartbeatServiceInit> = {}): Node {
  const id = nodeId(n)
  const mesh = net.add(id)
  const state = makeState(n, n, {}, clock)
  states.push(state)
  const drops = new DropCounters(silentLogger())
  const hb = new HeartbeatService({ mesh, clock, logger: silentLogger(), drops, load: { sample: () => LOAD }, docs: state.docs }, { ...INIT, ...init })
  services.push(hb)
  return { id, mesh, state, drops, hb }
}

function setup (): { net: FakeNetwork, clock: VirtualClock, a: Node } {
  const net = new FakeNetwork()
  const clock = new VirtualClock(1_000_000)
  const a = node(net, clock, 1)
  a.hb.start()
  return { net, clock, a }
}

function hbBytes (from: string, over: Partial<Heartbeat> = {}): Uint8Array {
  return Heartbeat.encode({ version: HEARTBEAT_VERSION, nodeId: from, seq: 1n, sentAtMs: 1_000n, ...LOAD, stateDigest: new Uint8Array(8), ...over })
}

/** Deliver a raw heartbeat to `to` as gossip signed by `from`, and wait until it was handled. */
async function inject (net: FakeNetwork, to: Node, from: string, data: Uint8Array): Promise<void> {
  const before = to.mesh.received
  net.deliver(to.id, { topic: TOPIC, from, data })
  await expect.poll(() => to.mesh.received, { timeout: 1_000 }).toBe(before + 1)
}

describe('HeartbeatService publishing', () => {
  it('publishes one heartbeat at start and one per interval, with increasing seq and the local state digest', async () => {
    const { net, clock, a } = setup()
    clock.advance(3_000)
    await expect.poll(() => a.hb.sent, { timeout: 1_000 }).toBe(4)
    const hbs = net.published.filter(m => m.topic === TOPIC).map(m => Heartbeat.decode(m.data))
    expect(hbs.map(h => h.seq)).toEqual([1n, 2n, 3n, 4n])
    expect(hbs.map(h => h.sentAtMs)).toEqual([1_000_000n, 1_001_000n, 1_002_000n, 1_003_000n])
    for (const h of hbs) {
      expect(h.version).toBe(HEARTBEAT_VERSION)
      expect(h.nodeId).toBe(a.id)
      expect(h.stateDigest).toEqual(stateDigest(a.state.docs))
      expect(h.stateDigest.byteLength).toBe(8)
      expect(h).toMatchObject(LOAD)
    }
    expect(Math.max(...net.published.map(m => m.data.byteLength))).toBeLessThan(MAX_HEARTBEAT_BYTES)
  })

  it('stops publishing after stop() and start() twice subscribes once', async () => {
    const { net, clock, a } = setup()
    a.hb.start()
    a.hb.stop()
    clock.advance(10_000)
    await expect.poll(() => a.hb.sent, { timeout: 1_000 }).toBe(1)
    expect(net.published).toHaveLength(1)
  })

  it('refuses an interval that is not below suspectAfterMs', () => {
    const net = new FakeNetwork()
    expect(() => node(net, new VirtualClock(), 1, { heartbeatIntervalMs: 3_000 })).toThrow(RangeError)
  })
})

describe('HeartbeatService receiving', () => {
  it('marks a peer ALIVE, then SUSPECT at suspectAfterMs and DEAD at deadAfterMs of silence', async () => {
    const { net, clock, a } = setup()
    const b = node(net, clock, 2)
    net.connect(a.id, b.id)
    b.hb.start()
    await expect.poll(() => a.hb.health(b.id), { timeout: 1_000 }).toBe('ALIVE')
    const lastMs = clock.nowMs()
    b.hb.stop()
    clock.runUntil(lastMs + 2_999)
    expect(a.hb.health(b.id)).toBe('ALIVE')
    clock.runUntil(lastMs + 3_000)
    expect(a.hb.health(b.id)).toBe('SUSPECT')
    clock.runUntil(lastMs + 5_000)
    expect(a.hb.health(b.id)).toBe('DEAD')
    expect(a.hb.peers()).toMatchObject([{ peer: b.id, health: 'DEAD', silentMs: 5_000, seq: 1 }])
  })

  it('is undefined for a peer never heard from', () => {
    const { a } = setup()
    expect(a.hb.health(nodeId(9))).toBeUndefined()
  })

  it('ignores duplicates and reordered heartbeats, accepts newer ones and a restart (lower seq, newer sentAtMs)', async () => {
    const { net, clock, a } = setup()
    const p = nodeId(2)
    const view = (): { seq: number, lastHeartbeatMs: number, cpu: number } => {
      const v = a.hb.peers().find(x => x.peer === p)
      return { seq: v?.seq ?? -1, lastHeartbeatMs: v?.lastHeartbeatMs ?? -1, cpu: v?.load.cpuPercent ?? -1 }
    }
    const steps: Array<{ name: string, seq: bigint, sentAtMs: bigint, accepted: boolean }> = [
      { name: 'first', seq: 10n, sentAtMs: 5_000n, accepted: true },
      { name: 'duplicate', seq: 10n, sentAtMs: 5_000n, accepted: false },
      { name: 'reordered (older seq and time)', seq: 9n, sentAtMs: 4_000n, accepted: false },
      { name: 'same seq, same time, different load', seq: 10n, sentAtMs: 5_000n, accepted: false },
      { name: 'next', seq: 11n, sentAtMs: 6_000n, accepted: true },
      { name: 'restart: seq from 1 with a newer send time', seq: 1n, sentAtMs: 7_000n, accepted: true },
      { name: 'after the restart', seq: 2n, sentAtMs: 8_000n, accepted: true },
      { name: 'a late one from before the restart with a higher seq (accepted: seq is newer)', seq: 12n, sentAtMs: 6_500n, accepted: true },
      { name: 'older in both seq and time than the last accepted', seq: 11n, sentAtMs: 6_400n, accepted: false }
    ]
    let cpu = 1
    for (const s of steps) {
      clock.advance(100)
      cpu++
      const before = view()
      await inject(net, a, p, hbBytes(p, { seq: s.seq, sentAtMs: s.sentAtMs, cpuPercent: cpu }))
      const after = view()
      if (s.accepted) {
        expect(after, s.name).toEqual({ seq: Number(s.seq), lastHeartbeatMs: clock.nowMs(), cpu })
      } else {
        expect(after, s.name).toEqual(before)
      }
    }
    expect(a.drops.total()).toBe(0)
  })

  it('keeps health on the local receive time, not the peer’s sentAtMs', async () => {
    const { net, clock, a } = setup()
    const p = nodeId(2)
    await inject(net, a, p, hbBytes(p, { sentAtMs: 1n })) // a peer clock far in the past
    expect(a.hb.health(p)).toBe('ALIVE')
    clock.advance(4_000)
    expect(a.hb.health(p)).toBe('SUSPECT')
  })

  it('stretches deadAfterMs for a peer that last reported a busy CPU', async () => {
    const { net, clock, a } = setup()
    const p = nodeId(2)
    await inject(net, a, p, hbBytes(p, { cpuPercent: 96 }))
    clock.advance(6_999)
    expect(a.hb.health(p)).toBe('SUSPECT')
    clock.advance(1)
    expect(a.hb.health(p)).toBe('DEAD')
  })

  /** A heartbeat from nodeId(2) padded (through stateDigest) to exactly `total` bytes. */
  const ofSize = (total: number): Uint8Array => {
    const base = hbBytes(nodeId(2), { stateDigest: new Uint8Array(0) }).byteLength
    // field 12: tag (1 byte) + length varint (2 bytes for 128..16383) + the bytes
    const bytes = hbBytes(nodeId(2), { stateDigest: new Uint8Array(total - base - 3) })
    expect(bytes.byteLength).toBe(total)
    return bytes
  }
  const oversized = (): Uint8Array => ofSize(MAX_HEARTBEAT_BYTES + 1)
  const drops: Array<{ name: string, data: () => Uint8Array, reason: DropReason }> = [
    { name: `larger than ${MAX_HEARTBEAT_BYTES} bytes`, data: oversized, reason: 'oversized' },
    { name: 'bytes that do not decode', data: () => new Uint8Array([0x08]), reason: 'malformed' },
    { name: 'an unknown version', data: () => hbBytes(nodeId(2), { version: 2 }), reason: 'version' },
    { name: 'a nodeId that is not the signer', data: () => hbBytes(nodeId(3)), reason: 'spoofed' },
    { name: 'an empty nodeId', data: () => hbBytes(''), reason: 'spoofed' },
    { name: 'CPU above 100 %', data: () => hbBytes(nodeId(2), { cpuPercent: 100.5 }), reason: 'malformed' },
    { name: 'negative memory', data: () => hbBytes(nodeId(2), { memoryPercent: -1 }), reason: 'malformed' },
    { name: 'NaN disk', data: () => hbBytes(nodeId(2), { diskPercent: Number.NaN }), reason: 'malformed' },
    { name: 'infinite GPU memory', data: () => hbBytes(nodeId(2), { gpuMemoryPercent: Number.POSITIVE_INFINITY }), reason: 'malformed' }
  ]
  for (const d of drops) {
    it(`drops a heartbeat with ${d.name} and counts it as ${d.reason}`, async () => {
      const { net, a } = setup()
      await inject(net, a, nodeId(2), d.data())
      expect(a.hb.health(nodeId(2))).toBeUndefined()
      expect(a.drops.perPeer()).toEqual({ [nodeId(2)]: { [d.reason]: 1 } })
    })
  }

  it(`accepts a heartbeat of exactly ${MAX_HEARTBEAT_BYTES} bytes`, async () => {
    const { net, a } = setup()
    const exact = ofSize(MAX_HEARTBEAT_BYTES)
    await inject(net, a, nodeId(2), exact)
    expect(a.hb.health(nodeId(2))).toBe('ALIVE')
    expect(a.drops.total()).toBe(0)
  })

  it('forgets the longest-silent peer when maxPeers are tracked', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(0)
    const a = node(net, clock, 1, { maxPeers: 2 })
    a.hb.start()
    for (const n of [2, 3, 4]) {
      clock.advance(10)
      await inject(net, a, nodeId(n), hbBytes(nodeId(n)))
    }
    expect(a.hb.peers().map(p => p.peer)).toEqual([nodeId(3), nodeId(4)])
  })
})

describe('state digest mismatch', () => {
  it('calls the listener after two heartbeats in a row whose digest differs from ours, then counts again', async () => {
    const { net, clock, a } = setup()
    const p = nodeId(2)
    const calls: string[] = []
    a.hb.onDigestMismatch(peer => calls.push(peer))
    const ours = (): Uint8Array<ArrayBuffer> => stateDigest(a.state.docs) as Uint8Array<ArrayBuffer>
    const other = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const digests = [other, ours(), other, other, other, other, ours(), other]
    const callsAfter: number[] = []
    let seq = 0n
    for (const d of digests) {
      clock.advance(1)
      seq++
      await inject(net, a, p, hbBytes(p, { seq, sentAtMs: seq, stateDigest: d }))
      callsAfter.push(calls.length)
    }
    expect(callsAfter).toEqual([0, 0, 0, 1, 1, 2, 2, 2])
    expect(calls.every(c => c === p)).toBe(true)
  })

  it('sees no mismatch between two nodes holding the same documents, even when one has a delete the other lacks', async () => {
    const { net, clock, a } = setup()
    const b = node(net, clock, 2)
    a.state.setSetting('x', 1)
    b.state.docs.apply('control', a.state.docs.diff('control'), REMOTE_ORIGIN)
    const before = stateDigest(a.state.docs)
    a.state.setLease({ v: 1, nodeId: a.id, epoch: 1, round: 0, leaseMs: 1_000, voters: [a.id] })
    b.state.docs.apply('control', a.state.docs.diff('control'), REMOTE_ORIGIN)
    a.state.clearLease()
    // the delete does not move the state vector, so the digest cannot tell the two apart
    expect(stateDigest(a.state.docs)).toEqual(stateDigest(b.state.docs))
    expect(stateDigest(a.state.docs)).not.toEqual(before)
    expect(b.state.leases()).toHaveLength(1)
    expect(a.state.leases()).toHaveLength(0)
  })
})

describe('incarnations: a restart is told from a replay without clocks', () => {
  const hb = (incarnation: bigint, seq: bigint, sentAtMs: bigint): HeartbeatOrder => ({ incarnation, seq, sentAtMs })
  const rows: Array<{ name: string, prev: HeartbeatOrder | undefined, next: HeartbeatOrder, prevDead?: boolean, newer: boolean }> = [
    { name: 'the first one heard', prev: undefined, next: hb(3n, 1n, 0n), newer: true },
    { name: 'next seq, same incarnation', prev: hb(3n, 10n, 5_000n), next: hb(3n, 11n, 6_000n), newer: true },
    { name: 'next seq with a send time moved back an hour', prev: hb(3n, 10n, 3_605_000n), next: hb(3n, 11n, 6_000n), newer: true },
    { name: 'a duplicate', prev: hb(3n, 10n, 5_000n), next: hb(3n, 10n, 5_000n), newer: false },
    { name: 'a late one of the same run with a later send time', prev: hb(3n, 10n, 5_000n), next: hb(3n, 9n, 9_000n), newer: false },
    { name: 'a restart: higher incarnation, seq 1, clock moved back an hour', prev: hb(3n, 500n, 3_605_000n), next: hb(4n, 1n, 6_000n), newer: true },
    { name: 'a replay of the run before the restart, with a higher seq and send time', prev: hb(4n, 1n, 6_000n), next: hb(3n, 501n, 3_606_000n), newer: false },
    { name: 'a lower incarnation from a peer that is DEAD here (restored data dir)', prev: hb(4n, 9n, 6_000n), next: hb(2n, 1n, 7_000n), prevDead: true, newer: true },
    { name: 'a node that sends no incarnation, restarted (seq 1, later send time)', prev: hb(0n, 11n, 6_000n), next: hb(0n, 1n, 7_000n), newer: true },
    { name: 'a node that sends no incarnation, a reordered one', prev: hb(0n, 11n, 6_000n), next: hb(0n, 10n, 5_000n), newer: false },
    { name: 'a node upgraded to send incarnations', prev: hb(0n, 11n, 6_000n), next: hb(1n, 1n, 7_000n), newer: true }
  ]
  for (const r of rows) {
    it(`isNewerHeartbeat: ${r.name} → ${r.newer ? 'accepted' : 'ignored'}`, () => {
      expect(isNewerHeartbeat(r.prev, r.next, r.prevDead ?? false)).toBe(r.newer)
    })
  }

  it('publishes its incarnation in every heartbeat', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1, { incarnation: 7 })
    a.hb.start()
    clock.advance(1_000)
    await expect.poll(() => a.hb.sent, { timeout: 1_000 }).toBe(2)
    expect(net.published.map(m => Heartbeat.decode(m.data).incarnation)).toEqual([7n, 7n])
  })

  it('hears a peer restarted with its clock an hour back at once, and ignores heartbeats of its earlier run', async () => {
    const { net, clock, a } = setup()
    const p = nodeId(2)
    const hourMs = 3_600_000
    await inject(net, a, p, hbBytes(p, { incarnation: 5n, seq: 200n, sentAtMs: BigInt(clock.nowMs() + hourMs) }))
    clock.advance(100)
    await inject(net, a, p, hbBytes(p, { incarnation: 6n, seq: 1n, sentAtMs: BigInt(clock.nowMs()) }))
    expect(a.hb.peers()).toMatchObject([{ peer: p, incarnation: 6, seq: 1, lastHeartbeatMs: clock.nowMs() }])
    clock.advance(100)
    await inject(net, a, p, hbBytes(p, { incarnation: 5n, seq: 201n, sentAtMs: BigInt(clock.nowMs() + hourMs) }))
    expect(a.hb.peers()).toMatchObject([{ peer: p, incarnation: 6, seq: 1 }])
  })
})

describe('clock skew', () => {
  it('measures each peer\'s clock from its heartbeats and lists those past maxClockSkewMs until they come back', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1, { maxClockSkewMs: 10_000 })
    a.hb.start()
    const [ahead, behind, close] = [nodeId(2), nodeId(3), nodeId(4)]
    await inject(net, a, ahead, hbBytes(ahead, { seq: 1n, sentAtMs: BigInt(clock.nowMs() + 3_600_000) }))
    await inject(net, a, behind, hbBytes(behind, { seq: 1n, sentAtMs: BigInt(clock.nowMs() - 10_001) }))
    await inject(net, a, close, hbBytes(close, { seq: 1n, sentAtMs: BigInt(clock.nowMs() - 10_000) }))
    expect(a.hb.clockSkews()).toEqual([{ peer: ahead, skewMs: 3_600_000 }, { peer: behind, skewMs: -10_001 }])
    expect(a.hb.peers().find(x => x.peer === close)?.clockSkewMs).toBe(-10_000)
    expect(a.hb.clockSkewBoundMs).toBe(10_000)
    await inject(net, a, ahead, hbBytes(ahead, { seq: 2n, sentAtMs: BigInt(clock.nowMs() + 50) }))
    expect(a.hb.clockSkews()).toEqual([{ peer: behind, skewMs: -10_001 }])
    // a dead peer is not warned about
    clock.advance(5_000)
    expect(a.hb.clockSkews()).toEqual([])
  })
})

describe('trust roots', () => {
  it('publishes its trust root\'s digest, lists live peers started with another one until they send ours, and leaves older peers (no digest) unjudged', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const a = node(net, clock, 1, { trustRoot: ['OP-B', 'OP-A', 'OP-A'] })
    a.hb.start()
    const ours = trustRootDigest(['OP-A', 'OP-B'])
    expect(ours.byteLength).toBe(8)
    await expect.poll(() => a.hb.sent, { timeout: 1_000 }).toBe(1)
    expect(Heartbeat.decode(net.published.find(m => m.topic === TOPIC)!.data).trustRootDigest).toEqual(ours)
    const [same, other, none, old] = [nodeId(2), nodeId(3), nodeId(4), nodeId(5)]
    await inject(net, a, same, hbBytes(same, { trustRootDigest: ours }))
    await inject(net, a, other, hbBytes(other, { trustRootDigest: trustRootDigest(['OP-A']) }))
    await inject(net, a, none, hbBytes(none, { trustRootDigest: trustRootDigest([]) }))
    await inject(net, a, old, hbBytes(old))
    expect(a.hb.otherTrustRoots()).toEqual([other, none].sort())
    await inject(net, a, other, hbBytes(other, { seq: 2n, trustRootDigest: ours }))
    expect(a.hb.otherTrustRoots()).toEqual([none])
    clock.advance(5_000) // a dead peer is not warned about
    expect(a.hb.otherTrustRoots()).toEqual([])
  })
})

describe('forgetting a peer', () => {
  it('stops tracking it; a later heartbeat tracks it again', async () => {
    const { net, a } = setup()
    const p = nodeId(2)
    await inject(net, a, p, hbBytes(p))
    a.hb.forget(p)
    expect(a.hb.health(p)).toBeUndefined()
    expect(a.hb.peers()).toEqual([])
    await inject(net, a, p, hbBytes(p, { seq: 2n }))
    expect(a.hb.health(p)).toBe('ALIVE')
  })
})

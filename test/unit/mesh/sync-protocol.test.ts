import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { silentLogger } from '../../../src/core/logger.js'
import { DropCounters, type DropReason } from '../../../src/mesh/drops.js'
import { SyncFrame } from '../../../src/mesh/gen/riftmesh.js'
import type { FrameStream } from '../../../src/mesh/mesh.js'
import { SYNC_VERSION, SyncProtocolError, runSyncInitiator, runSyncResponder, type SyncLimits, type SyncStats } from '../../../src/mesh/sync-protocol.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { REMOTE_ORIGIN, bucketDocName, type DocName } from '../../../src/state/docs.js'
import { makeState, nodeId } from '../../helpers.js'
import { framePair, FrameTooLargeError, type FramePair } from './fakes.js'

const LIMITS: SyncLimits = { maxFrameBytes: 1024 * 1024, maxUpdates: 64 }
const INITIATOR = nodeId(1)
const RESPONDER = nodeId(2)

const states: ClusterState[] = []
const pairs: FramePair[] = []
afterEach(() => {
  for (const p of pairs.splice(0)) p.a.abort(new Error('test over'))
  for (const s of states.splice(0)) s.destroy()
})

function state (n: number): ClusterState {
  const s = makeState(n)
  states.push(s)
  return s
}

function pair (maxQueuedFrames = 2): FramePair {
  const p = framePair({ maxQueuedFrames })
  pairs.push(p)
  return p
}

const drops = (): DropCounters => new DropCounters(silentLogger())

const json = (s: ClusterState): string => JSON.stringify(s.toJSON())

function dispatchOne (s: ClusterState, epoch = 1): string {
  return s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: s.selfId, dispatchEpoch: epoch, attempt: 0, previousJobId: null }).jobId
}

/** One full exchange over a bounded in-memory stream: `init` initiates, `resp` responds. */
async function exchange (init: ClusterState, resp: ClusterState, limits = LIMITS): Promise<{ initiator: SyncStats, responder: SyncStats, dropsI: DropCounters, dropsR: DropCounters }> {
  const { a, b } = pair()
  const dropsI = drops()
  const dropsR = drops()
  const signal = AbortSignal.timeout(5_000) // a deadline for a hung exchange; never reached when the code is right
  const [initiator, responder] = await Promise.all([
    runSyncInitiator(a, init.docs, RESPONDER, dropsI, limits, signal),
    runSyncResponder(b, resp.docs, INITIATOR, dropsR, limits, signal)
  ])
  return { initiator, responder, dropsI, dropsR }
}

function frame (over: Partial<SyncFrame>): Uint8Array {
  return SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.STEP1, vectors: [], doc: '', update: new Uint8Array(0), ...over })
}
const STEP1 = frame({ kind: SyncFrame.Kind.STEP1 })
const DONE = frame({ kind: SyncFrame.Kind.DONE })
const EMPTY_UPDATE = Y.encodeStateAsUpdateV2(new Y.Doc())
const update = (doc: string, bytes: Uint8Array = EMPTY_UPDATE): Uint8Array => frame({ kind: SyncFrame.Kind.UPDATE, doc, update: bytes as Uint8Array<ArrayBuffer> })

/**
 * A scripted peer on one end: reads (and discards) everything the real side sends, and writes
 * `frames` in order, then closes. Writes that fail once the real side gave up are ignored:
 * the test aborts the stream afterwards, as the replicator does.
 */
function scripted (stream: FrameStream, frames: Uint8Array[]): { received: Uint8Array[], errors: unknown[] } {
  const out = { received: [] as Uint8Array[], errors: [] as unknown[] }
  const reading = async (): Promise<void> => {
    for (let f = await stream.read(); f !== undefined; f = await stream.read()) out.received.push(f)
  }
  const writing = async (): Promise<void> => {
    for (const f of frames) await stream.write(f)
    await stream.close()
  }
  reading().catch((err: unknown) => out.errors.push(err))
  writing().catch((err: unknown) => out.errors.push(err))
  return out
}

describe('sync exchange between two real ClusterStates', () => {
  for (const deleterInitiates of [true, false]) {
    it(`leaves both with identical documents after one exchange (${deleterInitiates ? 'initiator' : 'responder'} holds the new bucket and the delete)`, async () => {
      const x = state(1) // the side with the jobs bucket and the delete-only change
      const y = state(2)
      x.setLease({ v: 1, nodeId: x.selfId, epoch: 1, round: 0, leaseMs: 10_000, voters: [x.selfId] })
      x.setSetting('shared', 1)
      await (deleterInitiates ? exchange(x, y) : exchange(y, x))
      expect(y.leases()).toHaveLength(1)
      expect(json(y)).toBe(json(x))

      const svBefore = x.docs.stateVector('control')
      x.clearLease()
      expect(x.leases()).toHaveLength(0)
      // a Yjs delete does not move the state vector: only a delete set can carry it
      expect(x.docs.stateVector('control')).toEqual(svBefore)
      const jobId = dispatchOne(x)
      const bucket = x.docs.names().find(n => n.startsWith('jobs/')) as DocName
      expect(y.docs.names()).not.toContain(bucket)
      y.setSetting('only-y', 'hello')

      const { initiator, responder, dropsI, dropsR } = await (deleterInitiates ? exchange(x, y) : exchange(y, x))

      expect(json(y)).toBe(json(x))
      expect(y.leases()).toHaveLength(0)
      expect(y.job(jobId)?.dispatch.dispatchedBy).toBe(x.selfId)
      expect(x.setting('only-y')).toBe('hello')
      expect(y.docs.names()).toEqual(x.docs.names())
      expect(dropsI.total() + dropsR.total()).toBe(0)
      // one UPDATE per document whose snapshot digests differ (even when the state vectors are
      // equal: the delete); the empty manifests document is the same on both sides and not sent
      const [xStats, yStats] = deleterInitiates ? [initiator, responder] : [responder, initiator]
      expect(xStats.sentUpdates).toBe(2) // control, the bucket
      expect(xStats.skippedEqual).toBe(1)
      // y holds control and manifests; as initiator it does not echo the bucket it has just
      // been given (it answers only for the documents it held before the exchange)
      expect(yStats.sentUpdates).toBe(1) // control
      expect(yStats.receivedUpdates).toBe(2)
      expect(xStats.rejected + yStats.rejected).toBe(0)
    })
  }

  it('converges over a one-frame queue with many documents (no deadlock under back-pressure)', async () => {
    const x = state(1)
    const y = state(2)
    for (let e = 1; e <= 6; e++) dispatchOne(x, e)
    for (let e = 7; e <= 9; e++) dispatchOne(y, e)
    const p = pair(1)
    const signal = AbortSignal.timeout(5_000)
    await Promise.all([
      runSyncInitiator(p.a, x.docs, RESPONDER, drops(), LIMITS, signal),
      runSyncResponder(p.b, y.docs, INITIATOR, drops(), LIMITS, signal)
    ])
    expect(x.docs.names()).toHaveLength(2 + 9)
    expect(json(y)).toBe(json(x))
  })

  it('does not apply a document the receiver retired, and does not count it as a drop', async () => {
    const x = state(1)
    const y = state(2)
    dispatchOne(x)
    const bucket = x.docs.names().find(n => n.startsWith('jobs/')) as DocName
    y.docs.markRetired([bucket])
    x.setSetting('k', 1)

    const { initiator, responder, dropsI, dropsR } = await exchange(x, y)

    expect(y.docs.names()).not.toContain(bucket)
    expect(y.docs.isRetired(bucket)).toBe(true)
    expect(responder.rejected).toBe(1)
    expect(responder.receivedUpdates).toBe(2) // control and the bucket; manifests are equal
    expect(initiator.rejected).toBe(0)
    expect(dropsI.total()).toBe(0)
    expect(dropsR.total()).toBe(0)
    expect(y.setting('k')).toBe(1)
  })

  it('tells a peer that still holds a bucket this node retired, with its final state: the peer merges it and retires the bucket once its own jobs ended', async () => {
    // x dispatched a job to y; y completed it and x saw that, then retired the bucket; z (away
    // meanwhile) still holds the bucket with the job RUNNING as it last heard
    const x = state(1)
    const z = state(3)
    const jobId = x.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(2), dispatchEpoch: 1, attempt: 0, previousJobId: null }).jobId
    const bucket = x.docs.names().find(n => n.startsWith('jobs/')) as DocName
    const y = state(2)
    y.docs.apply(bucket, x.docs.diff(bucket), REMOTE_ORIGIN)
    y.setJobStatus({ v: 1, jobId, node: nodeId(2), state: 'RUNNING', startedAt: 1, endedAt: null, heartbeatAt: 1, exitCode: null, error: null, outputs: [], pid: 7, engineMode: null })
    z.docs.apply(bucket, y.docs.diff(bucket), REMOTE_ORIGIN) // z leaves with the job RUNNING
    y.setJobStatus({ v: 1, jobId, node: nodeId(2), state: 'COMPLETE', startedAt: 1, endedAt: 2, heartbeatAt: 2, exitCode: 0, error: null, outputs: [], pid: 7, engineMode: null })
    x.docs.apply(bucket, y.docs.diff(bucket), REMOTE_ORIGIN)
    const final = Y.encodeStateAsUpdateV2(x.docs.get(bucket) as Y.Doc)
    x.retireBucket(bucket.slice('jobs/'.length))
    expect(z.job(jobId)?.state).toBe('RUNNING')

    const told: string[] = []
    const retiredX = { final: async (_doc: DocName, theirs: Uint8Array) => Y.diffUpdateV2(final, theirs), retiredByPeer: () => { throw new Error('x holds no retired bucket') } }
    const retiredZ = { final: async () => undefined, retiredByPeer: (doc: DocName) => { told.push(doc); z.markRetiredElsewhere(doc.slice('jobs/'.length)) } }
    const { a, b } = pair()
    const signal = AbortSignal.timeout(5_000)
    const [zStats, xStats] = await Promise.all([
      runSyncInitiator(a, z.docs, INITIATOR, drops(), { ...LIMITS, retired: retiredZ }, signal),
      runSyncResponder(b, x.docs, RESPONDER, drops(), { ...LIMITS, retired: retiredX }, signal)
    ])
    expect(xStats.sentRetired).toBe(1)
    expect(zStats.receivedRetired).toBe(1)
    expect(told).toEqual([bucket])
    expect(z.job(jobId)?.state).toBe('COMPLETE') // the final state was merged
    expect(z.retirableBuckets()).toEqual([bucket.slice('jobs/'.length)]) // z runs none of its jobs: it may retire at once
    expect(x.docs.isRetired(bucket)).toBe(true)
  })

  it('keeps a bucket retired elsewhere while a job of this node in it still runs', async () => {
    const z = state(3)
    const jobId = z.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: z.selfId, dispatchEpoch: 1, attempt: 0, previousJobId: null }).jobId
    const bucketId = (z.docs.names().find(n => n.startsWith('jobs/')) as DocName).slice('jobs/'.length)
    z.setJobStatus({ v: 1, jobId, node: z.selfId, state: 'RUNNING', startedAt: 1, endedAt: null, heartbeatAt: 1, exitCode: null, error: null, outputs: [], pid: 7, engineMode: null })
    expect(z.markRetiredElsewhere(bucketId)).toBe(true)
    expect(z.retirableBuckets()).toEqual([])
    z.setJobStatus({ v: 1, jobId, node: z.selfId, state: 'COMPLETE', startedAt: 1, endedAt: 2, heartbeatAt: 2, exitCode: 0, error: null, outputs: [], pid: 7, engineMode: null })
    expect(z.retirableBuckets()).toEqual([bucketId])
    expect(z.markRetiredElsewhere('e1-nobody-x')).toBe(false)
  })

  it('leaves out a document whose UPDATE frame exceeds maxFrameBytes, without failing the exchange', async () => {
    const x = state(1)
    const y = state(2)
    for (let i = 0; i < 20; i++) x.setSetting(`big${i}`, 'x'.repeat(1_000))
    const small: SyncLimits = { maxFrameBytes: 4_096, maxUpdates: 64 }
    const { initiator, responder } = await exchange(x, y, small)
    expect(initiator.sentUpdates).toBe(0) // control does not fit; manifests are equal on both sides
    expect(initiator.skippedTooLarge).toBe(1)
    expect(responder.receivedUpdates).toBe(0)
    expect(y.setting('big0')).toBeUndefined()
  })
})

describe('invalid frames end the exchange and are counted against the peer', () => {
  interface Case {
    name: string
    /** What the scripted peer sends. */
    frames: Uint8Array[]
    reason: DropReason
  }
  const garbage = new Uint8Array([0x08]) // field 1 varint with no value: does not decode
  const badKind = new Uint8Array([0x08, 0x01, 0x10, 0x07]) // version 1, kind 7 (no such enum value)

  const responderCases: Case[] = [
    { name: 'a malformed first frame', frames: [garbage], reason: 'malformed' },
    { name: 'a kind that is not in the enum', frames: [badKind], reason: 'malformed' },
    { name: 'an unknown version', frames: [frame({ version: 2 })], reason: 'version' },
    { name: 'version 0 (field missing)', frames: [frame({ version: 0 })], reason: 'version' },
    { name: 'UPDATE where STEP1 was expected', frames: [update('control')], reason: 'protocol' },
    { name: 'DONE where STEP1 was expected', frames: [DONE], reason: 'protocol' },
    { name: 'a second STEP1 among the updates', frames: [STEP1, update('control'), STEP1], reason: 'protocol' },
    { name: 'a malformed frame among the updates', frames: [STEP1, update('control'), garbage], reason: 'malformed' },
    { name: 'a wrong version among the updates', frames: [STEP1, frame({ version: 9, kind: SyncFrame.Kind.UPDATE, doc: 'control' })], reason: 'version' },
    { name: 'more UPDATE frames than maxUpdates', frames: [STEP1, ...Array.from({ length: 10 }, () => update('control')), DONE], reason: 'protocol' }
  ]
  for (const c of responderCases) {
    it(`responder: ${c.name} → SyncProtocolError, counted as ${c.reason}`, async () => {
      const s = state(2)
      const d = drops()
      const p = pair(2)
      scripted(p.a, c.frames)
      const limits: SyncLimits = { maxFrameBytes: LIMITS.maxFrameBytes, maxUpdates: 3 }
      const err = await runSyncResponder(p.b, s.docs, INITIATOR, d, limits, AbortSignal.timeout(5_000)).catch((e: unknown) => e)
      p.b.abort(new Error('exchange failed'))
      expect(err).toBeInstanceOf(SyncProtocolError)
      expect((err as Error).name).toBe('SyncProtocolError')
      expect((err as Error).message).toContain(INITIATOR)
      expect(d.byReason()).toEqual({ [c.reason]: 1 })
      expect(d.perPeer()).toEqual({ [INITIATOR]: { [c.reason]: 1 } })
    })
  }

  const initiatorCases: Case[] = [
    { name: 'a malformed reply', frames: [garbage], reason: 'malformed' },
    { name: 'a reply with an unknown version', frames: [frame({ version: 2 })], reason: 'version' },
    { name: 'UPDATE where STEP1 was expected', frames: [update('control')], reason: 'protocol' },
    { name: 'a second STEP1 among the updates', frames: [STEP1, STEP1], reason: 'protocol' },
    { name: 'more UPDATE frames than maxUpdates', frames: [STEP1, ...Array.from({ length: 10 }, () => update('manifests')), DONE], reason: 'protocol' }
  ]
  for (const c of initiatorCases) {
    it(`initiator: ${c.name} → SyncProtocolError, counted as ${c.reason}`, async () => {
      const s = state(1)
      const d = drops()
      const p = pair(2)
      const peer = scripted(p.b, c.frames)
      const limits: SyncLimits = { maxFrameBytes: LIMITS.maxFrameBytes, maxUpdates: 3 }
      const err = await runSyncInitiator(p.a, s.docs, RESPONDER, d, limits, AbortSignal.timeout(5_000)).catch((e: unknown) => e)
      p.a.abort(new Error('exchange failed'))
      expect(err).toBeInstanceOf(SyncProtocolError)
      expect(d.perPeer()).toEqual({ [RESPONDER]: { [c.reason]: 1 } })
      // the initiator spoke first: its STEP1 lists its documents
      const first = SyncFrame.decode(peer.received[0] as Uint8Array)
      expect(first.kind).toBe(SyncFrame.Kind.STEP1)
      expect(first.vectors.map(v => v.doc)).toEqual(['control', 'manifests'])
    })
  }

  it('accepts exactly maxUpdates UPDATE frames followed by DONE', async () => {
    const s = state(1)
    const d = drops()
    const p = pair(2)
    scripted(p.b, [STEP1, update('control'), update('control'), update('manifests'), DONE])
    const stats = await runSyncInitiator(p.a, s.docs, RESPONDER, d, { maxFrameBytes: LIMITS.maxFrameBytes, maxUpdates: 3 }, AbortSignal.timeout(5_000))
    expect(stats.receivedUpdates).toBe(3)
    expect(d.total()).toBe(0)
  })

  it('applies no more than maxUpdates UPDATE frames', async () => {
    const s = state(1)
    const p = pair(2)
    const donor = state(3)
    const bucketUpdates: Uint8Array[] = []
    for (let e = 1; e <= 4; e++) {
      dispatchOne(donor, e)
    }
    for (const n of donor.docs.names().filter(x => x.startsWith('jobs/'))) bucketUpdates.push(update(n, donor.docs.diff(n)))
    scripted(p.b, [STEP1, ...bucketUpdates, DONE]) // 4 updates, maxUpdates 3
    await runSyncInitiator(p.a, s.docs, RESPONDER, drops(), { maxFrameBytes: LIMITS.maxFrameBytes, maxUpdates: 3 }, AbortSignal.timeout(5_000)).catch(() => {})
    expect(s.docs.names().filter(x => x.startsWith('jobs/')).length).toBeLessThanOrEqual(3)
  })

  it('counts a STEP1 with an undecodable state vector as malformed', async () => {
    const s = state(2)
    const d = drops()
    const p = pair(2)
    scripted(p.a, [frame({ kind: SyncFrame.Kind.STEP1, vectors: [{ doc: 'control', stateVector: new Uint8Array([0xff]), digest: new Uint8Array(0) }] })])
    const err = await runSyncResponder(p.b, s.docs, INITIATOR, d, LIMITS, AbortSignal.timeout(5_000)).catch((e: unknown) => e)
    p.b.abort(new Error('exchange failed'))
    expect(err).toBeInstanceOf(SyncProtocolError)
    expect(d.perPeer()).toEqual({ [INITIATOR]: { malformed: 1 } })
  })
})

describe('frames that are refused without ending the exchange', () => {
  it('counts an UPDATE for an invalid document name as bad-doc-name and carries on', async () => {
    const s = state(1)
    const d = drops()
    const p = pair(2)
    scripted(p.b, [STEP1, update('passwords'), update('jobs/not-a-bucket'), update('control'), DONE])
    const stats = await runSyncInitiator(p.a, s.docs, RESPONDER, d, LIMITS, AbortSignal.timeout(5_000))
    expect(stats.receivedUpdates).toBe(3)
    expect(stats.rejected).toBe(2)
    expect(d.perPeer()).toEqual({ [RESPONDER]: { 'bad-doc-name': 2 } })
    expect(s.docs.names()).toEqual(['control', 'manifests'])
  })

  it('counts an UPDATE whose bytes do not decode as invalid-update and carries on', async () => {
    const s = state(1)
    const d = drops()
    const p = pair(2)
    const good = state(3)
    good.setSetting('arrives', true)
    scripted(p.b, [STEP1, update('control', new Uint8Array([1, 2, 3])), update('control', good.docs.diff('control')), DONE])
    const stats = await runSyncInitiator(p.a, s.docs, RESPONDER, d, LIMITS, AbortSignal.timeout(5_000))
    expect(stats.rejected).toBe(1)
    expect(d.perPeer()).toEqual({ [RESPONDER]: { 'invalid-update': 1 } })
    expect(s.setting('arrives')).toBe(true)
  })
})

describe('how an exchange ends without a counted drop', () => {
  it('fails with SyncProtocolError when the peer closes before DONE (not counted)', async () => {
    const s = state(1)
    const d = drops()
    const p = pair(2)
    scripted(p.b, [STEP1, update('control')])
    await expect(runSyncInitiator(p.a, s.docs, RESPONDER, d, LIMITS, AbortSignal.timeout(5_000))).rejects.toThrow(/stream ended early/)
    expect(d.total()).toBe(0)
  })

  it('propagates the stream error for a frame above the reader’s maxFrameBytes (not counted)', async () => {
    const s = state(1)
    const d = drops()
    const p = framePair({ maxQueuedFrames: 2, aMaxFrameBytes: 64 })
    pairs.push(p)
    scripted(p.b, [frame({ kind: SyncFrame.Kind.STEP1, vectors: [{ doc: 'control', stateVector: new Uint8Array(100), digest: new Uint8Array(0) }] })])
    await expect(runSyncInitiator(p.a, s.docs, RESPONDER, d, LIMITS, AbortSignal.timeout(5_000))).rejects.toBeInstanceOf(FrameTooLargeError)
    expect(d.total()).toBe(0)
  })

  it('rejects with the abort reason when the signal fires while waiting for the peer', async () => {
    const s = state(1)
    const p = pair(2)
    const ac = new AbortController()
    const run = runSyncInitiator(p.a, s.docs, RESPONDER, drops(), LIMITS, ac.signal)
    ac.abort(new Error('sync timed out'))
    await expect(run).rejects.toThrow('sync timed out')
  })
})

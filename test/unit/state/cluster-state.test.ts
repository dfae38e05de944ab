import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { OwnershipError } from '../../../src/core/errors.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { bucketOfJob } from '../../../src/state/jobs.js'
import { REMOTE_ORIGIN, type DocUpdate } from '../../../src/state/docs.js'
import { makeState, nodeId, sampleNodeInfo, syncInto } from '../../helpers.js'

const status = (jobId: string, node: string, state: 'RUNNING' | 'COMPLETE' | 'FAILED' | 'REFUSED') => ({
  v: 1 as const, jobId, node, state, pid: 42, startedAt: 1, heartbeatAt: 2, endedAt: state === 'RUNNING' ? null : 3,
  exitCode: state === 'COMPLETE' ? 0 : null, error: null, outputs: [], engineMode: null
})

describe('ClusterState', () => {
  it('writes and reads this node\'s NodeInfo and refuses another node\'s key', () => {
    const s = makeState(1)
    s.setNodeInfo(sampleNodeInfo(nodeId(1)))
    expect(s.node(nodeId(1))?.hardware.gpuName).toBe('NVIDIA H100')
    expect(() => s.setNodeInfo(sampleNodeInfo(nodeId(2)))).toThrow(OwnershipError)
    expect(s.nodes()).toHaveLength(1)
  })

  it('refuses to write an invalid entry (validated on write as well as read)', () => {
    const s = makeState(1)
    expect(() => s.setNodeInfo({ ...sampleNodeInfo(nodeId(1)), host: 'x'.repeat(10_000) })).toThrow()
    expect(s.nodes()).toHaveLength(0)
  })

  it('resolves settings written by two nodes to the later write everywhere', () => {
    const a = makeState(1); const b = makeState(2)
    a.setSetting('voters', ['a'])
    syncInto(a, b)
    b.setSetting('voters', ['b']) // b has seen a's write, so its version is higher
    syncInto(b, a)
    expect(a.setting('voters')).toEqual(['b'])
    expect(b.setting('voters')).toEqual(['b'])
  })

  it('breaks a tie between concurrent setting writes the same way on every replica', () => {
    const a = makeState(1); const b = makeState(2)
    a.setSetting('mode', 'x')
    b.setSetting('mode', 'y')
    syncInto(a, b); syncInto(b, a)
    expect(a.setting('mode')).toBe(b.setting('mode'))
  })

  it('keeps the best model per config by register version', () => {
    const a = makeState(1)
    const m = { v: 1 as const, config: 'hex8_2p', modelId: 'm1', path: 'models/hex8_2p/m1.json', ownerNode: nodeId(1), elo: 1300, promotedAt: 5, epoch: 1, history: [] }
    a.setModel(m)
    a.setModel({ ...m, modelId: 'm2', elo: 1350 })
    expect(a.model('hex8_2p')?.modelId).toBe('m2')
    expect(a.model('hexagonal_2p')).toBeUndefined()
  })

  it('tracks the highest epoch named by any election entry', () => {
    const a = makeState(1)
    expect(a.maxKnownEpoch()).toBe(0)
    a.setCandidacy({ v: 1, nodeId: nodeId(1), epoch: 3, round: 0, sentAt: 10, renounced: false })
    a.setGrant({ v: 1, voter: nodeId(1), candidate: nodeId(1), epoch: 4, round: 0, leaseMs: 4000 })
    expect(a.maxKnownEpoch()).toBe(4)
    expect(a.candidacies()).toHaveLength(1)
    expect(a.grants()).toHaveLength(1)
    a.setLease({ v: 1, nodeId: nodeId(1), epoch: 4, round: 0, leaseMs: 4000, voters: [nodeId(1)] })
    expect(a.leases()).toHaveLength(1)
    a.clearLease()
    expect(a.leases()).toHaveLength(0)
  })

  it('dispatches into buckets, lets only the assigned node write status, and derives job state', () => {
    const leader = makeState(1); const worker = makeState(2)
    const d = leader.dispatchJob({ type: 'selfplay', config: 'square8_2p', engineMode: 'heuristic', spec: { games: 10 }, assignedNode: nodeId(2), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    syncInto(leader, worker)
    expect(worker.job(d.jobId)?.state).toBe('PENDING')
    expect(() => leader.setJobStatus(status(d.jobId, nodeId(1), 'RUNNING'))).toThrow(OwnershipError)
    worker.setJobStatus(status(d.jobId, nodeId(2), 'RUNNING'))
    syncInto(worker, leader)
    expect(leader.job(d.jobId)?.state).toBe('RUNNING')
    worker.setJobStatus(status(d.jobId, nodeId(2), 'COMPLETE'))
    syncInto(worker, leader)
    leader.addVerdict({ jobId: d.jobId, verdict: 'PROMOTED', epoch: 1, reason: null })
    expect(leader.job(d.jobId)?.state).toBe('PROMOTED')
  })

  it('opens a new bucket when the open one is full, sealing the old one', () => {
    const s = makeState(1, 1, { bucketMaxJobs: 3 })
    const ids = Array.from({ length: 7 }, () => s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(1), dispatchEpoch: 2, attempt: 0, previousJobId: null }).jobId)
    const buckets = s.bucketViews()
    expect(buckets).toHaveLength(3)
    expect(buckets.filter(b => b.meta?.sealed)).toHaveLength(2)
    expect(new Set(ids).size).toBe(7)
    expect(s.jobs()).toHaveLength(7)
  })

  it('retires a sealed bucket whose jobs all ended once the retention window has passed', () => {
    const clock = new VirtualClock(0)
    const s = makeState(1, 1, { bucketMaxJobs: 2, retentionMs: 1000 }, clock)
    const disp = () => s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    const j1 = disp(); const j2 = disp(); disp() // third opens a new bucket, sealing the first
    expect(s.retirableBuckets()).toEqual([])
    s.setJobStatus(status(j1.jobId, nodeId(1), 'COMPLETE'))
    s.setJobStatus(status(j2.jobId, nodeId(1), 'FAILED'))
    clock.advance(999)
    expect(s.retirableBuckets()).toEqual([])
    clock.advance(1)
    const [bucket] = s.retirableBuckets()
    expect(bucket).toBe(bucketOfJob(j1.jobId))
    const history = s.retireBucket(bucket!)
    expect(history.map(j => j.state).sort()).toEqual(['COMPLETE', 'FAILED'])
    expect(s.jobs()).toHaveLength(1)
    expect(() => s.docs.apply(`jobs/${bucket!}`, new Uint8Array([0]), REMOTE_ORIGIN)).toThrow(/retired/)
  })

  it('treats a bucket of an older epoch as sealed once a higher epoch is granted (a candidacy alone does not)', () => {
    const clock = new VirtualClock(0)
    const s = makeState(1, 1, { retentionMs: 10 }, clock)
    const j = s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    s.setJobStatus(status(j.jobId, nodeId(1), 'COMPLETE'))
    clock.advance(100)
    expect(s.retirableBuckets()).toEqual([])
    s.setCandidacy({ v: 1, nodeId: nodeId(1), epoch: 2, round: 0, sentAt: 0, renounced: false })
    expect(s.retirableBuckets()).toEqual([])
    s.setGrant({ v: 1, voter: nodeId(1), candidate: nodeId(1), epoch: 2, round: 0, leaseMs: 1_000 })
    expect(s.retirableBuckets()).toHaveLength(1)
  })

  it('stamps records in whole, non-negative milliseconds even on a fractional or stepped-back clock', () => {
    const clock = new VirtualClock(1_000.75)
    const s = makeState(1, 1, {}, clock)
    const d = s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: nodeId(1), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    expect(d.createdAt).toBe(1_000)
    clock.jump(-5_000)
    s.addVerdict({ jobId: d.jobId, verdict: 'CANCELLED', epoch: 1, reason: null })
    expect(s.job(d.jobId)?.verdicts[0]?.at).toBe(0)
  })

  it('reports local and remote updates with their origin', () => {
    const a = makeState(1); const b = makeState(2)
    const seen: DocUpdate[] = []
    b.onUpdate(u => seen.push(u))
    a.setSetting('x', 1)
    syncInto(a, b)
    b.setSetting('y', 2)
    expect(seen.map(u => `${u.doc}:${u.origin}`)).toEqual(['control:remote', 'control:local'])
  })
})

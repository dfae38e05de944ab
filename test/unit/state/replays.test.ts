/**
 * Two attacks a member can make with entries other nodes really signed, found by the simulator's
 * hostile member (fuzz seeds 176 and 404): copying an older signed value of a key back over the
 * newer one (a replay: the signature is valid, it is the writer's), and deleting a node's own
 * job status so that a forgery, or nothing, is left in its place. Real ClusterStates exchanging
 * real Yjs updates; the hostile writes go straight into a Y.Doc, as a member would.
 */
import { describe, expect, it } from 'vitest'
import type { DocName } from '../../../src/state/docs.js'
import type { JobStatus } from '../../../src/state/schema.js'
import { TEST_OPERATOR, hostileWrite, makeState, nodeId, setSignedSetting, signedAs, syncInto } from '../../helpers.js'


const settle = async (): Promise<void> => { for (let i = 0; i < 3; i++) await new Promise<void>(resolve => setImmediate(resolve)) }

describe('replayed entries', () => {
  it('a voter\'s older signed grant copied back over its newer one is refused and counted; the newer stays', () => {
    const reader = makeState(1)
    const voter = nodeId(2)
    const grant = (round: number): object => signedAs(voter, 'control', 'election', `grant/${voter}`, { v: 1, voter, candidate: nodeId(3), epoch: 2, round, leaseMs: 4_000 })
    const [old, recent] = [grant(2), grant(4)]
    hostileWrite(reader, 'control', d => d.getMap('election').set(`grant/${voter}`, recent))
    expect(reader.grants().map(g => g.round)).toEqual([4])
    hostileWrite(reader, 'control', d => d.getMap('election').set(`grant/${voter}`, old))
    expect(reader.grants().map(g => g.round)).toEqual([4])
    expect(reader.stats.snapshot()).toEqual({ 'election:rolled-back-entry': 1 })
    // the writer's next round is newer than both, and counts
    hostileWrite(reader, 'control', d => d.getMap('election').set(`grant/${voter}`, grant(5)))
    expect(reader.grants().map(g => g.round)).toEqual([5])
  })

  it('an operator\'s older setting copied back over its newer one is refused, and put back by a node that held the newer', async () => {
    const node = makeState(1, 1, { operators: [TEST_OPERATOR.id] })
    setSignedSetting(node, 'staticPriority', { hex8_2p: 1 })
    const key = `staticPriority@${TEST_OPERATOR.id}`
    const first = node.docs.ensure('control').getMap('settings').get(key)
    setSignedSetting(node, 'staticPriority', { hex8_2p: 9 })
    const second = node.docs.ensure('control').getMap('settings').get(key)
    hostileWrite(node, 'control', d => d.getMap('settings').set(key, first))
    expect(node.setting('staticPriority')).toEqual({ hex8_2p: 9 })
    expect(node.stats.snapshot()).toEqual({ 'settings:rolled-back-entry': 1 })
    await settle()
    expect(node.docs.ensure('control').getMap('settings').get(key)).toBe(second)
    // a node that joins now reads the newer one
    const late = makeState(2, 2, { operators: [TEST_OPERATOR.id] })
    syncInto(node, late)
    expect(late.setting('staticPriority')).toEqual({ hex8_2p: 9 })
  })
})

describe('a node\'s own job status deleted by another', () => {
  it('is put back by the node that wrote it; another node\'s deleted status is left to its writer', async () => {
    const [worker, other] = [makeState(1), makeState(2)]
    const d = worker.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'random', spec: {}, assignedNode: worker.selfId, dispatchEpoch: 1, attempt: 0, previousJobId: null })
    const status: JobStatus = { v: 1, jobId: d.jobId, node: worker.selfId, state: 'COMPLETE', pid: null, startedAt: 1, heartbeatAt: 2, endedAt: 3, exitCode: 0, error: null, outputs: ['games:10'], engineMode: null }
    worker.setJobStatus(status)
    syncInto(worker, other)
    const doc = worker.docs.names().find(n => n.startsWith('jobs/')) as DocName
    hostileWrite(worker, doc, x => x.getMap('status').delete(d.jobId))
    await settle()
    expect(worker.job(d.jobId)?.state).toBe('COMPLETE')
    expect(worker.docs.ensure(doc).getMap('status').has(d.jobId)).toBe(true)
    // on a node that is not its writer the deletion stands until the writer's put-back arrives
    hostileWrite(other, doc, x => x.getMap('status').delete(d.jobId))
    await settle()
    expect(other.docs.ensure(doc).getMap('status').has(d.jobId)).toBe(false)
    syncInto(worker, other)
    expect(other.job(d.jobId)?.state).toBe('COMPLETE')
  })
})

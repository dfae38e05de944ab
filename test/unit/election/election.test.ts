/**
 * ElectionService on virtual time with real ClusterStates and LocalTables: what its entries tell
 * an outside reader about the lease.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { makeState, nodeId, signedAs, syncInto } from '../../helpers.js'
import { ElectionCluster, TIMINGS } from './cluster.js'

let cluster: ElectionCluster | undefined

afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const entries = (c: ElectionCluster, i: number): { lease: ReturnType<ElectionCluster['members'][number]['state']['leases']>[number] | undefined, cand: ReturnType<ElectionCluster['members'][number]['state']['candidacies']>[number] | undefined } => {
  const m = c.members[i]!
  return { lease: m.state.leases().find(l => l.nodeId === m.id), cand: m.state.candidacies().find(x => x.nodeId === m.id) }
}

describe('the lease entry says when it was renewed', () => {
  it('in epoch mode each renewal writes the round and its wall-clock send time in the lease and the candidacy alike', async () => {
    cluster = await ElectionCluster.start(1)
    await cluster.run(10_000)
    const { lease, cand } = entries(cluster, 0)
    expect(lease?.round).toBeGreaterThanOrEqual(4)
    expect(cand?.round).toBe(lease?.round)
    expect(cand?.sentAt).toBe(lease?.renewedAt)
    // renewed within the last renew interval (plus one election tick), on this node's wall clock
    const age = cluster.clock.nowMs() - (lease?.renewedAt ?? -Infinity)
    expect(age).toBeGreaterThanOrEqual(0)
    expect(age).toBeLessThanOrEqual(TIMINGS.renewIntervalMs + TIMINGS.renewIntervalMs / 4)
  })

  it('in majority mode the leader\'s renewedAt moves on with every round, equal to its candidacy\'s sentAt', async () => {
    cluster = await ElectionCluster.start(3)
    const c = cluster
    await c.runUntil(() => c.leaderIndex() !== undefined, 20_000)
    const leader = c.leaderIndex()!
    const first = entries(c, leader).lease!
    await c.run(3_000)
    const { lease, cand } = entries(c, leader)
    expect(lease!.round).toBeGreaterThanOrEqual(first.round + 2)
    expect(lease!.renewedAt! - first.renewedAt!).toBeGreaterThanOrEqual(2_000)
    expect(cand).toMatchObject({ round: lease!.round, sentAt: lease!.renewedAt })
    // every follower reads the same entry
    for (const m of c.members) expect(m.state.leases().find(l => l.nodeId === c.members[leader]!.id)?.renewedAt).toBe(lease!.renewedAt)
  })

  it('reads lease entries of older nodes, which carry no renewedAt, and skips one with a bad renewedAt', () => {
    const older = makeState(1)
    const reader = makeState(2)
    const entry = { v: 1, nodeId: nodeId(1), epoch: 3, round: 7, leaseMs: 4_000, voters: [nodeId(1)] }
    const key = `lease/${nodeId(1)}`
    older.docs.ensure('control').getMap('election').set(key, signedAs(nodeId(1), 'control', 'election', key, entry))
    syncInto(older, reader)
    expect(reader.leases()).toEqual([entry])
    older.docs.ensure('control').getMap('election').set(key, signedAs(nodeId(1), 'control', 'election', key, { ...entry, renewedAt: -1 }))
    syncInto(older, reader)
    // the bad one is skipped and counted; the last valid entry of the key stays in effect
    expect(reader.leases()).toEqual([entry])
    expect(reader.stats.snapshot()).toEqual({ 'election:schema': 1 })
    const fresh = makeState(3)
    syncInto(older, fresh)
    expect(fresh.leases()).toEqual([])
  })
})

describe('a voter whose local promise was lost (riftmesh node --reset-state)', () => {
  it('takes its promise back from its own grant in the re-synced document, and grants no other candidate at that epoch', async () => {
    const { MemoryLevel } = await import('memory-level')
    const { VirtualClock } = await import('../../../src/core/clock.js')
    const { silentLogger } = await import('../../../src/core/logger.js')
    const { LocalTables } = await import('../../../src/store/tables.js')
    const { ElectionService } = await import('../../../src/election/election.js')
    const clock = new VirtualClock(5_000_000)
    const voter = makeState(0, 1, {}, clock)
    const [c1, c2] = [makeState(1, 2, {}, clock), makeState(2, 3, {}, clock)]
    const voters = [nodeId(0), nodeId(1), nodeId(2)]
    // before the reset: the voter granted node 1 at epoch 5, and that grant is in everyone's document
    c1.setCandidacy({ v: 1, nodeId: nodeId(1), epoch: 5, round: 0, sentAt: clock.nowMs(), renounced: false })
    voter.setGrant({ v: 1, voter: nodeId(0), candidate: nodeId(1), epoch: 5, round: 0, leaseMs: TIMINGS.leaseMs })
    // after the reset: a fresh database (no promise), the document re-synced from peers, and node 2 standing at epoch 5 too
    const fresh = makeState(0, 9, {}, clock)
    syncInto(voter, fresh)
    syncInto(c1, fresh)
    c2.setCandidacy({ v: 1, nodeId: nodeId(2), epoch: 5, round: 3, sentAt: clock.nowMs(), renounced: false })
    c1.setCandidacy({ v: 1, nodeId: nodeId(1), epoch: 5, round: 0, sentAt: clock.nowMs(), renounced: true })
    syncInto(c1, fresh)
    syncInto(c2, fresh)
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    const tables = new LocalTables(db as never, silentLogger())
    const e = new ElectionService({ state: fresh, tables, clock, logger: silentLogger() }, { voters, ...TIMINGS, selfEligible: false })
    expect(fresh.grants().map(g => [g.voter, g.candidate, g.epoch])).toEqual([[nodeId(0), nodeId(1), 5]])
    await e.start()
    clock.advance(TIMINGS.leaseMs + 100) // past the quarantine after a start
    for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve)) // the timer's own tick finishes
    await e.tick()
    expect((await tables.promise())?.epoch).toBe(5)
    expect(fresh.grants().find(g => g.voter === nodeId(0))?.candidate).toBe(nodeId(1)) // still its old grant: node 2 at epoch 5 was refused
    e.stop()
    await db.close()
  })
})

describe('the operators\' leaders setting', () => {
  it('a leader left out of leaders loses its grants and steps down, the listed node takes over, and with it gone nobody else stands', async () => {
    cluster = await ElectionCluster.start(5, { voters: 3 }) // voters 0, 1, 2; node 4 is no voter
    const c = cluster
    await c.runUntil(() => c.leaderIndex() !== undefined, 20_000)
    const old = c.leaderIndex()!
    expect(old).not.toBe(4)
    c.members[old]!.state.setSetting('leaders', [c.members[4]!.id])
    await c.runUntil(() => c.leaderIndex() === 4, 30_000)
    expect(c.members[old]!.election.isLeader()).toBe(false)
    expect(c.members[old]!.election.notEligible()).toBe('it is not in the cluster setting leaders')
    expect(c.members[4]!.election.notEligible()).toBeNull()
    // the listed leader crashes: the voters are all alive, yet no one else stands
    const epoch = c.members[4]!.election.leaderEpoch()!
    c.crash(4)
    await c.run(20_000)
    expect(c.leaderIndex()).toBeUndefined()
    for (const m of c.members.slice(0, 4)) {
      expect(m.election.role).toBe('follower')
      expect(m.state.candidacies().filter(x => x.epoch > epoch && !x.renounced)).toEqual([])
    }
  })
})

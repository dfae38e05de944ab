/**
 * ElectionObserver on real ElectionServices and ClusterStates (virtual time): every node records
 * the transitions of the others, not only its own role.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/core/logger.js'
import { ConfigError } from '../../../src/core/errors.js'
import { ElectionObserver, type ElectionEventRecord } from '../../../src/election/observer.js'
import { electionTransitions } from '../../../src/election/transitions.js'
import { ElectionCluster, TIMINGS } from './cluster.js'

let cluster: ElectionCluster | undefined

afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const brief = (events: readonly ElectionEventRecord[]): string[] => events.map(e => `${e.type} ${e.node.slice(-10)}@${e.epoch}`)
const short = (id: string): string => id.slice(-10)

function capture (): { logger: ReturnType<typeof createLogger>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  return { logger: createLogger({ level: 'info', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } } }), lines }
}

async function electedCluster (n: number, init: Parameters<typeof ElectionCluster.start>[1] = {}): Promise<{ c: ElectionCluster, leader: number }> {
  const c = await ElectionCluster.start(n, init)
  cluster = c
  await c.runUntil(() => c.leaderIndex() !== undefined, 20_000)
  await c.run(1_000) // every node has seen the lease
  return { c, leader: c.leaderIndex()! }
}

describe('ElectionObserver', () => {
  it('a follower records the leader elected, its lease expiring after it crashed and the next leader, each logged at info once', async () => {
    const logs = [capture(), capture(), capture()]
    const { c, leader: old } = await electedCluster(3, { logger: i => logs[i]!.logger })
    const f = c.members.find(m => m.index !== old)!
    const heard: ElectionEventRecord[] = []
    f.observer.onEvent(e => heard.push(e))
    const oldId = c.members[old]!.id
    const e1 = c.members[old]!.election.leaderEpoch()!
    c.crash(old)
    await c.runUntil(() => c.leaderIndex() !== undefined, 20_000)
    await c.run(1_000)
    const next = c.leaderIndex()!
    const e2 = c.members[next]!.election.leaderEpoch()!
    expect(e2).toBeGreaterThan(e1)
    const want = [`leader-elected ${short(oldId)}@${e1}`, `lease-expired ${short(oldId)}@${e1}`, `leader-elected ${short(c.members[next]!.id)}@${e2}`]
    expect(brief(f.observer.events())).toEqual(want)
    expect(brief(heard)).toEqual(want.slice(1))
    expect(f.observer.counts()).toEqual({ 'leader-elected': 2, 'lease-expired': 1, 'stepped-down': 0, 'quorum-lost': 0, 'quorum-regained': 0 })
    expect(f.observer.events().map(e => e.seq)).toEqual([1, 2, 3])
    const lines = logs[f.index]!.lines.filter(l => l.component === 'election-events')
    expect(lines.map(l => [l.level, l.event, l.msg])).toEqual([
      [30, 'leader-elected', `leader elected: ${oldId} (epoch ${e1})`],
      [30, 'lease-expired', `lease expired: ${oldId} (epoch ${e1}) not renewed within a lease`],
      [30, 'leader-elected', `leader elected: ${c.members[next]!.id} (epoch ${e2})`]
    ])
  })

  it('a crashed leader\'s lease entry stays a lease entry once the voters granted the next epoch, so its end is an expiry, not a step-down, whenever the observer looks', async () => {
    const { c, leader: old } = await electedCluster(3)
    const f = c.members.find(m => m.index !== old)!
    const oldId = c.members[old]!.id
    const e1 = c.members[old]!.election.leaderEpoch()!
    const before = f.observer.current()
    c.crash(old)
    await c.runUntil(() => c.leaderIndex() !== undefined, 20_000)
    await c.run(1_000)
    // the grants now back the successor: the old lease no longer counts, but it is still there
    expect(f.state.leases().some(l => l.nodeId === oldId && l.epoch === e1)).toBe(false)
    expect(f.observer.current().leases).toContainEqual({ nodeId: oldId, epoch: e1 })
    // an observer that looked last while the old leader led and next only now: a takeover, not a step-down
    expect(electionTransitions(before, f.observer.current(), f.id).map(t => [t.type, t.detail])).toEqual([
      ['leader-elected', `${c.members[c.leaderIndex()!]!.id} (epoch ${c.members[c.leaderIndex()!]!.election.leaderEpoch()!}), after ${oldId} (epoch ${e1})`]
    ])
  })

  it('a follower cut off from the others records quorum lost ("1 of 3 voters alive, 2 needed"), then regained and the leader again', async () => {
    const { c, leader } = await electedCluster(3)
    const f = c.members.find(m => m.index !== leader)!
    const e = c.members[leader]!.election.leaderEpoch()!
    const before = f.observer.events().length
    c.isolate(f.index)
    await c.run(TIMINGS.leaseMs + 1_000)
    expect(f.observer.events().slice(before).map(x => [x.type, x.detail])).toEqual([
      ['quorum-lost', '1 of 3 voters alive, 2 needed'],
      ['lease-expired', `${c.members[leader]!.id} (epoch ${e}) not renewed within a lease`]
    ])
    expect(f.observer.events().at(-2)).toMatchObject({ node: f.id, epoch: e })
    expect(f.observer.current().quorum).toEqual({ voters: 3, alive: 1 })
    c.heal()
    await c.run(2_000)
    expect(brief(f.observer.events().slice(before + 2))).toEqual([`quorum-regained ${short(f.id)}@${e}`, `leader-elected ${short(c.members[leader]!.id)}@${e}`])
    expect(c.leaderIndex()).toBe(leader)
  })

  it('a follower records at once that a leader which lost its voters stepped down (deleted its lease), after the quorum was lost', async () => {
    const { c, leader } = await electedCluster(4, { voters: 3 })
    const l = c.members[leader]!
    const e = l.election.leaderEpoch()!
    const watcher = c.members[3]! // not a voter: it outlives the voters it watches
    const before = watcher.observer.events().length
    for (const m of c.members.slice(0, 3)) if (m.index !== leader) c.crash(m.index)
    let steppedDownAtMs: number | undefined
    await c.runUntil(() => {
      if (steppedDownAtMs === undefined && !l.state.leases().some(x => x.nodeId === l.id)) steppedDownAtMs = c.clock.nowMs()
      return watcher.observer.events().length - before >= 2
    }, 10_000)
    expect(brief(watcher.observer.events().slice(before))).toEqual([`quorum-lost ${short(watcher.id)}@${e}`, `stepped-down ${short(l.id)}@${e}`])
    expect(watcher.observer.events().at(-2)?.detail).toBe('1 of 3 voters alive, 2 needed')
    // seen within an observer tick of the deletion, not a lease later
    expect(c.clock.nowMs() - steppedDownAtMs!).toBeLessThanOrEqual(500)
  })

  it('in epoch mode, on heal, the loser of two leaders records that it stepped down, and its follower that the winner took over from it', async () => {
    const c = await ElectionCluster.start(3, { voters: 2 })
    cluster = c
    c.isolate(0) // node 0 leads alone; node 1 leads for itself and node 2
    await c.run(8_000)
    expect(c.members[0]!.election.isLeader() && c.members[1]!.election.isLeader()).toBe(true)
    const [e0, e1] = [c.members[0]!.election.leaderEpoch()!, c.members[1]!.election.leaderEpoch()!]
    expect(e0).toBe(e1) // a tie: the lower node id wins on heal
    const [b1, b2] = [c.members[1]!.observer.events().length, c.members[2]!.observer.events().length]
    c.heal()
    await c.run(2_000)
    const winner = `${short(c.members[0]!.id)}@${e0}`
    expect(brief(c.members[1]!.observer.events().slice(b1))).toEqual([`stepped-down ${short(c.members[1]!.id)}@${e1}`, `leader-elected ${winner}`])
    // its follower sees the winner's lease before the loser's deletion: one event naming both
    expect(c.members[2]!.observer.events().slice(b2).map(x => [x.type, x.detail])).toEqual([
      ['leader-elected', `${c.members[0]!.id} (epoch ${e0}), after ${c.members[1]!.id} (epoch ${e1})`]
    ])
    expect(c.members[0]!.observer.events().map(x => x.type)).toEqual(['leader-elected'])
  })

  it('judges no quorum during the grace after its start, then says it is lost once', async () => {
    const c = await ElectionCluster.start(3, { observer: { quorumGraceMs: 4_000 } })
    cluster = c
    c.isolate(2)
    await c.run(3_500)
    expect(c.members[2]!.observer.events()).toEqual([])
    expect(c.members[2]!.observer.current().quorum).toBeNull()
    await c.run(3_000)
    expect(c.members[2]!.observer.events().map(e => [e.type, e.detail])).toEqual([['quorum-lost', '1 of 3 voters alive, 2 needed']])
  })

  it('keeps at most maxEvents, dropping the oldest, and still counts every event', async () => {
    const { c, leader } = await electedCluster(3, { observer: { maxEvents: 2 } })
    const f = c.members.find(m => m.index !== leader)!
    c.isolate(f.index)
    await c.run(TIMINGS.leaseMs + 1_000)
    c.heal()
    await c.run(2_000)
    const counts = f.observer.counts()
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    expect(total).toBe(5) // elected, quorum lost, expired, quorum regained, elected
    expect(f.observer.events(1_000).map(e => [e.seq, e.type])).toEqual([[4, 'quorum-regained'], [5, 'leader-elected']])
    expect(f.observer.events(1).map(e => e.seq)).toEqual([5])
  })

  it('refuses settings out of range with a ConfigError naming the key', () => {
    const c = { election: { currentLeader: () => undefined, voters: () => [], mode: () => 'epoch' as const, highestEpoch: 0, onTick: () => () => true }, state: {} as never, clock: {} as never, logger: createLogger({ level: 'silent' }), isAlive: () => true }
    expect(() => new ElectionObserver(c, { maxEvents: 0 })).toThrow(ConfigError)
    expect(() => new ElectionObserver(c, { maxEvents: 0 })).toThrow(/electionObserver\.maxEvents/)
    expect(() => new ElectionObserver(c, { maxEvents: 10_001 })).toThrow(/electionObserver\.maxEvents/)
    expect(() => new ElectionObserver(c, { quorumGraceMs: -1 })).toThrow(/electionObserver\.quorumGraceMs/)
  })
})

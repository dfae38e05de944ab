import { describe, expect, it } from 'vitest'
import { NO_OBSERVATION, electionTransitions, quorumText, type ElectionObservation, type LeaderRef } from '../../../src/election/transitions.js'

const L = (nodeId: string, epoch: number): LeaderRef => ({ nodeId, epoch })
const obs = (over: Partial<ElectionObservation> = {}): ElectionObservation => ({ ...NO_OBSERVATION, highestEpoch: 4, ...over })
/** A follower that knows `leader`, whose lease entry is in the document. */
const led = (nodeId: string, epoch: number, over: Partial<ElectionObservation> = {}): ElectionObservation =>
  obs({ leader: L(nodeId, epoch), leases: [L(nodeId, epoch)], highestEpoch: epoch, ...over })
const q = (alive: number, voters = 3): ElectionObservation['quorum'] => ({ voters, alive })

describe('electionTransitions', () => {
  it.each<[string, ElectionObservation, ElectionObservation, Array<[string, string, number, string]>]>([
    ['nothing changes', led('a', 4), led('a', 4), []],
    ['a first leader seen', obs(), led('a', 4), [['leader-elected', 'a', 4, 'a (epoch 4)']]],
    ['the leader went silent: its entry is still there, no renewal seen within a lease', led('a', 4), obs({ leases: [L('a', 4)] }), [['lease-expired', 'a', 4, 'a (epoch 4) not renewed within a lease']]],
    ['the leader deleted its lease entry: stepped down (at once, not a lease later)', led('a', 4), obs({ leader: L('a', 4), leases: [] }), [['stepped-down', 'a', 4, 'a (epoch 4) deleted its lease']]],
    ['a known leader whose entry was never seen counts as none', obs(), obs({ leader: L('a', 4), leases: [] }), []],
    ['stepped down, and another leader in the same look', led('a', 4), led('b', 5), [['stepped-down', 'a', 4, 'a (epoch 4) deleted its lease'], ['leader-elected', 'b', 5, 'b (epoch 5)']]],
    ['a higher epoch wins while the old entry is still there: one event, naming the old leader', led('a', 4), led('b', 5, { leases: [L('a', 4), L('b', 5)] }), [['leader-elected', 'b', 5, 'b (epoch 5), after a (epoch 4)']]],
    ['the same node re-elected under a higher epoch', led('a', 4), led('a', 6), [['stepped-down', 'a', 4, 'a (epoch 4) deleted its lease'], ['leader-elected', 'a', 6, 'a (epoch 6)']]],
    ['quorum lost while a leader is still known', led('a', 4, { quorum: q(3) }), led('a', 4, { quorum: q(1) }), [['quorum-lost', 'self', 4, '1 of 3 voters alive, 2 needed']]],
    ['quorum lost, reported once while it lasts', led('a', 4, { quorum: q(1) }), led('a', 4, { quorum: q(1, 3) }), []],
    ['quorum found lost at the first judgement (after the start grace, or on entering majority mode)', obs(), obs({ quorum: q(2, 5) }), [['quorum-lost', 'self', 4, '2 of 5 voters alive, 3 needed']]],
    ['quorum found at the first judgement: nothing to say', obs(), obs({ quorum: q(2) }), []],
    ['quorum regained, then a leader elected', obs({ quorum: q(1) }), led('b', 5, { quorum: q(2) }), [['quorum-regained', 'self', 5, '2 of 3 voters alive, 2 needed'], ['leader-elected', 'b', 5, 'b (epoch 5)']]],
    ['quorum lost and the lease expired in one look', led('a', 4, { quorum: q(3) }), obs({ leases: [L('a', 4)], quorum: q(1) }), [['quorum-lost', 'self', 4, '1 of 3 voters alive, 2 needed'], ['lease-expired', 'a', 4, 'a (epoch 4) not renewed within a lease']]],
    ['leaving majority mode says nothing', obs({ quorum: q(1) }), obs({ quorum: null }), []]
  ])('%s', (_name, prev, next, want) => {
    expect(electionTransitions(prev, next, 'self').map(t => [t.type, t.node, t.epoch, t.detail])).toEqual(want)
  })

  it('phrases the quorum as "k of n voters alive, m needed"', () => {
    expect(quorumText({ voters: 3, alive: 1 })).toBe('1 of 3 voters alive, 2 needed')
    expect(quorumText({ voters: 4, alive: 2 })).toBe('2 of 4 voters alive, 3 needed')
  })
})

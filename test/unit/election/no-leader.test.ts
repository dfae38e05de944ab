import { describe, expect, it } from 'vitest'
import { whyNoLeader, type NoLeaderCause, type NoLeaderInput } from '../../../src/election/no-leader.js'

const input = (over: Partial<NoLeaderInput> = {}): NoLeaderInput => ({
  mode: 'majority', quorum: { voters: 3, alive: 3 }, role: 'follower', highestEpoch: 4, candidates: [], notStanding: null, notEligible: null, ...over
})

describe('whyNoLeader', () => {
  it.each<[string, Partial<NoLeaderInput>, NoLeaderCause, string]>([
    ['too few voters alive', { quorum: { voters: 3, alive: 1 } }, 'no-quorum', '1 of 3 voters alive, 2 needed'],
    ['too few voters alive, even while others stand', { quorum: { voters: 5, alive: 2 }, candidates: [{ nodeId: 'n2', epoch: 5 }] }, 'no-quorum', '2 of 5 voters alive, 3 needed'],
    ['this node stands', { role: 'candidate', highestEpoch: 7 }, 'self-standing', 'election in progress: this node stands for epoch 7'],
    ['another node stands', { candidates: [{ nodeId: 'n2', epoch: 5 }] }, 'others-standing', 'election in progress: n2 stands for epoch 5'],
    ['several stand: the highest epoch', { candidates: [{ nodeId: 'n2', epoch: 5 }, { nodeId: 'n3', epoch: 6 }] }, 'others-standing', 'election in progress: n3 stands for epoch 6 (2 candidates)'],
    ['isolated: this node will not stand', { notStanding: 'this node has not reached any peer' }, 'not-standing', 'nobody stands and this node will not: this node has not reached any peer'],
    ['just started, no verdict on the voters yet', { quorum: null }, 'starting', 'just started: waiting about a lease for the voters\' heartbeats'],
    ['not eligible and nobody stands', { notEligible: 'node.leaderEligible is false' }, 'not-eligible', 'nobody stands; this node may not stand (node.leaderEligible is false)'],
    ['epoch mode, no candidate', { mode: 'epoch', quorum: null }, 'nobody-standing', 'epoch mode: nobody stands yet, a node stands after its election back-off'],
    ['a quorum, nobody standing yet', {}, 'nobody-standing', '3 of 3 voters alive, 2 needed: nobody stands yet, a node stands after its election back-off'],
    ['epoch mode ignores the quorum', { mode: 'epoch', quorum: { voters: 3, alive: 1 }, candidates: [{ nodeId: 'n2', epoch: 1 }] }, 'others-standing', 'election in progress: n2 stands for epoch 1']
  ])('%s', (_n, over, cause, text) => {
    expect(whyNoLeader(input(over))).toEqual({ cause, text })
  })
})

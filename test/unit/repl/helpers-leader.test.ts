import { describe, expect, it } from 'vitest'
import { makeHelpers } from '../../../src/repl/helpers.js'

describe('leader() in the REPL', () => {
  it('says why there is no leader in words, beside the raw lease', async () => {
    const lease = {
      noLeader: { cause: 'no-quorum', text: '1 of 3 voters alive, 2 needed' }, leader: null, epoch: null, isLeader: false, role: 'follower',
      leaseMs: null, leaseRemainingMs: null, round: null, highestEpoch: 3, mode: 'majority', voters: ['a', 'b', 'c'], quorum: { voters: 3, alive: 1 }
    }
    const shown = await makeHelpers(async () => lease, () => 0).leader?.run()
    expect(shown?.text).toMatch(/\nnoLeader\s+1 of 3 voters alive, 2 needed\n/)
    expect(shown?.data).toEqual(lease)
  })
})

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

describe('whyNot() in the REPL', () => {
  it('prints each node\'s reason whole, the node named by the prefix the reasons use', async () => {
    const note = 'not taking selfplay: retired (takes no new work); health DEAD (only ALIVE nodes get new work)'
    const reply = {
      config: 'hex8_2p', verdict: 'not scheduled',
      reasons: ['no node is taking selfplay: 12D3KooWAb… retired (takes no new work), health DEAD (only ALIVE nodes get new work)'],
      nodes: [{ node: '12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefgh', eligible: false, weight: 8, share: '8.9%', jobs: '0/0', note }]
    }
    const shown = await makeHelpers(async () => reply, () => 0).whyNot?.run('hex8_2p')
    expect(shown?.text).toContain(note)
    expect(shown?.text).toMatch(/\n12D3KooWAbCd…\s+false\s+8/)
  })
})

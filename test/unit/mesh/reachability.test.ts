import { describe, expect, it } from 'vitest'
import { decideReachability, type DialBackAnswer } from '../../../src/mesh/reachability.js'

const A = '/ip4/10.0.0.5/tcp/4100'
const ok = (peer: string): DialBackAnswer => ({ peer, ok: true, addr: A })
const no = (peer: string, cause = 'unreachable'): DialBackAnswer => ({ peer, ok: false, cause })

describe('decideReachability', () => {
  it.each<[string, string[], DialBackAnswer[], string, RegExp]>([
    ['one peer dialled back: public', [A], [no('p1'), ok('p2')], 'public', /dialled back directly by 1 of 2 peer\(s\) on \/ip4\/10\.0\.0\.5/],
    ['every peer failed: private, with the causes', [A], [no('p1'), no('p2', 'timeout')], 'private', /2 peer\(s\) could not dial .* \(unreachable, timeout\): behind NAT/],
    ['no answer yet: unknown', [A], [], 'unknown', /no peer has answered/],
    ['nothing to advertise: private', [], [ok('p1')], 'private', /no direct address/]
  ])('%s', (_what, addrs, answers, state, why) => {
    const r = decideReachability(addrs, answers)
    expect(r.state).toBe(state)
    expect(r.why).toMatch(why)
  })
})

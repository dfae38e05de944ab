/**
 * The pure parts of riftmesh's TCP hole punch (src/mesh/hole-punch.ts): who starts it, which
 * frames are accepted, which observed address is this node's NAT, and the bounded memory of
 * past attempts. The punch itself runs between two NATed hosts in test/hosts/nat.test.ts (on
 * loopback nothing drops the first SYN, so two simultaneous dials do not meet there).
 */
import { describe, expect, it } from 'vitest'
import { isPunchInitiator, natAddress, parsePunchMessage, rememberNewest } from '../../../src/mesh/hole-punch.js'

describe('hole punch', () => {
  it('is started by the smaller peer id only', () => {
    expect(isPunchInitiator('12D3KooWA', '12D3KooWB')).toBe(true)
    expect(isPunchInitiator('12D3KooWB', '12D3KooWA')).toBe(false)
  })

  // [frame, accepted as]
  const FRAMES: Array<[unknown, unknown]> = [
    [{ ip: '203.0.113.7', port: 40_123 }, { ip: '203.0.113.7', port: 40_123 }],
    [{ sync: true }, { sync: true }],
    [{ ip: '203.0.113.7', port: 80 }, undefined], // a privileged port: nobody punches from it
    [{ ip: '203.0.113.7', port: 70_000 }, undefined],
    [{ ip: '203.0.113.7', port: 4.5 }, undefined],
    [{ ip: '::1', port: 40_000 }, undefined], // IPv4 only
    [{ ip: 'example.org', port: 40_000 }, undefined],
    [{ sync: 'yes' }, undefined],
    [null, undefined],
    ['203.0.113.7:40000', undefined]
  ]
  it.each(FRAMES)('frame %j is read as %j', (frame, expected) => {
    expect(parsePunchMessage(frame)).toEqual(expected)
  })

  // [observed by a directly connected peer, this node's own addresses, NAT address]
  const OBSERVED: Array<[string | undefined, string[], string | undefined]> = [
    ['/ip4/203.0.113.7/tcp/51234', ['/ip4/192.168.1.20/tcp/4100'], '203.0.113.7'],
    ['/ip4/192.168.1.20/tcp/4100', ['/ip4/192.168.1.20/tcp/4100'], undefined], // not behind NAT
    ['/ip4/203.0.113.7/tcp/4100/p2p/12D3KooWR/p2p-circuit', ['/ip4/192.168.1.20/tcp/4100'], undefined],
    ['/ip6/2001:db8::1/tcp/4100', ['/ip4/192.168.1.20/tcp/4100'], undefined],
    [undefined, ['/ip4/192.168.1.20/tcp/4100'], undefined]
  ]
  it.each(OBSERVED)('observed %s with own %j: NAT address %s', (observed, own, expected) => {
    expect(natAddress(observed, own)).toBe(expected)
  })

  it('remembers at most max peers, forgetting the oldest, and a repeated peer becomes the newest', () => {
    const m = new Map<string, number>()
    for (const [i, p] of ['a', 'b', 'c'].entries()) rememberNewest(m, p, i, 3)
    rememberNewest(m, 'a', 10, 3) // a is the newest now
    rememberNewest(m, 'd', 11, 3) // b, the oldest, goes
    expect([...m.keys()]).toEqual(['c', 'a', 'd'])
  })
})

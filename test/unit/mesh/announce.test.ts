import { describe, expect, it } from 'vitest'
import { announcedAddrs, dialAddrs, isRelayed, rangeMatcher } from '../../../src/mesh/addrs.js'
import { announceAddrProblem, noAnnounceProblem } from '../../../src/config/multiaddrs.js'

const P = '12D3KooWPeerPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP'
const R = '12D3KooWRelayRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR'
const relayed = `/ip4/198.51.100.1/tcp/4100/p2p/${R}/p2p-circuit/p2p/${P}`

describe('announcedAddrs', () => {
  it.each<[string, string[], { announce: string[], noAnnounce: string[] }, string[]]>([
    ['no rules: the advertisable listen addresses',
      ['/ip4/10.0.0.5/tcp/4100', '/ip4/127.0.0.1/tcp/4100'], { announce: [], noAnnounce: [] }, ['/ip4/10.0.0.5/tcp/4100']],
    ['announced addresses replace the direct listen ones (a port-mapped host), with or without the peer id',
      ['/ip4/172.17.0.2/tcp/4100/p2p/' + P, '/ip4/203.0.113.7/tcp/41000/p2p/' + P], { announce: ['/ip4/203.0.113.7/tcp/41000'], noAnnounce: [] }, ['/ip4/203.0.113.7/tcp/41000/p2p/' + P]],
    ['relayed addresses stay beside announced ones',
      ['/ip4/172.17.0.2/tcp/4100', '/ip4/203.0.113.7/tcp/41000', relayed], { announce: ['/ip4/203.0.113.7/tcp/41000'], noAnnounce: [] }, ['/ip4/203.0.113.7/tcp/41000', relayed]],
    ['a denied range is never advertised; relayed addresses are not judged by it',
      ['/ip4/172.17.0.2/tcp/4100', '/ip4/10.0.0.5/tcp/4100', relayed], { announce: [], noAnnounce: ['/ip4/172.16.0.0/ipcidr/12', '/ip4/198.51.100.0/ipcidr/24'] }, ['/ip4/10.0.0.5/tcp/4100', relayed]],
    ['a single denied address (no /ipcidr) and IPv6 ranges',
      ['/ip4/10.0.0.5/tcp/4100', '/ip4/10.0.0.6/tcp/4100', '/ip6/fd00::1/tcp/4100'], { announce: [], noAnnounce: ['/ip4/10.0.0.5', '/ip6/fd00::/ipcidr/8'] }, ['/ip4/10.0.0.6/tcp/4100']]
  ])('%s', (_what, addrs, rules, want) => {
    expect(announcedAddrs(addrs, rules)).toEqual(want)
  })

  it('leaves relayed addresses out while the node is dialled directly', () => {
    expect(announcedAddrs(['/ip4/10.0.0.5/tcp/4100', relayed], { announce: [], noAnnounce: [], dropRelayed: true })).toEqual(['/ip4/10.0.0.5/tcp/4100'])
  })

  it('refuses a malformed range', () => {
    expect(() => rangeMatcher(['/ip4/10.0.0.0/tcp/1'])).toThrow(/not an address range/)
  })
})

describe('dialAddrs with relayed addresses', () => {
  it('dials direct addresses first, then relayed ones (a relayed address keeps its relay id)', () => {
    expect(dialAddrs(P, [relayed, '/ip4/192.168.1.2/tcp/4100'])).toEqual([`/ip4/192.168.1.2/tcp/4100/p2p/${P}`, relayed])
    expect(dialAddrs(P, [`/ip4/198.51.100.1/tcp/4100/p2p/${R}/p2p-circuit`])).toEqual([relayed])
    expect(isRelayed(relayed)).toBe(true)
  })
  it('drops a relayed address that leads to another peer', () => {
    expect(dialAddrs(P, [`/ip4/198.51.100.1/tcp/4100/p2p/${R}/p2p-circuit/p2p/${R}`])).toEqual([])
  })
})

describe('config: node.announce and node.noAnnounce', () => {
  it.each([
    ['/ip4/203.0.113.7/tcp/41000', null],
    ['/dns4/gpu1.example.org/tcp/41000', null],
    ['/ip4/0.0.0.0/tcp/4100', /not 0\.0\.0\.0/],
    ['/ip4/203.0.113.7/udp/41000', /over TCP/],
    ['/ip4/203.0.113.7/tcp/41000/p2p/' + P, /over TCP/]
  ])('announce %s', (text, want) => {
    const got = announceAddrProblem(text)
    if (want === null) expect(got).toBeNull()
    else expect(got).toMatch(want)
  })
  it.each([
    ['/ip4/172.16.0.0/ipcidr/12', null],
    ['/ip4/10.0.0.5', null],
    ['/ip6/fd00::/ipcidr/8', null],
    ['/ip4/10.0.0.0/ipcidr/33', /0\.\.32/],
    ['/ip4/10.0.0.0/tcp/1', /ipcidr/]
  ])('noAnnounce %s', (text, want) => {
    const got = noAnnounceProblem(text)
    if (want === null) expect(got).toBeNull()
    else expect(got).toMatch(want)
  })
})

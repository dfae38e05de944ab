import { describe, expect, it } from 'vitest'
import { advertisable, dialAddrs, dialCause, isLinkLocal, isLoopback } from '../../../src/mesh/addrs.js'

const P = '12D3KooWPeerA'
const Q = '12D3KooWPeerB'

describe('advertisable', () => {
  it.each([
    ['a node on 0.0.0.0 with a LAN address advertises only the LAN address',
      ['/ip4/127.0.0.1/tcp/4100', '/ip4/10.1.0.5/tcp/4100'], ['/ip4/10.1.0.5/tcp/4100']],
    ['link-local and IPv6 loopback are dropped too',
      ['/ip6/::1/tcp/4100', '/ip6/fe80::1/tcp/4100', '/ip4/169.254.3.4/tcp/4100', '/ip4/192.168.1.9/tcp/4100'], ['/ip4/192.168.1.9/tcp/4100']],
    ['a node with only loopback (a cluster on one machine) keeps it',
      ['/ip4/127.0.0.1/tcp/4100'], ['/ip4/127.0.0.1/tcp/4100']],
    ['unspecified addresses are never advertised',
      ['/ip4/0.0.0.0/tcp/4100', '/ip4/127.0.0.1/tcp/4100'], ['/ip4/127.0.0.1/tcp/4100']],
    ['order is kept', ['/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.1/tcp/1'], ['/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.1/tcp/1']]
  ])('%s', (_what, addrs, want) => {
    expect(advertisable(addrs)).toEqual(want)
  })
})

describe('dialAddrs', () => {
  it('dials every address an old node advertised except its loopback, each with its peer id', () => {
    expect(dialAddrs(P, ['/ip4/127.0.0.1/tcp/4100', '/ip4/10.1.0.5/tcp/4100', '/ip4/10.2.0.5/tcp/4100/p2p/' + P]))
      .toEqual([`/ip4/10.1.0.5/tcp/4100/p2p/${P}`, `/ip4/10.2.0.5/tcp/4100/p2p/${P}`])
  })
  it('keeps loopback for a node that has nothing else, drops addresses of other peers and duplicates, and bounds the list', () => {
    expect(dialAddrs(P, ['/ip4/127.0.0.1/tcp/1', `/ip4/127.0.0.1/tcp/1/p2p/${P}`, `/ip4/10.0.0.1/tcp/1/p2p/${Q}`])).toEqual([`/ip4/127.0.0.1/tcp/1/p2p/${P}`])
    expect(dialAddrs(P, Array.from({ length: 40 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`), 16)).toHaveLength(16)
  })
  it('tells loopback and link-local addresses apart', () => {
    expect([isLoopback('/ip4/127.0.0.9/tcp/1'), isLoopback('/ip6/::1/tcp/1'), isLoopback('/ip4/10.0.0.1/tcp/1')]).toEqual([true, true, false])
    expect([isLinkLocal('/ip6/fe80::5/tcp/1'), isLinkLocal('/ip4/169.254.0.1/tcp/1'), isLinkLocal('/dns4/x/tcp/1')]).toEqual([true, true, false])
  })
})

const err = (message: string, name = 'Error', cause?: unknown): Error => Object.assign(new Error(message, { cause }), { name })

describe('dialCause', () => {
  it.each([
    ['a pnet mismatch (the reset during the encryption handshake)', err('cannot dial x: read ECONNRESET', 'MeshError', err('read ECONNRESET', 'EncryptionFailedError')), 'swarm-key'],
    ['another peer at the address', err('Payload identity key 12D3KooWOther does not match expected remote identity key 12D3KooWWanted', 'EncryptionFailedError'), 'peer-id'],
    ['the address leads back to this node', err('Payload identity key 12D3KooWSelf does not match expected remote identity key 12D3KooWWanted', 'EncryptionFailedError'), 'self'],
    ['nothing listening', err('connection error 10.0.0.1:4100: connect ECONNREFUSED 10.0.0.1:4100'), 'refused'],
    ['no route', err('connect EHOSTUNREACH 10.9.9.9:4100'), 'unreachable'],
    ['the dial timeout', err('The operation was aborted due to timeout', 'TimeoutError'), 'timeout'],
    ['anything else', err('weird'), 'other']
  ])('%s', (_what, e, want) => {
    expect(dialCause(e, '12D3KooWSelf')).toBe(want)
  })
})

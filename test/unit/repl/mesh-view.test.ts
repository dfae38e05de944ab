import { describe, expect, it } from 'vitest'
import { meshTable } from '../../../src/repl/mesh-view.js'
import type { MemberLink, MeshReport } from '../../../src/node/peer-manager.js'

const link = (nodeId: string, over: Partial<MemberLink>): MemberLink => ({ nodeId, connected: true, addr: `/ip4/10.0.0.2/tcp/4100/p2p/${nodeId}`, direction: 'outbound', path: 'direct', health: 'ALIVE', lastError: null, ...over })

function report (peers: MemberLink[], reachability: MeshReport['reachability']): MeshReport {
  return { connectedPeers: peers.length, members: peers.length, aliveMembers: peers.length, connectedAliveMembers: peers.length, summary: '', everConnected: true, isolated: false, warning: null, bootstrap: [], peers, reachability }
}

describe('meshTable', () => {
  it('says per member whether it is reached directly or through a relay, and heads the table with this node\'s reachability', () => {
    const out = meshTable(report([
      link('node-a', {}),
      link('node-b', { path: 'relayed', addr: '/ip4/10.0.0.3/tcp/4100/p2p/relay/p2p-circuit/p2p/node-b', direction: 'inbound' }),
      link('node-c', { connected: false, path: null, addr: null, direction: null })
    ], { state: 'private', why: '2 peer(s) could not dial /ip4/192.168.1.2/tcp/4100 (unreachable): behind NAT or a firewall' }))
    const lines = out.split('\n')
    expect(lines[0]).toBe('reachability: private — 2 peer(s) could not dial /ip4/192.168.1.2/tcp/4100 (unreachable): behind NAT or a firewall')
    expect(lines.find(l => l.includes('node-a'))).toMatch(/ALIVE\s+direct\s+\/ip4\/10\.0\.0\.2\/tcp\/4100 \(out\)/)
    expect(lines.find(l => l.includes('node-b'))).toMatch(/relayed\s+\/ip4\/10\.0\.0\.3\/tcp\/4100 \(in\)/)
    expect(lines.find(l => l.includes('node-c'))).toMatch(/\bno\b/)
  })

  it('has no reachability line when relaying is off', () => {
    expect(meshTable(report([link('node-a', {})], null))).not.toMatch(/reachability/)
  })
})

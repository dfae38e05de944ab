/** The members table of `status` and the REPL's `mesh()`: one row per member of the mesh report. */
import type { MeshReport } from '../node/peer-manager.js'
import { shortId, table } from './format.js'

/**
 * This node's reachability (when relaying is on), then one row per member: connected or not,
 * directly or through a relay, the address in use (or the last dial error and its cause).
 */
export function meshTable (m: MeshReport, maxRows = 20): string {
  const reach = m.reachability === null || m.reachability === undefined ? [] : [`reachability: ${m.reachability.state} — ${m.reachability.why}`]
  return [...reach, table(m.peers.map(p => ({
    peer: shortId(p.nodeId),
    health: p.health ?? '-',
    connected: p.connected ? (p.path === 'relayed' ? 'relayed' : 'direct') : 'no',
    via: p.connected ? `${(p.addr ?? '-').replace(/\/p2p\/.*$/, '')} (${p.direction === 'inbound' ? 'in' : 'out'})` : (p.lastError === null ? '-' : `${p.lastError.cause}: ${p.lastError.error}`)
  })), { maxRows, maxCellChars: 48 })].join('\n')
}

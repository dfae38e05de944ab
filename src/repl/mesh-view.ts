/** The members table of `status` and the REPL's `mesh()`: one row per member of the mesh report. */
import type { MeshReport } from '../node/peer-manager.js'
import { shortId, table } from './format.js'

/** One row per member: connected or not, the address in use (or the last dial error and its cause). */
export function meshTable (m: MeshReport, maxRows = 20): string {
  return table(m.peers.map(p => ({
    peer: shortId(p.nodeId),
    health: p.health ?? '-',
    connected: p.connected ? 'yes' : 'no',
    via: p.connected ? `${(p.addr ?? '-').replace(/\/p2p\/.*$/, '')} (${p.direction === 'inbound' ? 'in' : 'out'})` : (p.lastError === null ? '-' : `${p.lastError.cause}: ${p.lastError.error}`)
  })), { maxRows, maxCellChars: 48 })
}

/**
 * Counts of messages dropped per peer and reason (malformed bytes, unknown version, oversized,
 * invalid update, spoofed sender, ...). Bounded: past `maxPeers` the least recently counted peer
 * is forgotten. Each (peer, reason) is logged the first time only.
 */
import type { Logger } from '../core/logger.js'

/** `cluster-name`: a sync STEP1 naming another cluster (this node then hangs up on the peer). */
export const DROP_REASONS = ['malformed', 'version', 'oversized', 'invalid-update', 'bad-doc-name', 'spoofed', 'protocol', 'cluster-name'] as const
export type DropReason = typeof DROP_REASONS[number]

export interface DropCountersInit {
  /** Most peers tracked. @default 1024 */
  maxPeers?: number
}

export class DropCounters {
  private readonly byPeer = new Map<string, Map<DropReason, number>>()
  private readonly totals = new Map<DropReason, number>()
  private readonly maxPeers: number

  constructor (private readonly log: Logger, init: DropCountersInit = {}) {
    this.maxPeers = init.maxPeers ?? 1024
  }

  record (peer: string, reason: DropReason, detail?: string): void {
    let m = this.byPeer.get(peer)
    if (m === undefined) {
      m = new Map()
      if (this.byPeer.size >= this.maxPeers) {
        const oldest = this.byPeer.keys().next().value
        if (oldest !== undefined) this.byPeer.delete(oldest)
      }
    } else {
      this.byPeer.delete(peer) // re-insert: most recent last
    }
    this.byPeer.set(peer, m)
    const n = (m.get(reason) ?? 0) + 1
    m.set(reason, n)
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1)
    if (n === 1) this.log.warn({ peer, reason, detail }, 'dropped a message from a peer')
  }

  total (): number {
    let t = 0
    for (const n of this.totals.values()) t += n
    return t
  }

  byReason (): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => a.localeCompare(b)))
  }

  perPeer (): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {}
    for (const [peer, m] of this.byPeer) out[peer] = Object.fromEntries(m)
    return out
  }
}

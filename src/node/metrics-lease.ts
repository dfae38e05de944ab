/**
 * LeaseWatch: how long the current leader's lease has left, as this node sees it. The lease
 * entry's `renewedAt` is the leader's wall clock, which may differ from ours by any amount, so —
 * like the election's own observer — each renewal (a new nodeId/epoch/round) is timed on this
 * node's monotonic clock when it arrives, and the lease runs `leaseMs` from there. For `status`,
 * `leader()` and the metrics. It looks again when the election's entries change (leases, and the
 * grants that make a lease count), not at every control update: reading the leases costs a pass
 * over the trust log, and most control updates are settings.
 */
import type * as Y from 'yjs'
import type { Clock } from '../core/clock.js'
import type { ClusterState } from '../state/cluster-state.js'

export interface LeaseReading {
  nodeId: string
  epoch: number
  round: number
  leaseMs: number
  /** ms left on this node's clock; ≤ 0 once it lapsed without a renewal. */
  remainingMs: number
}

export interface LeaseWatchComponents { state: ClusterState, clock: Clock }

export class LeaseWatch {
  private seen = new Map<string, { key: string, atMs: number }>()
  private off: (() => void) | undefined

  constructor (private readonly c: LeaseWatchComponents) {}

  start (): void {
    if (this.off !== undefined) return
    this.observe()
    const election = (this.c.state.docs.get('control') as Y.Doc).getMap('election')
    const look = (): void => this.observe()
    election.observe(look)
    this.off = () => election.unobserve(look)
  }

  stop (): void {
    this.off?.()
    this.off = undefined
  }

  /** Time every lease entry whose renewal changed since the last look. */
  observe (): void {
    const now = this.c.clock.monoMs()
    const live = new Set<string>()
    for (const l of this.c.state.leases()) {
      live.add(l.nodeId)
      const key = `${l.epoch}/${l.round}`
      if (this.seen.get(l.nodeId)?.key !== key) this.seen.set(l.nodeId, { key, atMs: now })
    }
    for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id)
  }

  /** The lease of `nodeId` (the leader), or null when it wrote none. */
  reading (nodeId: string): LeaseReading | null {
    this.observe()
    const l = this.c.state.leases().find(x => x.nodeId === nodeId)
    const at = this.seen.get(nodeId)
    if (l === undefined || at === undefined) return null
    return { nodeId, epoch: l.epoch, round: l.round, leaseMs: l.leaseMs, remainingMs: l.leaseMs - (this.c.clock.monoMs() - at.atMs) }
  }
}

/**
 * The election's transitions as one node sees them — of every node, not only its own role: a
 * leader elected, a lease that expired (its leader went silent), a leader that stepped down
 * (deleted its lease entry), the voters' quorum lost or regained. A pure function of two
 * successive observations; the ElectionObserver gathers them, logs, counts and keeps them.
 */
import { majority } from './rules.js'

export const ELECTION_TRANSITION_TYPES = ['leader-elected', 'lease-expired', 'stepped-down', 'quorum-lost', 'quorum-regained'] as const
export type ElectionTransitionType = typeof ELECTION_TRANSITION_TYPES[number]

export interface ElectionTransition {
  type: ElectionTransitionType
  /** The leader's epoch; for a quorum transition, the highest epoch the observing node knows. */
  epoch: number
  /** The leader concerned; for a quorum transition, the observing node. */
  node: string
  /** One line for people, e.g. `1 of 3 voters alive, 2 needed`. */
  detail: string
}

export interface LeaderRef { nodeId: string, epoch: number }

/** How many voters there are and how many the observing node sees alive (itself included). */
export interface QuorumView { voters: number, alive: number }

export interface ElectionObservation {
  /** The leader the node knows: itself while it holds a lease, or a lease it saw renewed within a lease. */
  leader: LeaderRef | null
  /** The lease entries in the document (a leader that stepped down deleted its own). */
  leases: readonly LeaderRef[]
  /** Majority mode: the voters and how many are alive; null in epoch mode or while not judged yet. */
  quorum: QuorumView | null
  /** The highest epoch the node knows. */
  highestEpoch: number
}

/** What a node has seen before its first observation. */
export const NO_OBSERVATION: ElectionObservation = { leader: null, leases: [], quorum: null, highestEpoch: 0 }

export function hasQuorum (q: QuorumView): boolean {
  return q.alive >= majority(q.voters)
}

/** E.g. `1 of 3 voters alive, 2 needed`. */
export function quorumText (q: QuorumView): string {
  return `${q.alive} of ${q.voters} voters alive, ${majority(q.voters)} needed`
}

const same = (a: LeaderRef | null, b: LeaderRef | null): boolean =>
  a === null || b === null ? a === b : a.nodeId === b.nodeId && a.epoch === b.epoch

/** The leader as long as its lease entry is in the document: one that deleted it stepped down. */
function backedLeader (o: ElectionObservation): LeaderRef | null {
  const l = o.leader
  return l !== null && o.leases.some(x => same(x, l)) ? l : null
}

const at = (l: LeaderRef): string => `${l.nodeId} (epoch ${l.epoch})`

/**
 * What changed from `prev` to `next`, as seen by node `selfId`: quorum transitions first (majority
 * mode, once judged), then the old leader's end — stepped down when its lease entry is gone,
 * expired when it is still there but no longer renewed — then the new leader. A leader replaced
 * while its entry is still there (a higher epoch won) ends in the new leader's event only.
 */
export function electionTransitions (prev: ElectionObservation, next: ElectionObservation, selfId: string): ElectionTransition[] {
  const out: ElectionTransition[] = []
  if (next.quorum !== null) {
    const ok = hasQuorum(next.quorum)
    const wasOk = prev.quorum === null ? null : hasQuorum(prev.quorum)
    if (!ok && wasOk !== false) out.push({ type: 'quorum-lost', epoch: next.highestEpoch, node: selfId, detail: quorumText(next.quorum) })
    if (ok && wasOk === false) out.push({ type: 'quorum-regained', epoch: next.highestEpoch, node: selfId, detail: quorumText(next.quorum) })
  }
  const was = backedLeader(prev)
  const now = backedLeader(next)
  if (same(was, now)) return out
  let superseded = ''
  if (was !== null) {
    if (!next.leases.some(x => same(x, was))) out.push({ type: 'stepped-down', epoch: was.epoch, node: was.nodeId, detail: `${at(was)} deleted its lease` })
    else if (now === null) out.push({ type: 'lease-expired', epoch: was.epoch, node: was.nodeId, detail: `${at(was)} not renewed within a lease` })
    else superseded = `, after ${at(was)}`
  }
  if (now !== null) out.push({ type: 'leader-elected', epoch: now.epoch, node: now.nodeId, detail: `${at(now)}${superseded}` })
  return out
}

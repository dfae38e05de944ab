/**
 * Why a node knows no leader, as data and in one line for `status` and `lease()`: too few voters
 * alive for a majority, an election under way (this node or another stands), this node not
 * standing (isolated, or not eligible), no verdict yet right after a start, or nobody standing
 * yet in epoch mode. A pure function of what the node sees; the first cause that applies wins,
 * the one an operator has to act on first.
 */
import { hasQuorum, quorumText, type QuorumView } from './transitions.js'

export interface NoLeaderInput {
  mode: 'majority' | 'epoch'
  /** Majority mode: the voters and how many are alive; null in epoch mode or before the first verdict. */
  quorum: QuorumView | null
  role: 'follower' | 'candidate' | 'leader'
  /** The epoch this node stands for while a candidate (its highest known epoch). */
  highestEpoch: number
  /** Live candidacies of other nodes (not renounced, renewed within a lease). */
  candidates: ReadonlyArray<{ nodeId: string, epoch: number }>
  /** Why this node does not stand (e.g. it reached no peer), or null. */
  notStanding: string | null
  /** Why this node may not stand at all (not in the `leaders` setting, node.leaderEligible false), or null. */
  notEligible: string | null
}

export type NoLeaderCause = 'no-quorum' | 'self-standing' | 'others-standing' | 'not-standing' | 'not-eligible' | 'starting' | 'nobody-standing'

export interface NoLeader {
  cause: NoLeaderCause
  /** One line, e.g. `1 of 3 voters alive, 2 needed`. */
  text: string
}

export function whyNoLeader (i: NoLeaderInput): NoLeader {
  if (i.mode === 'majority' && i.quorum !== null && !hasQuorum(i.quorum)) return { cause: 'no-quorum', text: quorumText(i.quorum) }
  if (i.role === 'candidate') return { cause: 'self-standing', text: `election in progress: this node stands for epoch ${i.highestEpoch}` }
  const c = [...i.candidates].sort((a, b) => b.epoch - a.epoch)[0]
  if (c !== undefined) {
    const more = i.candidates.length > 1 ? ` (${i.candidates.length} candidates)` : ''
    return { cause: 'others-standing', text: `election in progress: ${c.nodeId} stands for epoch ${c.epoch}${more}` }
  }
  if (i.notStanding !== null) return { cause: 'not-standing', text: `nobody stands and this node will not: ${i.notStanding}` }
  const self = i.notEligible === null ? '' : `; this node may not stand (${i.notEligible})`
  if (i.mode === 'majority' && i.quorum === null) return { cause: 'starting', text: `just started: waiting about a lease for the voters' heartbeats${self}` }
  if (i.notEligible !== null) return { cause: 'not-eligible', text: `nobody stands; this node may not stand (${i.notEligible})` }
  const where = i.mode === 'epoch' ? 'epoch mode: nobody stands yet' : `${quorumText(i.quorum as QuorumView)}: nobody stands yet`
  return { cause: 'nobody-standing', text: `${where}, a node stands after its election back-off` }
}

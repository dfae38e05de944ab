/**
 * What a list of voters gives up, judged from one node's view of the cluster (a pure function:
 * the `setSetting` control op gathers the view and refuses a risky list unless forced). Each
 * protection lost is one phrase naming it and why:
 * - split-brain protection: fewer than 3 voters run the election in epoch mode (the other checks
 *   then matter no more: in epoch mode any node may lead);
 * - a leader: a majority of the voters are not nodes of this cluster, or too few are alive;
 * - fault tolerance: some voters are not alive, so fewer voter failures are tolerated.
 */
import { MIN_MAJORITY_VOTERS } from '../state/settings-registry.js'
import { majority } from './rules.js'

export interface VoterView {
  selfId: string
  /** Node ids in the document's nodes table. */
  known: ReadonlySet<string>
  /** The failure detector's verdict on a node (ALIVE, SUSPECT, DEAD), or undefined if never heard. */
  health: (nodeId: string) => string | undefined
  /** The configured election mode (`election.mode`): in epoch mode voters protect nothing. */
  mode: 'majority' | 'epoch'
}

/** Most ids a phrase names before it says how many more. */
const MAX_IDS_NAMED = 3

function ids (list: readonly string[]): string {
  const named = list.slice(0, MAX_IDS_NAMED).join(', ')
  return list.length > MAX_IDS_NAMED ? `${named} and ${list.length - MAX_IDS_NAMED} more` : named
}

/** The protections `voters` would give up; empty when it gives up none. */
export function votersRisks (voters: readonly string[], view: VoterView): string[] {
  if (view.mode === 'epoch') return []
  const n = voters.length
  const losses: string[] = []
  const unknown = voters.filter(v => !view.known.has(v))
  if (n < MIN_MAJORITY_VOTERS) {
    const note = unknown.length > 0 ? ` (and ${ids(unknown)} ${unknown.length === 1 ? 'is not a node' : 'are not nodes'} of this cluster)` : ''
    losses.push(`split-brain protection: ${n} voter(s) is fewer than ${MIN_MAJORITY_VOTERS}, so the election runs in epoch mode and each side of a network partition may elect its own leader${note}`)
    return losses
  }
  const unknownMajority = unknown.length * 2 > n
  if (unknownMajority) {
    losses.push(`a leader: ${unknown.length} of ${n} voters are not nodes of this cluster (${ids(unknown)}), so no majority can grant a lease until they join`)
  }
  const down = voters.filter(v => v !== view.selfId && view.health(v) !== 'ALIVE')
  const named = unknownMajority ? down.filter(v => view.known.has(v)) : down
  if (named.length > 0) {
    const alive = n - down.length
    const need = majority(n)
    const what = named.map(v => `${v} (${view.known.has(v) ? (view.health(v) ?? 'never heard') : 'not a node of this cluster'})`)
    losses.push(alive < need
      ? `a leader: ${ids(what)} not alive here, so ${alive} of ${n} voters are up and ${need} are needed`
      : `fault tolerance: ${ids(what)} not alive here, so ${alive} of ${n} voters are up and ${alive === need ? 'the next voter failure leaves the cluster without a leader' : `only ${alive - need} more voter failure(s) are tolerated instead of ${n - need}`}`)
  }
  return losses
}

/**
 * What a `leaders` list would give up: a leader, when none of the listed nodes is alive here
 * (voters grant no one else, so the cluster would run leaderless until one is).
 */
export function leadersRisks (leaders: readonly string[], view: VoterView): string[] {
  const alive = leaders.filter(v => v === view.selfId || view.health(v) === 'ALIVE')
  if (alive.length > 0) return []
  const what = leaders.map(v => `${v} (${view.known.has(v) ? (view.health(v) ?? 'never heard') : 'not a node of this cluster'})`)
  return [`a leader: none of the listed nodes is alive here (${ids(what)}), and voters grant no one else`]
}

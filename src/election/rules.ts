/**
 * The election's decisions as pure functions of the merged view (the `election` entries), the
 * node's persisted promises and its own clock. The ElectionService gathers inputs, calls these
 * and applies the result. See docs/ARCHITECTURE.md (election) for the safety argument.
 */
import type { Candidacy, Grant, Lease } from '../state/schema.js'
import { hashString32 } from '../core/rng.js'

export interface ElectionTimings {
  /** Length of a lease, measured by the leader from the send time of the round the voters answered. */
  leaseMs: number
  /** How often the leader starts a new round (renewal). */
  renewIntervalMs: number
  /** The leader stops this much before its lease ends (clock drift allowance). */
  driftMarginMs: number
  backoffMinMs: number
  backoffMaxMs: number
}

export interface ElectionView {
  candidacies: readonly Candidacy[]
  grants: readonly Grant[]
  leases: readonly Lease[]
}

/** Votes needed out of `voters`: a strict majority. */
export function majority (voterCount: number): number {
  return Math.floor(voterCount / 2) + 1
}

/** Voters this node counts as alive: itself, and those the failure detector says are alive. */
export function votersAlive (voters: readonly string[], selfId: string, isAlive: (nodeId: string) => boolean): number {
  return voters.filter(v => v === selfId || isAlive(v)).length
}

/** Fewer than 3 voters cannot form a meaningful majority: each side may elect ("epoch" mode). */
export function modeFor (voters: readonly string[], configured: 'majority' | 'epoch'): 'majority' | 'epoch' {
  return configured === 'epoch' || voters.length < 3 ? 'epoch' : 'majority'
}

/** Per-node, per-epoch deterministic wait before a candidacy, in [backoffMin, backoffMax). */
export function electionBackoffMs (t: ElectionTimings, nodeId: string, epoch: number): number {
  const u = hashString32(`${nodeId}/${epoch}`) / 0x1_0000_0000
  return t.backoffMinMs + u * (t.backoffMaxMs - t.backoffMinMs)
}

/** The highest epoch named by any entry. */
export function maxEpochOf (view: ElectionView): number {
  let m = 0
  for (const c of view.candidacies) m = Math.max(m, c.epoch)
  for (const g of view.grants) m = Math.max(m, g.epoch)
  for (const l of view.leases) m = Math.max(m, l.epoch)
  return m
}

/**
 * Voters (of `voters`) whose current grant is for (candidate, epoch) at round `round` or later.
 * A grant for a later round was written after that round was sent, so it also vouches for
 * `round` (each voter keeps only its latest grant).
 */
export function grantCount (view: ElectionView, voters: readonly string[], candidate: string, epoch: number, round: number): number {
  const set = new Set(voters)
  let n = 0
  for (const g of view.grants) if (set.has(g.voter) && g.candidate === candidate && g.epoch === epoch && g.round >= round) n++
  return n
}

export interface VoterState {
  /** Highest epoch this voter promised, and to whom (persisted before any grant). */
  promise: { epoch: number, candidate: string } | undefined
  /** Local clock time this voter last wrote a grant, and for which round. */
  lastGrantMs: number | undefined
  lastGrantRound: number
  /** Local clock time the node started: no grants for one lease after (it may have granted before the restart). */
  startedAtMs: number
}

export type VoteDecision =
  | { kind: 'none', reason: string }
  | { kind: 'renew', candidate: Candidacy }
  | { kind: 'grant', candidate: Candidacy }

/**
 * What a voter does now. Safety: at most one candidate per epoch (the promise); never an epoch
 * below the promise; no new candidate while a grant it gave is unexpired on its own clock
 * (unless that candidate renounced); nothing during the first lease after a start.
 */
export function decideVote (
  view: ElectionView, s: VoterState, nowMs: number, t: ElectionTimings,
  eligible: (nodeId: string) => boolean, preferred: string | null
): VoteDecision {
  if (nowMs - s.startedAtMs < t.leaseMs) return { kind: 'none', reason: 'quarantine after start' }
  const p = s.promise
  const live = view.candidacies.filter(c => !c.renounced && eligible(c.nodeId) && (p === undefined || c.epoch >= p.epoch))
  if (p !== undefined) {
    const mine = live.find(c => c.nodeId === p.candidate && c.epoch === p.epoch)
    if (mine !== undefined && mine.round > s.lastGrantRound) return { kind: 'renew', candidate: mine }
  }
  const newer = live.filter(c => p === undefined || c.epoch > p.epoch)
  if (newer.length === 0) return { kind: 'none', reason: 'no candidate above the promise' }
  if (p !== undefined && s.lastGrantMs !== undefined && nowMs - s.lastGrantMs < t.leaseMs) {
    const holder = view.candidacies.find(c => c.nodeId === p.candidate && c.epoch === p.epoch)
    const released = holder === undefined || holder.renounced
    if (!released) return { kind: 'none', reason: 'a grant is still unexpired' }
  }
  const best = [...newer].sort((a, b) =>
    (a.nodeId === preferred ? 0 : 1) - (b.nodeId === preferred ? 0 : 1) ||
    b.epoch - a.epoch ||
    (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))[0] as Candidacy
  return { kind: 'grant', candidate: best }
}

/**
 * The leader a node sees: a lease entry of the highest epoch any entry names (ties: lowest node
 * id) — in majority mode, any grant or lease. Leases of older epochs are stale (their writer
 * crashed before clearing them) and ignored.
 */
export function visibleLease (view: ElectionView, mode: 'majority' | 'epoch' = 'epoch'): Lease | undefined {
  // in majority mode only grants and (granted) leases decide the top epoch: a candidacy under a
  // higher epoch, which any member may write, must not hide the leader its voters still grant
  const top = maxEpochOf(mode === 'majority' ? { candidacies: [], grants: view.grants, leases: view.leases } : view)
  return view.leases.filter(l => l.epoch === top).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))[0]
}

/**
 * Whether `nodeId` holds epoch `epoch` as the document shows it: a strict majority of voters
 * currently grant it (any round). Workers check this before they run a dispatch, besides the
 * epoch fence; in epoch mode (fewer than 3 voters) there is no majority to check.
 */
export function holdsEpoch (view: ElectionView, voters: readonly string[], nodeId: string, epoch: number): boolean {
  if (voters.length < 3) return true
  return grantCount(view, voters, nodeId, epoch, 0) >= majority(voters.length)
}

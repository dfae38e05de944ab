import { describe, expect, it } from 'vitest'
import { decideVote, electionBackoffMs, grantCount, majority, maxEpochOf, modeFor, visibleLease, type ElectionView, type VoterState } from '../../../src/election/rules.js'
import type { Candidacy, Grant, Lease } from '../../../src/state/schema.js'

const t = { leaseMs: 4000, renewIntervalMs: 1000, driftMarginMs: 400, backoffMinMs: 200, backoffMaxMs: 1500 }
const cand = (nodeId: string, epoch: number, round = 0, renounced = false): Candidacy => ({ v: 1, nodeId, epoch, round, sentAt: 0, renounced })
const grant = (voter: string, candidate: string, epoch: number, round = 0): Grant => ({ v: 1, voter, candidate, epoch, round, leaseMs: 4000 })
const lease = (nodeId: string, epoch: number): Lease => ({ v: 1, nodeId, epoch, round: 0, leaseMs: 4000, voters: [] })
const view = (candidacies: Candidacy[] = [], grants: Grant[] = [], leases: Lease[] = []): ElectionView => ({ candidacies, grants, leases })
const voter = (over: Partial<VoterState> = {}): VoterState => ({ promise: undefined, lastGrantMs: undefined, lastGrantRound: -1, startedAtMs: 0, ...over })
const all = (): boolean => true

describe('majority and mode', () => {
  it.each([[1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4]])('%i voters need %i grants (a strict majority, never min(2, voters))', (n, want) => {
    expect(majority(n)).toBe(want)
  })
  it.each([[[], 'majority', 'epoch'], [['a', 'b'], 'majority', 'epoch'], [['a', 'b', 'c'], 'majority', 'majority'], [['a', 'b', 'c'], 'epoch', 'epoch']] as const)(
    'voters %j with %s configured run in %s mode', (voters, configured, want) => {
      expect(modeFor(voters, configured)).toBe(want)
    })
})

describe('grant counting', () => {
  it('counts only voters, only this candidate and epoch, and grants for this round or later', () => {
    const v = view([], [grant('a', 'x', 3, 2), grant('b', 'x', 3, 5), grant('c', 'x', 3, 1), grant('d', 'y', 3, 9), grant('z', 'x', 3, 9), grant('e', 'x', 2, 9)])
    expect(grantCount(v, ['a', 'b', 'c', 'd', 'e'], 'x', 3, 2)).toBe(2)
    expect(grantCount(v, ['a', 'b', 'c', 'd', 'e'], 'x', 3, 0)).toBe(3)
  })
})

describe('decideVote', () => {
  it('grants nothing during the first lease after a start', () => {
    expect(decideVote(view([cand('x', 1)]), voter({ startedAtMs: 1000 }), 4999, t, all, null)).toMatchObject({ kind: 'none', reason: 'quarantine after start' })
    expect(decideVote(view([cand('x', 1)]), voter({ startedAtMs: 1000 }), 5000, t, all, null)).toMatchObject({ kind: 'grant' })
  })

  it('never grants an epoch at or below its promise to another candidate', () => {
    const s = voter({ promise: { epoch: 5, candidate: 'x' }, lastGrantMs: 0, lastGrantRound: 3 })
    expect(decideVote(view([cand('y', 5), cand('z', 4)]), s, 100_000, t, all, null).kind).toBe('none')
  })

  it('renews its promised candidate for each new round', () => {
    const s = voter({ promise: { epoch: 5, candidate: 'x' }, lastGrantMs: 9000, lastGrantRound: 3 })
    expect(decideVote(view([cand('x', 5, 4)]), s, 9500, t, all, null)).toMatchObject({ kind: 'renew' })
    expect(decideVote(view([cand('x', 5, 3)]), s, 9500, t, all, null).kind).toBe('none')
  })

  it('does not grant a new candidate while its last grant is unexpired, unless the holder renounced', () => {
    const s = voter({ promise: { epoch: 5, candidate: 'x' }, lastGrantMs: 10_000, lastGrantRound: 2 })
    expect(decideVote(view([cand('x', 5, 2), cand('y', 6)]), s, 13_999, t, all, null)).toMatchObject({ kind: 'none', reason: 'a grant is still unexpired' })
    expect(decideVote(view([cand('x', 5, 2), cand('y', 6)]), s, 14_000, t, all, null)).toMatchObject({ kind: 'grant', candidate: { nodeId: 'y' } })
    expect(decideVote(view([cand('x', 5, 2, true), cand('y', 6)]), s, 11_000, t, all, null)).toMatchObject({ kind: 'grant', candidate: { nodeId: 'y' } })
  })

  it('prefers the preferred leader, then the highest epoch, then the lowest node id', () => {
    const cs = [cand('b', 7), cand('a', 7), cand('c', 6)]
    expect(decideVote(view(cs), voter(), 10_000, t, all, null)).toMatchObject({ candidate: { nodeId: 'a', epoch: 7 } })
    expect(decideVote(view(cs), voter(), 10_000, t, all, 'c')).toMatchObject({ candidate: { nodeId: 'c' } })
  })

  it('ignores renounced and ineligible candidates', () => {
    expect(decideVote(view([cand('a', 3, 0, true), cand('b', 3)]), voter(), 10_000, t, id => id !== 'b', null).kind).toBe('none')
  })
})

describe('leases and epochs', () => {
  it('sees only leases of the highest epoch any entry names', () => {
    expect(visibleLease(view([], [], [lease('old', 2), lease('new', 5)]))?.nodeId).toBe('new')
    expect(visibleLease(view([cand('c', 6)], [], [lease('new', 5)]))).toBeUndefined()
    expect(visibleLease(view([], [], [lease('b', 5), lease('a', 5)]))?.nodeId).toBe('a')
    expect(maxEpochOf(view([cand('c', 6)], [grant('v', 'c', 7)], [lease('new', 5)]))).toBe(7)
  })

  it('spreads candidacies with a deterministic per-node, per-epoch back-off in range', () => {
    const a = electionBackoffMs(t, 'node-a', 3)
    expect(electionBackoffMs(t, 'node-a', 3)).toBe(a)
    expect(electionBackoffMs(t, 'node-b', 3)).not.toBe(a)
    for (let e = 0; e < 50; e++) {
      const b = electionBackoffMs(t, 'node-x', e)
      expect(b).toBeGreaterThanOrEqual(200)
      expect(b).toBeLessThan(1500)
    }
  })
})

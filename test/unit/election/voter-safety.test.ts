import { describe, expect, it } from 'vitest'
import { leadersRisks, votersRisks, type VoterView } from '../../../src/election/voter-safety.js'

const health: Record<string, string> = { a: 'ALIVE', b: 'ALIVE', c: 'ALIVE', d: 'ALIVE', e: 'ALIVE', s: 'SUSPECT', x: 'DEAD' }
const view = (over: Partial<VoterView> = {}): VoterView => ({
  selfId: 'a',
  known: new Set(['a', 'b', 'c', 'd', 'e', 's', 'x']),
  health: id => health[id],
  mode: 'majority',
  ...over
})

describe('votersRisks', () => {
  const rows: Array<{ name: string, voters: string[], over?: Partial<VoterView>, want: RegExp[] }> = [
    { name: 'three alive known voters', voters: ['a', 'b', 'c'], want: [] },
    { name: 'five alive known voters', voters: ['a', 'b', 'c', 'd', 'e'], want: [] },
    { name: 'two voters', voters: ['a', 'b'], want: [/^split-brain protection: 2 voter\(s\) is fewer than 3, so the election runs in epoch mode and each side of a network partition may elect its own leader$/] },
    { name: 'one unknown voter', voters: ['notapeerid'], want: [/^split-brain protection: 1 voter\(s\) is fewer than 3, .* \(and notapeerid is not a node of this cluster\)$/] },
    { name: 'a majority of unknown voters', voters: ['a', 'q1', 'q2'], want: [/^a leader: 2 of 3 voters are not nodes of this cluster \(q1, q2\), so no majority can grant a lease until they join$/] },
    { name: 'one unknown voter of three', voters: ['a', 'b', 'q1'], want: [/^fault tolerance: q1 \(not a node of this cluster\) not alive here, so 2 of 3 voters are up and the next voter failure leaves the cluster without a leader$/] },
    { name: 'one dead voter of three', voters: ['a', 'b', 'x'], want: [/^fault tolerance: x \(DEAD\) not alive here, so 2 of 3 voters are up and the next voter failure/] },
    { name: 'two voters down of three', voters: ['a', 's', 'x'], want: [/^a leader: s \(SUSPECT\), x \(DEAD\) not alive here, so 1 of 3 voters are up and 2 are needed$/] },
    { name: 'one voter down of five', voters: ['a', 'b', 'c', 'd', 'x'], want: [/^fault tolerance: x \(DEAD\) not alive here, so 4 of 5 voters are up and only 1 more voter failure\(s\) are tolerated instead of 2$/] },
    { name: 'a voter never heard', voters: ['a', 'b', 'c'], over: { health: id => (id === 'c' ? undefined : 'ALIVE') }, want: [/^fault tolerance: c \(never heard\) not alive here/] },
    { name: 'unknown majority and a dead known voter', voters: ['x', 'q1', 'q2', 'q3', 'a'], want: [/^a leader: 3 of 5 voters are not nodes/, /^a leader: x \(DEAD\) not alive here, so 1 of 5 voters are up and 3 are needed$/] },
    { name: 'many named: the rest counted', voters: ['a', 'q1', 'q2', 'q3', 'q4'], want: [/\(q1, q2, q3 and 1 more\)/] },
    { name: 'configured epoch mode: nothing to lose', voters: ['a'], over: { mode: 'epoch' }, want: [] }
  ]
  it.each(rows)('$name', ({ voters, over, want }) => {
    const got = votersRisks(voters, view(over))
    expect(got).toHaveLength(want.length)
    want.forEach((re, i) => expect(got[i]).toMatch(re))
  })

  it('counts this node alive whatever the failure detector says of it', () => {
    expect(votersRisks(['a', 'b', 'c'], view({ health: id => (id === 'a' ? undefined : 'ALIVE') }))).toEqual([])
  })
})

describe('leadersRisks', () => {
  it('gives up a leader only when none of the listed nodes is alive here', () => {
    expect(leadersRisks(['x', 'b'], view())).toEqual([])
    expect(leadersRisks(['a'], view())).toEqual([]) // this node itself
    expect(leadersRisks(['x', 's', 'q1'], view())).toEqual(['a leader: none of the listed nodes is alive here (x (DEAD), s (SUSPECT), q1 (not a node of this cluster)), and voters grant no one else'])
  })
})

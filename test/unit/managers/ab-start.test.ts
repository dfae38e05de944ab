import { describe, expect, it } from 'vitest'
import { abStartProblem, type AbStartContext } from '../../../src/managers/ab-test.js'

const A = 'models/hex8_2p/a.json'
const B = 'models/hex8_2p/b.json'
const held = (...paths: string[]) => (p: string): boolean => paths.includes(p)

describe('abStartProblem', () => {
  const cases: Array<[string, AbStartContext, RegExp | null]> = [
    ['both models held, a tournament node: starts', { modelHeld: held(A, B), aliveNodes: 3, tournamentNodes: 1 }, null],
    ['model B on no node', { modelHeld: held(A), aliveNodes: 3, tournamentNodes: 1 }, /^model B models\/hex8_2p\/b\.json is on no node .*: give the path, under the data dir, of a model file that exists/],
    ['neither model', { modelHeld: held(), aliveNodes: 3, tournamentNodes: 1 }, /^model A models\/hex8_2p\/a\.json and model B models\/hex8_2p\/b\.json are on no node/],
    ['cannot tell (truncated manifests): not refused for the model', { modelHeld: () => undefined, aliveNodes: 3, tournamentNodes: 1 }, null],
    ['no node with the tournament capability', { modelHeld: held(A, B), aliveNodes: 3, tournamentNodes: 0 }, /^no node can run tournaments: none of the 3 alive node\(s\) has the tournament capability \(add it on a node: --set node\.capabilities=/],
    ['a missing model is said first', { modelHeld: held(B), aliveNodes: 1, tournamentNodes: 0 }, /^model A /]
  ]
  for (const [what, ctx, want] of cases) {
    it(what, () => {
      const got = abStartProblem({ modelA: A, modelB: B }, ctx)
      if (want === null) expect(got).toBeNull()
      else {
        expect(got).toMatch(want)
        expect(got).not.toContain('\n')
      }
    })
  }
})

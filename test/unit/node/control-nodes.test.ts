import { describe, expect, it } from 'vitest'
import { forgetRefusal, type ForgetCheck } from '../../../src/node/control-nodes.js'

const base: ForgetCheck = { target: 'dead', self: 'me', voters: ['v1', 'v2', 'v3'], health: 'DEAD', listeningMs: 60_000, deadAfterMs: 5_000 }

describe('who may be forgotten (forgetRefusal)', () => {
  const rows: Array<{ name: string, over: Partial<ForgetCheck>, refused: RegExp | null }> = [
    { name: 'a node DEAD here', over: {}, refused: null },
    { name: 'a node not heard from since this node started long enough ago', over: { health: undefined }, refused: null },
    { name: 'this node itself', over: { target: 'me' }, refused: /is this node/ },
    { name: 'a voter, even dead', over: { target: 'v2' }, refused: /is a voter: take it out of voters first/ },
    { name: 'an ALIVE node', over: { health: 'ALIVE' }, refused: /is ALIVE .* only a DEAD node can be forgotten/ },
    { name: 'a SUSPECT node', over: { health: 'SUSPECT' }, refused: /is SUSPECT/ },
    { name: 'a node not heard from by a node that has listened less than deadAfterMs', over: { health: undefined, listeningMs: 1_500 }, refused: /cannot tell yet .* try again in 4 s/ }
  ]
  for (const r of rows) {
    it(`${r.refused === null ? 'allows' : 'refuses'} ${r.name}`, () => {
      const why = forgetRefusal({ ...base, ...r.over })
      if (r.refused === null) expect(why).toBeNull()
      else expect(why).toMatch(r.refused)
    })
  }
})

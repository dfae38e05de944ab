import { describe, expect, it } from 'vitest'
import { runSimulation } from '../../sim/simulation.js'
import { fuzzScenario } from '../../sim/fuzz.js'
import { parseScenario } from '../../sim/scenario.js'
import { forgedInEffect } from '../../sim/hostile-monitor.js'
import type { Forgery } from '../../sim/hostile.js'
import { addHostile, formatHostileTotals } from '../../sim/report.js'
import { makeState, nodeId, sampleNodeInfo, signedAs } from '../helpers.js'

// short phases keep a run to a few seconds of CPU; the full-length fuzz is `riftmesh sim fuzz --voters 5 --jobs`
const SHORT = { nodes: 7, voters: 5, jobs: true, safetyMs: 10_000, livenessMs: 15_000 }

describe('a hostile member in the simulator (issue 25)', () => {
  it('forges entries of every kind at random; no honest node acts on any, and each is refused under a named reason', async () => {
    const refusals: Record<string, number> = {}
    const kinds = new Set<string>()
    for (const seed of [1, 2, 3]) {
      const r = await runSimulation(fuzzScenario(seed, SHORT))
      expect(r.checks.filter(c => !c.ok), `seed ${seed}`).toEqual([])
      expect(r.checks.map(c => c.name)).toContain('no-forged-effect')
      expect(r.hostile?.node).toBe(6)
      for (const [k, n] of Object.entries(r.hostile?.forgeries ?? {})) if (n > 0) kinds.add(k)
      for (const [k, n] of Object.entries(r.hostile?.refusals ?? {})) refusals[k] = (refusals[k] ?? 0) + n
    }
    expect(kinds.size).toBeGreaterThanOrEqual(12)
    for (const reason of ['wrong-signer', 'bad-signature', 'not-operator', 'no-epoch-authority']) expect(refusals[reason], reason).toBeGreaterThan(0)
  }, 300_000)

  it('replays by seed: the same hostile schedule gives the same trace', async () => {
    const s = fuzzScenario(5, { ...SHORT, safetyMs: 5_000, livenessMs: 10_000 })
    const a = await runSimulation(s)
    const b = await runSimulation(s)
    expect(b.traceHash).toBe(a.traceHash)
    expect(b.hostile).toEqual(a.hostile)
  }, 120_000)

  it('reports a forgery that takes effect: with the operator key stolen, the hostile\'s settings win and the check fails', async () => {
    const s = fuzzScenario(1, { ...SHORT, safetyMs: 6_000, livenessMs: 10_000 })
    const r = await runSimulation({ ...s, hostile: { node: 6, writesPerSecond: 10, stolenOperatorKey: true } })
    const failed = r.checks.find(c => c.name === 'no-forged-effect')
    expect(failed?.ok).toBe(false)
    expect(failed?.detail).toMatch(/acts on a forged entry \(settings.*control\/settings\/(voters|jobCommands)@/)
  }, 120_000)

  it('forgedInEffect: a value its signer may write is in effect; the same value signed by another node is not', () => {
    const victim = nodeId(0)
    const value = sampleNodeInfo(victim, { host: 'hostile-1' })
    const state = makeState(2)
    const forgery = (raw: object): Forgery => ({ atMs: 0, kind: 'node-info', doc: 'control', map: 'nodes', key: victim, raw: raw as Record<string, unknown>, mustNot: 'take-effect' })
    const byOther = forgery(signedAs(nodeId(1), 'control', 'nodes', victim, value))
    state.docs.ensure('control').getMap('nodes').set(victim, byOther.raw)
    expect(forgedInEffect(state, byOther)).toBe(false)
    expect(state.stats.snapshot()).toEqual({ 'nodes:wrong-signer': 1 })
    const byVictim = forgery(signedAs(victim, 'control', 'nodes', victim, value))
    state.docs.ensure('control').getMap('nodes').set(victim, byVictim.raw)
    expect(forgedInEffect(state, byVictim)).toBe(true)
  })

  it('sums the hostile member over fuzz runs into one summary line', () => {
    let t = { runs: 0, forged: 0, refusals: {} }
    t = addHostile(t, { node: 6, forgeries: { replay: 2, settings: 1 }, refusals: { 'bad-signature': 2, 'not-operator': 1 } })
    t = addHostile(t, null)
    t = addHostile(t, { node: 6, forgeries: { 'node-info': 1 }, refusals: { 'wrong-signer': 3, 'bad-signature': 1 } })
    expect(formatHostileTotals(t)).toBe('hostile member: 2 runs, 4 forged writes; refused by the honest nodes: bad-signature 3, not-operator 1, wrong-signer 3')
  })

  it('a scenario refuses a hostile voter, or a hostile without an operator trust root', () => {
    const base = 'name: h\nnodes: 4\nvoters: 3\nphases: { safetyUntilMs: 1000 }\n'
    expect(() => parseScenario(`${base}operator: true\nhostile: { node: 1 }\n`, 'h.yaml')).toThrow(/hostile.node 1 is a voter/)
    expect(() => parseScenario(`${base}hostile: { node: 3 }\n`, 'h.yaml')).toThrow(/needs operator: true/)
    expect(parseScenario(`${base}operator: true\nhostile: { node: 3 }\n`, 'h.yaml').hostile).toEqual({ node: 3, writesPerSecond: 2, stolenOperatorKey: false })
  })
})

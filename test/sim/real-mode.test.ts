import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../sim/scenario.js'
import { runSimulation, type SimReport } from '../../sim/simulation.js'
import { runRealScenario } from '../../sim/real/real-run.js'
import { formatRealReport } from '../../sim/real/real-report.js'
import { LinkPolicy } from '../../sim/real/partitions.js'
import { checkTimeScale, scaledNodeConfig, topologyEdges } from '../../sim/real/plan.js'
import { SeededRng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/core/errors.js'

const partitionHeal = parseScenario(`
name: real-partition-heal
nodes: 6
seed: 3
topology: { kind: random, degree: 2 }
workload: { writesPerSecond: 4 }
timeline:
  - { at: 3000, partition: [[0, 1, 2], [3, 4, 5]] }
  - { at: 8000, heal: all }
phases: { safetyUntilMs: 10000, livenessWithinMs: 16000 }
checks: [convergence, acked-writes, no-drops]
`, 'real-partition-heal')

const faults = parseScenario(`
name: real-faults
nodes: 5
seed: 5
topology: { kind: full }
workload: { writesPerSecond: 4 }
timeline:
  - { at: 2000, cut: { from: 0, to: 3, oneWay: true } }
  - { at: 2500, crash: { node: 1, mode: power } }
  - { at: 3000, pause: 2 }
  - { at: 4000, clockJump: { node: 4, deltaMs: 60000 } }
  - { at: 4500, link: { loss: 0.2 } }
  - { at: 5500, restart: 1 }
  - { at: 6000, resume: 2 }
  - { at: 7000, heal: { a: 0, b: 3 } }
phases: { safetyUntilMs: 9000, livenessWithinMs: 16000 }
checks: [convergence, acked-writes, no-drops]
`, 'real-faults')

/** Both invariants hold and every issued write (w-<node>-<1..issued>) survived. */
function expectConvergedWithAllWrites (r: SimReport): void {
  expect(r.checks.filter(c => !c.ok)).toEqual([])
  expect(r.checks.map(c => c.name).sort()).toEqual(['acked-writes', 'convergence', 'no-drops'])
  expect(r.convergence[0]?.convergedAfterMs).not.toBeNull()
  expect(r.writes.issued).toBeGreaterThan(10)
  expect(r.writes.acked).toBe(r.writes.issued)
}

describe('real mode', () => {
  it('converges after a partition heals on real libp2p nodes, as the model does', async () => {
    const real = await runRealScenario(partitionHeal, { timeScale: 0.25 })
    const model = await runSimulation(partitionHeal)
    expect(real.traceHash).toBe('n/a (wall clock)')
    expectConvergedWithAllWrites(real)
    expectConvergedWithAllWrites(model)
    // every write it issued, and nothing else, is on the live nodes at the end
    const values = real.finalSettings.map(n => Number(/^w-\d+-(\d+)$/.exec(n)?.[1])).sort((a, b) => a - b)
    expect(values).toEqual(Array.from({ length: real.writes.issued }, (_, i) => i + 1))
    // the partition really held: writes made during it reached everyone only after the heal
    expect(real.propagation.maxMs).toBeGreaterThan(2000)
    expect(model.propagation.maxMs).toBeGreaterThan(2000)
    expect(formatRealReport(real)).toMatch(/^mode=real .*\n.*trace=n\/a \(wall clock\)/)
  })

  it('plays crash, restart, pause and cuts, and reports what it skipped or approximated', async () => {
    const r = await runRealScenario(faults, { timeScale: 0.25 })
    expectConvergedWithAllWrites(r)
    expect(r.skipped).toEqual([expect.stringMatching(/^4000 ms: .*clockJump/), expect.stringMatching(/^4500 ms: .*link/)])
    const notes = r.notes.join('\n')
    expect(notes).toMatch(/one-way cut was played as a symmetric cut/)
    expect(notes).toMatch(/power crash was played as a process crash/)
    expect(notes).toMatch(/pause was played as cutting the node off/)
  })

  it('sees the fault of a build without anti-entropy, as the model does', async () => {
    const s = { ...partitionHeal, phases: { ...partitionHeal.phases, livenessWithinMs: 3000 } }
    const r = await runRealScenario(s, { timeScale: 0.25, antiEntropy: false })
    expect(r.checks.filter(c => !c.ok).map(c => c.name)).toEqual(expect.arrayContaining(['convergence', 'acked-writes']))
    expect(r.convergence[0]?.convergedAfterMs).toBeNull()
    expect(r.violation?.traceBefore.length).toBeGreaterThan(0)
    expect(formatRealReport(r)).toMatch(/check convergence: FAIL — .*differs between node \d+ and node \d+/)
  })
})

describe('real-mode link policy', () => {
  it.each([
    { what: 'no fault', setup: (_p: LinkPolicy) => undefined, pair: [0, 3], blocked: false },
    { what: 'across a partition', setup: (p: LinkPolicy) => p.partition([[0, 1], [2, 3]]), pair: [0, 3], blocked: true },
    { what: 'inside a partition group', setup: (p: LinkPolicy) => p.partition([[0, 1], [2, 3]]), pair: [0, 1], blocked: false },
    { what: 'unnamed nodes form their own group', setup: (p: LinkPolicy) => p.partition([[0], [1]]), pair: [2, 0], blocked: true },
    { what: 'a one-way cut, both directions', setup: (p: LinkPolicy) => p.cut(3, 0), pair: [0, 3], blocked: true },
    { what: 'heal {a, b} leaves a partition', setup: (p: LinkPolicy) => { p.partition([[0], [3]]); p.heal(0, 3) }, pair: [0, 3], blocked: true },
    { what: 'an isolated (paused) node', setup: (p: LinkPolicy) => p.isolate(2), pair: [2, 1], blocked: true },
    { what: 'heal all keeps isolation', setup: (p: LinkPolicy) => { p.isolate(2); p.healAll() }, pair: [1, 2], blocked: true },
    { what: 'heal all', setup: (p: LinkPolicy) => { p.partition([[0], [3]]); p.cut(1, 2); p.hold(0, 1); p.healAll() }, pair: [0, 3], blocked: false }
  ])('$what → blocked=$blocked', ({ setup, pair, blocked }) => {
    const p = new LinkPolicy(4)
    setup(p)
    expect(p.blocked(pair[0] as number, pair[1] as number)).toBe(blocked)
  })

  it('draws the same topology as the model for a seed and scales node timings', () => {
    const edges = topologyEdges(partitionHeal, new SeededRng(3))
    expect(edges).toEqual(topologyEdges(partitionHeal, new SeededRng(3)))
    expect(edges.length).toBeGreaterThanOrEqual(6)
    const c = scaledNodeConfig(partitionHeal, 0.25, true)
    expect([c.heartbeatIntervalMs, c.suspectAfterMs, c.deadAfterMs, c.antiEntropyIntervalMs, c.gossipHeartbeatMs]).toEqual([250, 750, 1250, 2500, 250])
    expect(() => checkTimeScale(0)).toThrow(ConfigError)
  })
})

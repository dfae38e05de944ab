import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario, parseScenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import { formatReport } from '../../sim/report.js'
import { fuzzScenario } from '../../sim/fuzz.js'
import { ValidationError } from '../../src/core/errors.js'

const scenarioDir = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url))

describe('simulator determinism', () => {
  it('gives the same trace hash for the same seed and a different one for another seed', async () => {
    const s = await loadScenario(join(scenarioDir, 'flapping.yaml'))
    const a = await runSimulation(s, { seed: 11 })
    const b = await runSimulation(s, { seed: 11 })
    const c = await runSimulation(s, { seed: 12 })
    expect(a.traceHash).toBe(b.traceHash)
    expect(a.events).toBe(b.events)
    expect(a.propagation).toEqual(b.propagation)
    expect(c.traceHash).not.toBe(a.traceHash)
  })

  it('replays a fuzz seed exactly', async () => {
    const s = fuzzScenario(77, { nodes: 7 })
    expect(fuzzScenario(77, { nodes: 7 })).toEqual(s)
    expect((await runSimulation(s)).traceHash).toBe((await runSimulation(s)).traceHash)
  })
})

describe('shipped scenarios', async () => {
  const files = (await readdir(scenarioDir)).filter(f => f.endsWith('.yaml')).sort()
  it('ship the scenarios the simulator promises', () => {
    expect(files).toEqual(expect.arrayContaining(['partition-heal.yaml', 'leader-isolated.yaml', 'asymmetric-leader.yaml', 'bridge.yaml', 'flapping.yaml', 'rolling-restart.yaml', 'power-loss.yaml', 'skewed-clocks.yaml', 'cold-start.yaml']))
  })
  it.each(files)('%s passes every check', async file => {
    const r = await runSimulation(await loadScenario(join(scenarioDir, file)))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toContain('convergence')
    expect(r.writes.acked).toBeGreaterThan(0)
    expect(r.convergence[0]?.convergedAfterMs).not.toBeNull()
  })
})

describe('a deliberately broken build', () => {
  it('without anti-entropy fails the convergence check with a clear report', async () => {
    const s = await loadScenario(join(scenarioDir, 'partition-heal.yaml'))
    const r = await runSimulation(s, { antiEntropy: false })
    const failed = r.checks.filter(c => !c.ok).map(c => c.name)
    expect(failed).toContain('convergence')
    expect(r.violation?.check).toBe('convergence')
    expect(r.violation?.traceBefore.length).toBeGreaterThan(0)
    const text = formatReport(r)
    expect(text).toMatch(/check convergence: FAIL — .*differs between node \d+ and node \d+/)
    expect(text).toMatch(/first violation: convergence at [\d.]+s/)
    expect(text).toMatch(/trace before it:\n {2}\d/)
  })
})

describe('scenario files', () => {
  it.each([
    ['not yaml: [', /not valid YAML/],
    ['name: x\nnodes: 0\nphases: { safetyUntilMs: 1 }', /nodes/],
    ['name: x\nnodes: 3\nphases: { safetyUntilMs: 1 }\ntimeline: [{ at: 5, crash: { node: 7 } }]', /names node 7, but there are 3 nodes/],
    ['name: x\nnodes: 3\nphases: { safetyUntilMs: 1 }\ntimeline: [{ at: 5, explode: 1 }]', /timeline/],
    ['name: x\nnodes: 3\nphases: { safetyUntilMs: 1 }\nbogus: 1', /bogus|Unrecognized/]
  ])('rejects %j with a clear error', (text, msg) => {
    expect(() => parseScenario(text, 'test.yaml')).toThrow(ValidationError)
    expect(() => parseScenario(text, 'test.yaml')).toThrow(msg)
  })
})

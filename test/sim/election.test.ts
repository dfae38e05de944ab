import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import { fuzzScenario } from '../../sim/fuzz.js'

const dir = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url))
const ELECTION_CHECKS = ['one-leader-per-epoch', 'lease-overlap', 'no-double-grant', 'epoch-monotonic', 'fencing', 'leader-liveness']

describe('election in the simulator (5 voters of 7)', () => {
  it.each(['leader-crash', 'leader-isolated', 'asymmetric-leader', 'voter-restart', 'leader-clock-jump'])('%s: every safety and liveness check passes', async name => {
    const r = await runSimulation(await loadScenario(join(dir, `${name}.yaml`)))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toEqual(expect.arrayContaining(ELECTION_CHECKS))
    expect(r.leadership?.changes).toBeGreaterThan(0)
  })

  it('fails over after the leader crashes: a new leader under a higher epoch within a lease and the back-off', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'leader-crash.yaml')))
    const [first, second] = r.leadership?.leaders ?? []
    expect(first).toMatchObject({ node: 0, epoch: 1 })
    expect(second!.node).not.toBe(0)
    expect(second!.epoch).toBeGreaterThan(first!.epoch)
    // crash at 20 s; lease 4 s, back-off ≤ 1.5 s, detection granularity
    expect(second!.atMs - 20_000).toBeLessThan(4_000 + 1_500 + 1_000)
  })

  it('fences dispatches: workers accept the current leader\'s and refuse a deposed leader\'s', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'leader-isolated.yaml')))
    expect(r.leadership?.dispatchesAccepted).toBeGreaterThan(0)
    expect(r.checks.find(c => c.name === 'fencing')?.ok).toBe(true)
  })

  it('keeps a healthy leader after a minority that held the old leader heals (no epoch inflation)', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'leader-isolated.yaml')))
    expect(r.leadership?.changes).toBe(2)
  })

  it('random fault schedules with 5 voters of 7 never break the election invariants', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = await runSimulation(fuzzScenario(seed, { nodes: 7, voters: 5 }))
      expect(r.checks.filter(c => !c.ok), `seed ${seed}`).toEqual([])
    }
  }, 120_000)
})

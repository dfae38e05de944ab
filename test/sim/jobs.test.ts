import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import { fuzzScenario } from '../../sim/fuzz.js'
import { JobMonitor } from '../../sim/job-monitor.js'
import { Scheduler } from '../../sim/core/scheduler.js'

const dir = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url))

describe('jobs in the simulator', () => {
  it('jobs-failover: the real JobManager keeps the ledger through a power loss and a leader crash', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'jobs-failover.yaml')))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toEqual(expect.arrayContaining(['job-once', 'job-ledger', 'fencing']))
    expect(r.jobs?.started).toBeGreaterThan(50)
    expect(r.jobs?.completed).toBeGreaterThan(40)
    expect(r.leadership?.leaders.length).toBeGreaterThan(1)
  })

  it('a fuzz sample with partitions, crashes and leader changes keeps the job ledger', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = await runSimulation(fuzzScenario(seed, { nodes: 7, voters: 5, jobs: true }))
      expect(r.checks.filter(c => !c.ok), `seed ${seed}`).toEqual([])
      expect(r.jobs?.started).toBeGreaterThan(0)
    }
  })

  it('retire-during-partition, shortened: a bucket the majority retired while the minority held it is reconciled after the heal (issue 23, defect 9)', async () => {
    // the shipped scenario partitions past the default 10 min retention; here retention is 60 s and
    // the partition 180 s, the same story in a quarter of the virtual time
    const s = await loadScenario(join(dir, 'long', 'retire-during-partition.yaml'))
    const short = { ...s, jobs: { ...(s.jobs as NonNullable<typeof s.jobs>), retentionMs: 60_000 }, phases: { ...s.phases, safetyUntilMs: 200_000 } }
    const r = await runSimulation(short)
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.convergence.at(-1)?.convergedAfterMs).not.toBeNull()
  }, 120_000)

  it('minority-jobs: jobs re-run by the majority while their originals finished on the minority are cancelled once the originals report (issue 23, defect 8)', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'minority-jobs.yaml')))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toContain('job-superseded')
    expect(r.jobs?.failed).toBeGreaterThan(0) // the superseded attempts, cancelled
  })

  it('the monitor reports a dispatch started twice', () => {
    const failures: string[] = []
    const m = new JobMonitor([], [], new Scheduler(), (check, detail) => failures.push(`${check}: ${detail}`))
    m.onStart(1, 'e1-a-b.1')
    m.onStart(2, 'e1-a-b.1')
    expect(failures).toEqual(['job-once: job e1-a-b.1 started on machine 2 after it had started on machine 1'])
    expect(m.results().find(c => c.name === 'job-once')?.ok).toBe(false)
  })
})

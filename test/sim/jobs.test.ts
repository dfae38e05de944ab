import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import { fuzzScenario } from '../../sim/fuzz.js'
import { JobMonitor } from '../../sim/job-monitor.js'
import { Scheduler } from '../../sim/core/scheduler.js'
import { SimMachine } from '../../sim/node/sim-jobs.js'
import type { SimNode } from '../../sim/node/sim-node.js'
import type { JobState, JobView } from '../../src/state/jobs.js'

/** A job record as a node's view holds it (only what the job monitor reads). */
function jobView (jobId: string, state: JobState, previousJobId: string | null = null): JobView {
  const bucketId = jobId.slice(0, jobId.lastIndexOf('.'))
  return {
    jobId,
    bucketId,
    dispatch: { v: 1, jobId, type: 'selfplay', config: null, engineMode: 'heuristic', spec: {}, assignedNode: 'n1', dispatchEpoch: 1, dispatchedBy: 'n0', createdAt: 0, attempt: previousJobId === null ? 1 : 2, previousJobId },
    status: undefined,
    verdicts: [],
    state
  }
}

/** A node as the job monitor sees it: up or not, leading or not, and its view of the jobs. */
function fakeNode (index: number): SimNode & { leader: boolean, view: JobView[] } {
  const n = { index, leader: false, view: [] as JobView[], isUp: true, parts: { election: { isLeader: () => n.leader } }, state: { jobs: () => n.view, job: (id: string) => n.view.find(j => j.jobId === id), bucketViews: () => [] } }
  return n as unknown as SimNode & { leader: boolean, view: JobView[] }
}

const dir = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url))

describe('jobs in the simulator', () => {
  it('jobs-failover: the real JobManager keeps the ledger through a power loss and a leader crash', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'jobs-failover.yaml')))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toEqual(expect.arrayContaining(['job-once', 'job-ledger', 'fencing']))
    // the node's admission ledger holds each node to jobs.spawnRatePerMinute (5) starts a minute:
    // 7 nodes over 30 s, plus the first window
    expect(r.jobs?.started).toBeGreaterThan(25)
    expect(r.jobs?.completed).toBeGreaterThan(25)
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

  it('isolated-leader-jobs: re-runs of a cut-off leader\'s own jobs may complete just after the heal — its sighting of the originals before the re-runs existed starts no grace (fuzz seeds 26, 113, 134, 371)', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'isolated-leader-jobs.yaml')))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toContain('job-superseded')
    expect(r.leadership?.leaders.map(l => l.node)).toEqual([0, 3]) // the cut-off leader, then the majority's
  })

  it('the superseded grace runs from when one leader sees a re-run beside its completed original', async () => {
    const sched = new Scheduler()
    const failures: string[] = []
    const machine = new SimMachine(1, sched, { durationMs: { selfplay: 2_500 }, outputs: () => [] }, () => undefined)
    const [cutOff, majority] = [fakeNode(0), fakeNode(3)]
    const m = new JobMonitor([cutOff, majority], [machine], sched, (check, detail) => failures.push(`${check}: ${detail}`))
    // the cut-off leader sees its own job complete; the majority's leader knows nothing of it
    cutOff.leader = true
    cutOff.view = [jobView('e1-a-b.1', 'COMPLETE')]
    await sched.runUntil(9_000)
    m.sample()
    cutOff.leader = false
    // the majority's leader marks it LOST and re-runs it
    majority.leader = true
    majority.view = [jobView('e1-a-b.1', 'LOST'), jobView('e2-c-d.1', 'RUNNING', 'e1-a-b.1')]
    await sched.runUntil(18_000)
    machine.start('e2-c-d.1', 'selfplay')
    m.onStart(0, 'e2-c-d.1')
    m.sample()
    // the heal brings the original's COMPLETE to the leader; the re-run completes at 20.5 s, before a cleanup pass
    await sched.runUntil(20_000)
    majority.view = [jobView('e1-a-b.1', 'COMPLETE'), jobView('e2-c-d.1', 'RUNNING', 'e1-a-b.1')]
    m.sample()
    await sched.runUntil(21_000)
    majority.view = [jobView('e1-a-b.1', 'COMPLETE'), jobView('e2-c-d.1', 'COMPLETE', 'e1-a-b.1')] // its worker reported
    cutOff.view = majority.view // converged after the heal
    m.finish()
    expect(machine.get('e2-c-d.1')?.ended?.endedAt).toBe(20_500)
    expect(failures).toEqual([])
    expect(m.results().find(c => c.name === 'job-superseded')?.ok).toBe(true)
  })

  it('the monitor reports a re-run completed more than the grace after a leader saw it beside its completed original', async () => {
    const sched = new Scheduler()
    const failures: string[] = []
    const machine = new SimMachine(1, sched, { durationMs: { selfplay: 12_000 }, outputs: () => [] }, () => undefined)
    const leader = fakeNode(3)
    leader.leader = true
    const m = new JobMonitor([leader], [machine], sched, (check, detail) => failures.push(`${check}: ${detail}`))
    machine.start('e2-c-d.1', 'selfplay')
    m.onStart(0, 'e2-c-d.1')
    await sched.runUntil(1_000)
    leader.view = [jobView('e1-a-b.1', 'COMPLETE'), jobView('e2-c-d.1', 'RUNNING', 'e1-a-b.1')]
    m.sample()
    await sched.runUntil(13_000)
    leader.view = [jobView('e1-a-b.1', 'COMPLETE'), jobView('e2-c-d.1', 'COMPLETE', 'e1-a-b.1')] // its worker reported
    m.finish()
    expect(failures).toEqual(['job-superseded: job e2-c-d.1 completed at 12.0 s although a leader saw it beside its completed predecessor e1-a-b.1 at 1.0 s'])
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

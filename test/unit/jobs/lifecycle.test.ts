import { describe, expect, it } from 'vitest'
import {
  activeSelfplayByNode, decideAdmission, isLeaderlessOwnJob, planCleanup, planSelfplay, reassignBackoffMs, supersededJobs, type AdmissionContext, type ObservedJob
} from '../../../src/jobs/lifecycle.js'
import { deriveJobState, type JobView } from '../../../src/state/jobs.js'
import type { JobDispatch, JobStatus, JobVerdict } from '../../../src/state/schema.js'

const MIN = 60_000

function dispatch (over: Partial<JobDispatch> = {}): JobDispatch {
  return {
    v: 1, jobId: 'e1-x-a.1', type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: {}, assignedNode: 'w1',
    dispatchEpoch: 3, dispatchedBy: 'leader', createdAt: 1, attempt: 1, previousJobId: null, ...over
  }
}

function job (d: Partial<JobDispatch> = {}, run?: JobStatus['state'], verdicts: Array<JobVerdict['verdict']> = []): JobView {
  const dis = dispatch(d)
  const status: JobStatus | undefined = run === undefined
    ? undefined
    : { v: 1, jobId: dis.jobId, node: dis.assignedNode, state: run, pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: null, exitCode: null, error: null, outputs: [], engineMode: null }
  const vs: JobVerdict[] = verdicts.map(v => ({ v: 1, jobId: dis.jobId, writer: 'leader', verdict: v, epoch: 3, at: 1, reason: null }))
  return { jobId: dis.jobId, bucketId: 'e1-x-a', dispatch: dis, status, verdicts: vs, state: deriveJobState(status, vs) }
}

describe('admission at the worker', () => {
  const ctx: AdmissionContext = { selfId: 'w1', fenceEpoch: 3, dispatcherHoldsEpoch: true, capabilities: ['selfplay', 'export', 'gauntlet'], runningJobs: 0, maxProcesses: 4 }
  it.each<[string, Partial<JobDispatch>, Partial<AdmissionContext>, string | null]>([
    ['current epoch, capacity, capability', {}, {}, null],
    ['a higher epoch than accepted so far', { dispatchEpoch: 4 }, {}, null],
    ['below the fence', { dispatchEpoch: 2 }, {}, 'below epoch 3'],
    ['dispatcher does not hold the epoch', {}, { dispatcherHoldsEpoch: false }, 'does not hold epoch 3'],
    ['assigned elsewhere', { assignedNode: 'w2' }, {}, 'another node'],
    ['no training capability on a CPU node', { type: 'training' }, {}, 'no training capability'],
    ['no capacity', {}, { runningJobs: 4 }, 'no capacity: 4 of 4'],
    ['sync needs no capability', { type: 'sync' }, {}, null]
  ])('%s', (_n, d, c, reason) => {
    const a = decideAdmission(dispatch(d), { ...ctx, ...c })
    if (reason === null) expect(a).toEqual({ ok: true })
    else expect(a.ok === false && a.reason).toContain(reason)
  })

  it('knows a node\'s own leaderless job', () => {
    expect(isLeaderlessOwnJob(dispatch({ dispatchedBy: 'w1', spec: { leaderless: true } }), 'w1')).toBe(true)
    expect(isLeaderlessOwnJob(dispatch({ spec: { leaderless: true } }), 'w1')).toBe(false)
    expect(isLeaderlessOwnJob(dispatch({ dispatchedBy: 'w1' }), 'w1')).toBe(false)
  })
})

describe('superseded attempts (issue 23, defect 8)', () => {
  const original = (run: JobStatus['state']): JobView => job({ jobId: 'e1-x-a.1', assignedNode: 'w1' }, run, ['LOST'])
  const retry = (run?: JobStatus['state'], n = 2, prev = 'e1-x-a.1'): JobView => job({ jobId: `e1-x-a.${n}`, assignedNode: `w${n}`, attempt: n, previousJobId: prev }, run)
  it.each<[string, JobView[], Array<{ jobId: string, by: string }>]>([
    ['a cut-off original that completed cancels its running retry', [original('COMPLETE'), retry('RUNNING')], [{ jobId: 'e1-x-a.2', by: 'e1-x-a.1' }]],
    ['… and a pending one', [original('COMPLETE'), retry()], [{ jobId: 'e1-x-a.2', by: 'e1-x-a.1' }]],
    ['… and one further down the chain', [original('COMPLETE'), retry('FAILED'), retry('RUNNING', 3, 'e1-x-a.2')], [{ jobId: 'e1-x-a.3', by: 'e1-x-a.1' }]],
    ['a retry that completed first is left alone (both done while apart)', [original('COMPLETE'), retry('COMPLETE')], []],
    ['an original still lost changes nothing', [original('RUNNING'), retry('RUNNING')], []],
    ['an original that failed changes nothing', [original('FAILED'), retry('RUNNING')], []]
  ])('%s', (_n, jobs, want) => {
    expect(supersededJobs(jobs)).toEqual(want)
  })

  it('planCleanup cancels the superseded attempt and does nothing else with it', () => {
    const jobs = [original('COMPLETE'), retry('RUNNING')].map(j => ({ job: j, quietMs: 10 * MIN }))
    expect(planCleanup(jobs, () => false, new Set(['e1-x-a.1']))).toEqual([{ kind: 'supersede', jobId: 'e1-x-a.2', reason: expect.stringMatching(/^superseded: an earlier attempt, e1-x-a\.1, completed/) }])
  })
})

describe('cleanup', () => {
  const obs = (j: JobView, quietMs: number): ObservedJob => ({ job: j, quietMs })
  const none = new Set<string>()
  const alive = (): boolean => false
  it.each<[string, ObservedJob, string | null]>([
    ['PENDING younger than 5 min stays', obs(job(), 5 * MIN - 1), null],
    ['PENDING 5 min → EXPIRED', obs(job(), 5 * MIN), 'expire'],
    ['RUNNING with a fresh heartbeat stays', obs(job({}, 'RUNNING'), 4 * MIN), null],
    ['RUNNING without heartbeat for 5 min → LOST', obs(job({}, 'RUNNING'), 5 * MIN), 'lost'],
    ['LOST selfplay after 30 s → re-dispatched', obs(job({}, 'RUNNING', ['LOST']), 30_000), 'redispatch'],
    ['LOST selfplay before the back-off stays', obs(job({}, 'RUNNING', ['LOST']), 29_999), null],
    ['EXPIRED export is re-dispatched too', obs(job({ type: 'export' }, undefined, ['EXPIRED']), 30_000), 'redispatch'],
    ['second reassignment waits 60 s', obs(job({ attempt: 2 }, 'RUNNING', ['LOST']), 59_999), null],
    ['third waits 120 s', obs(job({ attempt: 3 }, 'RUNNING', ['LOST']), 120_000), 'redispatch'],
    ['after 3 reassignments → FAILED', obs(job({ attempt: 4 }, 'RUNNING', ['LOST']), 10 * MIN), 'give-up'],
    ['given up once only (FAILED is final)', obs(job({ attempt: 4 }, undefined, ['EXPIRED', 'FAILED']), 10 * MIN), null],
    ['training is the coordinator\'s', obs(job({ type: 'training' }, 'RUNNING', ['LOST']), 10 * MIN), null],
    ['COMPLETE is left alone', obs(job({}, 'COMPLETE'), 60 * MIN), null],
    ['REFUSED is left alone (the planner fills the target again)', obs(job({}, 'REFUSED'), 60 * MIN), null]
  ])('%s', (_n, o, kind) => {
    const actions = planCleanup([o], alive, none)
    expect(actions.map(a => a.kind)).toEqual(kind === null ? [] : [kind])
  })

  it('does not re-dispatch a job twice (a successor exists)', () => {
    const j = job({}, 'RUNNING', ['LOST'])
    expect(planCleanup([obs(j, MIN)], alive, new Set([j.jobId]))).toEqual([])
  })

  it('says when the node is dead', () => {
    const [a] = planCleanup([obs(job({}, 'RUNNING'), 6 * MIN)], id => id === 'w1', none)
    expect(a).toMatchObject({ kind: 'lost', reason: 'node w1 is dead for 360 s' })
  })

  it.each([[0, 30_000], [1, 60_000], [2, 120_000], [3, 240_000], [4, 300_000], [10, 300_000]])('back-off after %i reassignments: %i ms', (n, ms) => {
    expect(reassignBackoffMs(n)).toBe(ms)
  })
})

describe('selfplay dispatch plan', () => {
  const pick = (): { config: string, engineMode: string } => ({ config: 'hex8_2p', engineMode: 'heuristic' })
  it('fills each node\'s deficit, at most maxPerNode per pass and budget in all', () => {
    const plan = planSelfplay([
      { nodeId: 'a', target: 5, active: 1 }, { nodeId: 'b', target: 2, active: 2 }, { nodeId: 'c', target: 1, active: 5 }, { nodeId: 'd', target: 3, active: 2 }
    ], pick, 2, 100)
    expect(plan.map(p => p.nodeId)).toEqual(['a', 'a', 'd'])
    expect(planSelfplay([{ nodeId: 'a', target: 10, active: 0 }, { nodeId: 'b', target: 10, active: 0 }], pick, 5, 6).map(p => p.nodeId)).toEqual(['a', 'a', 'a', 'a', 'a', 'b'])
    expect(planSelfplay([{ nodeId: 'a', target: 3, active: 0 }], () => null, 2, 10)).toEqual([])
    expect(planSelfplay([], pick, 2, 10)).toEqual([])
  })

  it('counts active selfplay per node', () => {
    const m = activeSelfplayByNode([job({}, 'RUNNING'), job({ jobId: 'e1-x-a.2' }), job({ jobId: 'e1-x-a.3' }, 'COMPLETE'), job({ jobId: 'e1-x-a.4', type: 'training' }, 'RUNNING')])
    expect([...m]).toEqual([['w1', 2]])
  })
})

describe('job state with the new verdicts', () => {
  it('a cancelled job its node stopped is CANCELLED, not FAILED; a given-up job is FAILED', () => {
    expect(job({}, 'FAILED', ['CANCELLED']).state).toBe('CANCELLED')
    expect(job({}, 'COMPLETE', ['CANCELLED']).state).toBe('COMPLETE')
    expect(job({}, undefined, ['EXPIRED', 'FAILED']).state).toBe('FAILED')
    expect(job({}, 'RUNNING', ['LOST', 'FAILED']).state).toBe('FAILED')
    expect(job({}, undefined, ['FAILED']).state).toBe('FAILED')
  })
})

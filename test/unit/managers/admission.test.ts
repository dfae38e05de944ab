import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import {
  AdmissionLedger, DEFAULT_START_LIMITS, admittedTarget, jobCharge, nodeBudget, startLimitsField, type JobCharge
} from '../../../src/managers/admission.js'
import { JobLeader } from '../../../src/managers/job-leader.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { SelfplayScheduler } from '../../../src/managers/selfplay-scheduler.js'
import type { Leadership } from '../../../src/managers/training-coordinator.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import type { JobView } from '../../../src/state/jobs.js'
import { nodeInfoSchema, type JobStatus } from '../../../src/state/schema.js'
import { makeState, nodeId, sampleNodeInfo, syncAll } from '../../helpers.js'
import { CPU_CAPS, IDLE, cpuHw } from './fixtures.js'

const W = 60_000
const LIMITS = { maxProcesses: 4, spawnRatePerMinute: 3 }
const running = (n: number): JobCharge[] => Array.from({ length: n }, () => ({ slot: true, start: null }))
const started = (...at: number[]): JobCharge[] => at.map(t => ({ slot: false, start: t }))
const inFlight = (n: number): JobCharge[] => Array.from({ length: n }, () => ({ slot: true, start: 'in-flight' as const }))

describe('nodeBudget', () => {
  const cases: Array<[string, JobCharge[], number, { slots: number, starts: number, admits: number, nextStartInMs: number | null }]> = [
    ['an idle node admits its spawn rate', [], 100_000, { slots: 4, starts: 3, admits: 3, nextStartInMs: null }],
    ['starts in the window use the rate', started(90_000, 95_000), 100_000, { slots: 4, starts: 1, admits: 1, nextStartInMs: null }],
    ['a full window admits none until its oldest start leaves it', started(50_000, 90_000, 95_000), 100_000, { slots: 4, starts: 0, admits: 0, nextStartInMs: 10_000 }],
    ['a start leaves the window after exactly windowMs', started(40_000, 90_000, 95_000), 100_000, { slots: 4, starts: 1, admits: 1, nextStartInMs: null }],
    ['in-flight dispatches hold a slot and a start', inFlight(2), 100_000, { slots: 2, starts: 1, admits: 1, nextStartInMs: null }],
    ['in-flight dispatches alone fill the rate (no time known to free one)', inFlight(3), 100_000, { slots: 1, starts: 0, admits: 0, nextStartInMs: null }],
    ['running jobs use slots, not the rate', running(4), 100_000, { slots: 0, starts: 3, admits: 0, nextStartInMs: null }],
    ['more running than the cap (adopted jobs) is 0, not negative', running(6), 100_000, { slots: 0, starts: 3, admits: 0, nextStartInMs: null }],
    ['a never-started job (refused, expired) costs nothing', [{ slot: false, start: null }], 100_000, { slots: 4, starts: 3, admits: 3, nextStartInMs: null }]
  ]
  for (const [what, charges, now, want] of cases) {
    it(what, () => { expect(nodeBudget(LIMITS, charges, now, W)).toEqual(want) })
  }
})

describe('admittedTarget', () => {
  const cases: Array<[number, number, number, number]> = [
    // target, active, admits → target held
    [8, 2, 3, 5],
    [8, 2, 10, 8],
    [8, 2, 0, 2],
    [1, 3, 5, 1], // above target already: unchanged (nothing new)
    [4, 0, -1, 0]
  ]
  for (const [target, active, admits, want] of cases) {
    it(`target ${target}, active ${active}, admits ${admits} → ${want}`, () => { expect(admittedTarget(target, active, admits)).toBe(want) })
  }
})

describe('jobCharge', () => {
  const job = (state: JobView['state'], status?: Partial<JobStatus>): JobView => ({
    jobId: 'j', bucketId: 'b', state, verdicts: [],
    dispatch: { v: 1, jobId: 'j', type: 'selfplay', config: 'hex8_2p', engineMode: null, spec: {}, assignedNode: 'n', dispatchEpoch: 1, dispatchedBy: 'l', createdAt: 1, attempt: 1, previousJobId: null },
    status: status === undefined ? undefined : { v: 1, jobId: 'j', node: 'n', state: 'RUNNING', pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: null, exitCode: null, error: null, outputs: [], engineMode: null, ...status }
  })
  const cases: Array<[string, JobView, number | undefined, JobCharge]> = [
    ['pending: in flight', job('PENDING'), undefined, { slot: true, start: 'in-flight' }],
    ['running, seen at 5: slot and start at 5', job('RUNNING', {}), 5, { slot: true, start: 5 }],
    ['running, never seen: counted as in flight', job('RUNNING', {}), undefined, { slot: true, start: 'in-flight' }],
    ['complete: the start counts, no slot', job('COMPLETE', { state: 'COMPLETE' }), 5, { slot: false, start: 5 }],
    ['failed at spawn: the attempt counts', job('FAILED', { state: 'FAILED', pid: null }), 5, { slot: false, start: 5 }],
    ['refused: nothing', job('REFUSED', { state: 'REFUSED' }), 5, { slot: false, start: null }],
    ['expired unstarted: nothing', job('EXPIRED'), undefined, { slot: false, start: null }],
    ['lost (was running): the start counts', job('LOST', {}), 5, { slot: false, start: 5 }]
  ]
  for (const [what, j, seen, want] of cases) {
    it(what, () => { expect(jobCharge(j, seen)).toEqual(want) })
  }
})

describe('the NodeInfo admission field', () => {
  it('is left out at the defaults, so nodes older than it (strict schema) still read the entry', () => {
    expect(startLimitsField(DEFAULT_START_LIMITS)).toBeUndefined()
    const info = sampleNodeInfo(nodeId(1))
    const old = nodeInfoSchema.omit({ admission: true }).strict()
    expect(old.safeParse(info).success).toBe(true)
    const off = { ...info, admission: startLimitsField({ maxProcesses: 8, spawnRatePerMinute: 60 }) }
    expect(nodeInfoSchema.parse(off).admission).toEqual({ maxProcesses: 8, spawnRatePerMinute: 60 })
    expect(old.safeParse(off).success).toBe(false) // why it is written only off the defaults
  })
})

/** A leader (0) and one worker (1) with 16 CPUs each on a virtual clock; jobs start and finish at once. */
function world (withAdmission: boolean, workerLimits?: { maxProcesses: number, spawnRatePerMinute: number }) {
  const clock = new VirtualClock(1_700_000_000_000)
  const states = [0, 1].map(i => {
    const s = makeState(i, i + 1, {}, clock)
    s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: i === 1 ? CPU_CAPS : [], ...(i === 1 && workerLimits !== undefined ? { admission: workerLimits } : {}) }))
    return s
  })
  syncAll(states)
  const [state, worker] = states as [ClusterState, ClusterState]
  const logger = silentLogger()
  const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
  const selector = new NodeSelector({ views, clock, logger }, { rankingCacheMs: 0 })
  const scheduler = new SelfplayScheduler({ state, clock, rng: new SeededRng(1), logger })
  const leadership: Leadership = { leaderEpoch: () => 1, currentLeader: () => ({ nodeId: state.selfId, epoch: 1 }) }
  const leader = new JobLeader({
    state, selector, scheduler, leadership, health: () => 'ALIVE', retireBucket: async () => [], clock, logger,
    ...(withAdmission ? { admission: new AdmissionLedger({ state, clock }) } : {})
  }, { maxSelfplayPerNodePerPass: 10 })
  /** The worker starts and completes every pending job; returns how many. */
  const work = (): number => {
    syncAll(states)
    let n = 0
    for (const j of worker.jobs()) {
      if (j.state !== 'PENDING' || j.dispatch.assignedNode !== worker.selfId) continue
      const now = clock.nowMs()
      worker.setJobStatus({ v: 1, jobId: j.jobId, node: worker.selfId, state: 'COMPLETE', pid: 1, startedAt: now, heartbeatAt: now, endedAt: now, exitCode: 0, error: null, outputs: [], engineMode: 'heuristic' })
      n++
    }
    syncAll(states)
    return n
  }
  return { clock, leader, work }
}

describe('the leader dispatches within what a node admits', () => {
  /** Dispatch passes every 10 s for `seconds`; the worker's starts per pass. */
  function run (w: ReturnType<typeof world>, seconds: number): number[] {
    const starts: number[] = []
    for (let t = 0; t < seconds; t += 10) {
      w.leader.dispatchSelfplay()
      starts.push(w.work())
      w.clock.advance(10_000)
    }
    return starts
  }
  const maxInWindow = (starts: number[]): number => Math.max(...starts.map((_, i) => starts.slice(i, i + 6).reduce((a, b) => a + b, 0)))

  it('without the budget, short jobs make it dispatch more than the node starts in a minute (what REFUSED came from)', () => {
    expect(maxInWindow(run(world(false), 180))).toBeGreaterThan(DEFAULT_START_LIMITS.spawnRatePerMinute)
  })

  it('with it, no 60 s window gets more starts than the node\'s default rate, and dispatch resumes as the window frees', () => {
    const w = world(true)
    const starts = run(w, 180)
    expect(maxInWindow(starts)).toBe(DEFAULT_START_LIMITS.spawnRatePerMinute)
    expect(starts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3 * DEFAULT_START_LIMITS.spawnRatePerMinute - 1)
    expect(w.leader.totals.heldByAdmission).toBeGreaterThan(0)
  })

  it('follows the limits a node advertises in its NodeInfo', () => {
    expect(maxInWindow(run(world(true, { maxProcesses: 32, spawnRatePerMinute: 2 }), 180))).toBe(2)
  })
})

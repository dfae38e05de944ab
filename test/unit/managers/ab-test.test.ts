/**
 * A/B tests: the pure decisions (stats, verdict, dispatch plan) and the AbTestManager over two
 * real ClusterState replicas and a real StateManager on LevelDB (leader on one node, owner on
 * the other), restarted from its LevelDB.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import {
  AB_SETTING_PREFIX, abDefinitions, abSettingValue, abStats, abVerdict, newAbDefinition, planAbDispatch, type AbDefinition
} from '../../../src/managers/ab-test.js'
import { AbTestManager } from '../../../src/managers/ab-tests.js'
import { NodeSelector } from '../../../src/managers/node-selector.js'
import type { NodeView } from '../../../src/managers/scores.js'
import { StateManager } from '../../../src/managers/state-manager.js'
import type { GameResult } from '../../../src/managers/training.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import type { JobView } from '../../../src/state/jobs.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { makeState, nodeId, sampleNodeInfo, syncAll, tempDir } from '../../helpers.js'
import { CPU_CAPS, GPU_CAPS, IDLE, cpuHw } from './fixtures.js'

const results = (w: number, d: number, l: number): GameResult[] => [...'W'.repeat(w), ...'D'.repeat(d), ...'L'.repeat(l)] as GameResult[]

describe('abStats and abVerdict', () => {
  it('scores draws as half a win and keeps the Wilson interval inside [0, 1]', () => {
    const s = abStats(results(6, 2, 2), 1.96)
    expect(s).toMatchObject({ games: 10, aWins: 6, draws: 2, bWins: 2, score: 0.7 })
    expect(s.low).toBeGreaterThan(0.39)
    expect(s.high).toBeLessThan(0.9)
    const all = abStats(results(30, 0, 0))
    expect(all.high).toBe(1)
    expect(all.low).toBeGreaterThan(0.8)
    expect(abStats([])).toMatchObject({ games: 0, low: 0, high: 1 })
  })

  it('decides only once the interval leaves 0.5 after the minimum games, else runs until the budget', () => {
    expect(abVerdict(abStats(results(15, 0, 0)), 400, 20).status).toBe('running') // clear, but too few games
    expect(abVerdict(abStats(results(40, 0, 10)), 400, 20)).toMatchObject({ status: 'decided', verdict: expect.stringMatching(/^A is stronger: A scores 80\.0 %/) })
    expect(abVerdict(abStats(results(10, 0, 40)), 400, 20)).toMatchObject({ status: 'decided', verdict: expect.stringMatching(/^B is stronger/) })
    expect(abVerdict(abStats(results(26, 0, 24)), 400, 20).status).toBe('running')
    expect(abVerdict(abStats(results(26, 0, 24)), 50, 20)).toMatchObject({ status: 'exhausted', verdict: expect.stringMatching(/^no significant difference/) })
  })
})

describe('A/B definitions in the settings', () => {
  it('round-trip through a setting value; bad ones are set apart', () => {
    const d = newAbDefinition({ id: 'ab-x1', config: 'hex8_2p', modelA: 'models/hex8_2p/a.json', modelB: 'models/hex8_2p/b.json', owner: 'n1' })
    const settings = new Map<string, unknown>([
      [`${AB_SETTING_PREFIX}ab-x1`, abSettingValue(d)],
      [`${AB_SETTING_PREFIX}ab-bad`, { ...abSettingValue(d), modelA: '../../etc/passwd' }],
      [`${AB_SETTING_PREFIX}not an id`, abSettingValue(d)],
      ['staticPriority', { hex8_2p: 3 }]
    ])
    expect(abDefinitions(settings as never)).toEqual({ tests: [d], malformed: [`${AB_SETTING_PREFIX}ab-bad`, `${AB_SETTING_PREFIX}not an id`] })
    expect(() => newAbDefinition({ id: 'ab-y', config: 'chess_2p', modelA: 'a', modelB: 'b', owner: 'n' })).toThrow()
    expect(() => newAbDefinition({ id: 'ab-y', config: 'hex8_2p', modelA: '/abs', modelB: 'b', owner: 'n' })).toThrow()
  })
})

describe('planAbDispatch', () => {
  const d: AbDefinition = { ...newAbDefinition({ id: 'ab-t', config: 'hex8_2p', modelA: 'a', modelB: 'b', owner: 'n1', gameBudget: 100, gamesPerJob: 20 }) }
  const job = (id: string, node: string, state: JobView['state'], games = 20, outputs: string[] = []): JobView => ({
    jobId: id, state, verdicts: [], bucketId: 'b',
    dispatch: { v: 1, jobId: id, type: 'tournament', config: 'hex8_2p', engineMode: null, spec: { testId: 'ab-t', games }, assignedNode: node, dispatchEpoch: 1, attempt: 1, previousJobId: null, dispatchedBy: 'L', createdAt: 1 },
    status: { v: 1, jobId: id, node, state: state === 'PENDING' ? 'RUNNING' : state as never, pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: null, exitCode: 0, error: null, outputs, engineMode: null }
  }) as unknown as JobView
  const p = { maxParallelJobs: 3, maxFailedJobs: 2 }

  it('fills free candidates up to the parallel limit with jobs of gamesPerJob, the last one cut to the budget', () => {
    expect(planAbDispatch(d, [], ['n1', 'n2', 'n3', 'n4'], p).map(x => [x.node, x.games])).toEqual([['n1', 20], ['n2', 20], ['n3', 20]])
    const jobs = [job('j1', 'n1', 'COMPLETE', 20, [`results:${'W'.repeat(20)}`]), job('j2', 'n2', 'COMPLETE', 20, [`results:${'L'.repeat(20)}`]), job('j3', 'n3', 'RUNNING'), job('j4', 'n4', 'COMPLETE', 20, [`results:${'D'.repeat(20)}`])]
    // 60 done, 20 running: 20 left, one job, not on n3 (busy with this test)
    const plan = planAbDispatch(d, jobs, ['n3', 'n1', 'n2'], p)
    expect(plan).toEqual([{ node: 'n1', games: 20, spec: { testId: 'ab-t', games: 20, modelAPath: 'a', modelBPath: 'b' } }])
    // the owner's count covers jobs that left the document
    expect(planAbDispatch({ ...d, gamesRecorded: 90 }, [], ['n1', 'n2'], p).map(x => x.games)).toEqual([10])
    expect(planAbDispatch({ ...d, gamesRecorded: 100 }, [], ['n1'], p)).toEqual([])
  })

  it('stops for a done test and after too many failed jobs', () => {
    expect(planAbDispatch({ ...d, state: 'done' }, [], ['n1'], p)).toEqual([])
    expect(planAbDispatch(d, [job('f1', 'n1', 'FAILED'), job('f2', 'n2', 'FAILED')], ['n1'], p)).toEqual([])
  })
})

describe('AbTestManager', () => {
  const clock = new VirtualClock(1_700_000_000_000)
  let db: RootDb
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ dir, cleanup } = await tempDir('riftmesh-ab-')); db = await openLevel(dir) })
  afterEach(async () => { await db.close(); await cleanup() })

  async function owner (state: ClusterState): Promise<{ sm: StateManager, m: AbTestManager }> {
    const sm = new StateManager({ tables: new LocalTables(db, silentLogger()), clock, logger: silentLogger() })
    await sm.load()
    return { sm, m: manager(state, sm, undefined) }
  }
  function manager (state: ClusterState, sm: StateManager | undefined, epoch: number | undefined): AbTestManager {
    const views = { nodeViews: (): NodeView[] => state.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
    const selector = new NodeSelector({ views, clock, logger: silentLogger() }, { rankingCacheMs: 0 })
    const store = sm ?? { putAbTest: async () => {}, abTest: async () => undefined, abTests: async () => [], addAbTestGame: async () => {}, abTestGames: async () => [] }
    return new AbTestManager({
      state, store, selector, flush: async () => {}, clock, rng: new SeededRng(7), logger: silentLogger(), missingLocally: async () => [],
      leadership: { leaderEpoch: () => epoch, currentLeader: () => (epoch === undefined ? undefined : { nodeId: state.selfId, epoch }) }
    }, { minGames: 20, maxParallelJobs: 2 })
  }

  it('the owner starts a test, the leader dispatches tournaments, the owner records every game, decides, and it all survives a restart', async () => {
    const states = [0, 1, 2].map(i => {
      const s = makeState(i, i + 1, {}, clock)
      s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: i === 0 ? CPU_CAPS : GPU_CAPS }))
      return s
    })
    const [L, O] = states as [ClusterState, ClusterState, ClusterState]
    syncAll(states)
    const { sm, m: own } = await owner(O)
    const lead = manager(L, undefined, 3)
    await expect(own.start({ config: 'hex8_2p', modelA: 'models/hex8_2p/a.json', modelB: 'models/hex8_2p/a.json' })).rejects.toThrow('same file')
    await expect(own.start({ config: 'nope_2p', modelA: 'x', modelB: 'y' })).rejects.toThrow('config')
    const test = await own.start({ config: 'hex8_2p', modelA: 'models/hex8_2p/a.json', modelB: 'models/hex8_2p/b.json', games: 200, gamesPerJob: 20 })
    syncAll(states)
    expect(lead.definitions().map(d => d.id)).toEqual([test.id])

    // only nodes with the tournament capability (1 and 2), two jobs at once
    expect(lead.dispatch()).toBe(2)
    expect(lead.dispatch()).toBe(0)
    syncAll(states)
    const finish = (jobs: JobView[], text: string): void => {
      for (const j of jobs) {
        const s = states.find(x => x.selfId === j.dispatch.assignedNode) as ClusterState
        s.setJobStatus({ v: 1, jobId: j.jobId, node: s.selfId, state: 'COMPLETE', pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: 2, exitCode: 0, error: null, outputs: [`results:${text}`], engineMode: null })
      }
      syncAll(states)
    }
    const tournaments = (): JobView[] => O.jobs().filter(j => j.dispatch.type === 'tournament' && (j.state === 'RUNNING' || j.state === 'PENDING'))
    expect(tournaments().every(j => j.dispatch.spec.modelAPath === 'models/hex8_2p/a.json' && j.dispatch.spec.modelBPath === 'models/hex8_2p/b.json')).toBe(true)
    finish(tournaments(), 'WWWWWWWWWWWWWLDWWWWW') // 18 W, 1 L, 1 D each
    await own.record()
    expect((await sm.abTestGames(test.id))).toHaveLength(40)
    expect((await sm.abTest(test.id))?.status).toBe('decided')
    expect((await sm.abTest(test.id))?.verdict).toMatch(/^A is stronger: A scores 92\.5 %/)
    // recording twice adds nothing
    await own.record()
    expect((await sm.abTestGames(test.id))).toHaveLength(40)
    syncAll(states)
    expect(lead.definitions()[0]).toMatchObject({ state: 'done', gamesRecorded: 40 })
    expect(lead.dispatch()).toBe(0)

    // restart: a new StateManager over the same LevelDB sees the test and its games
    const again = await owner(O)
    const r = await again.m.report(test.id)
    expect(r?.test.status).toBe('decided')
    expect(r?.stats).toMatchObject({ games: 40, aWins: 36, bWins: 2, draws: 2 })
    expect((await again.sm.abTestGames(test.id)).map(g => g.aSeat).slice(0, 4)).toEqual([0, 1, 0, 1])
  })

  it('cancel stops dispatch and cancels the running jobs', async () => {
    const states = [0, 1].map(i => {
      const s = makeState(i, i + 1, {}, clock)
      s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: GPU_CAPS }))
      return s
    })
    syncAll(states)
    const { m: own } = await owner(states[1] as ClusterState)
    const lead = manager(states[0] as ClusterState, undefined, 1)
    const test = await own.start({ config: 'square8_2p', modelA: 'models/a.json', modelB: 'models/b.json' })
    syncAll(states)
    expect(lead.dispatch()).toBe(2)
    syncAll(states)
    expect((await own.cancel(test.id)).status).toBe('cancelled')
    syncAll(states)
    expect((states[0] as ClusterState).jobs().filter(j => j.dispatch.type === 'tournament').map(j => j.state)).toEqual(['CANCELLED', 'CANCELLED'])
    expect(lead.dispatch()).toBe(0)
    await expect(own.cancel('ab-unknown')).rejects.toThrow('no A/B test')
  })

  it('when the owner dies the leader adopts the test from the owner\'s published tally, counts no game twice, decides it, and the returning owner hands it over', async () => {
    const states = [0, 1, 2].map(i => {
      const s = makeState(i, i + 1, {}, clock)
      s.setNodeInfo(sampleNodeInfo(nodeId(i), { hardware: cpuHw(), capabilities: i === 0 ? CPU_CAPS : GPU_CAPS }))
      return s
    })
    const [L, O] = states as [ClusterState, ClusterState, ClusterState]
    syncAll(states)
    const { sm: ownSm, m: own } = await owner(O)
    const leaderDir = await tempDir('riftmesh-ab-leader-')
    const leaderDb = await openLevel(leaderDir.dir)
    try {
      const leadSm = new StateManager({ tables: new LocalTables(leaderDb, silentLogger()), clock, logger: silentLogger() })
      await leadSm.load()
      let ownerHealth = 'ALIVE'
      const views = { nodeViews: (): NodeView[] => L.nodes().map(info => ({ info, health: 'ALIVE' as const, load: IDLE })) }
      const lead = new AbTestManager({
        state: L, store: leadSm, selector: new NodeSelector({ views, clock, logger: silentLogger() }, { rankingCacheMs: 0 }), flush: async () => {},
        health: id => (id === O.selfId ? ownerHealth : 'ALIVE'), clock, rng: new SeededRng(8), logger: silentLogger(),
        leadership: { leaderEpoch: () => 2, currentLeader: () => ({ nodeId: L.selfId, epoch: 2 }) }
      }, { minGames: 20, maxParallelJobs: 2 })
      const finish = (text: string): void => {
        for (const j of L.jobs().filter(x => x.dispatch.type === 'tournament' && x.state === 'PENDING')) {
          const s = states.find(x => x.selfId === j.dispatch.assignedNode) as ClusterState
          s.setJobStatus({ v: 1, jobId: j.jobId, node: s.selfId, state: 'COMPLETE', pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: 2, exitCode: 0, error: null, outputs: [`results:${text}`], engineMode: null })
        }
        syncAll(states)
      }
      const test = await own.start({ config: 'hex8_2p', modelA: 'models/a.json', modelB: 'models/b.json', games: 200, gamesPerJob: 20 })
      syncAll(states)
      await lead.tick() // owner alive: nothing adopted, two tournaments dispatched
      syncAll(states)
      finish('WWWWWWWWWWLLLLLLLLLD') // 10 W, 9 L, 1 D each: undecided
      await own.record()
      syncAll(states)
      expect(lead.definitions()[0]).toMatchObject({ owner: O.selfId, gamesRecorded: 40, aWins: 20, bWins: 18, draws: 2 })
      expect(lead.definitions()[0]?.recordedJobs).toHaveLength(2)

      ownerHealth = 'DEAD'
      await lead.tick()
      syncAll(states)
      expect(lead.totals.adopted).toBe(1)
      expect(lead.definitions()[0]?.owner).toBe(L.selfId)
      expect(await leadSm.abTestGames(test.id)).toHaveLength(40) // the tally carried over; the two recorded jobs not counted again
      finish('WWWWWWWWWWWWWWWWWWWW')
      await lead.tick()
      await lead.tick()
      syncAll(states)
      const done = await leadSm.abTest(test.id)
      expect(done?.status).toBe('decided')
      expect(done?.verdict).toMatch(/^A is stronger: .* over 80 games \(60 W \/ 2 D \/ 18 L\)/)
      expect(lead.definitions()[0]).toMatchObject({ state: 'done', gamesRecorded: 80 })

      // the old owner comes back: the test is no longer its own
      await own.record()
      expect((await ownSm.abTest(test.id))?.status).toBe('cancelled')
      expect((await ownSm.abTest(test.id))?.verdict).toMatch(/handed over to/)
    } finally {
      await leaderDb.close()
      await leaderDir.cleanup()
    }
  })
})

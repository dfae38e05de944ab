/**
 * The whole loop on three real `riftmesh node` processes running the built-in workloads, with
 * tiny thresholds: self-play jobs run on every node → their game files reach the training node
 * by sync → a training job fits a model → the model reaches the gauntlet node → the gauntlet
 * plays it → the model is PROMOTED with its Elo in `models`, and the scheduler's weights move.
 * Then the loop goes on through kill -9 of a non-leader and of the leader: the next model is
 * trained and judged (PROMOTED or ARCHIVED) by the cluster that is left and comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { demoNodeArgs } from '../../src/cli/commands/demo.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'

interface Job { jobId: string, type: string, config: string | null, node: string, state: string, outputs: string[], pid: number | null, createdAt: number }
interface Model { modelId: string, elo: number, path: string, ownerNode: string }
interface Plan { weights: Array<{ config: string, engineMode: string, weight: number }> }

const CONFIG = 'hex8_2p'
const MIN_GAMES = 60

/** The demo's settings, tighter: every node trains-capable on CPU, short election and job timings. */
function loopArgs (keyFile: string): string[] {
  return [
    ...demoNodeArgs(keyFile, MIN_GAMES),
    ...FAST_TIMINGS,
    ...FAST_ELECTION,
    '--set', 'jobs.selfplayDispatchIntervalMs=1000', '--set', 'jobs.selfplayGamesPerJob=20', '--set', 'jobs.cleanupIntervalMs=1000',
    '--set', 'jobs.jobHeartbeatIntervalMs=1000', '--set', 'jobs.jobHeartbeatTimeoutMs=6000', '--set', 'jobs.dispatchTimeoutMs=10000',
    '--set', 'jobs.reassignBackoffMs=500', '--set', 'jobs.reassignBackoffMaxMs=2000', '--set', 'jobs.spawnRatePerMinute=600',
    '--set', 'training.readinessIntervalMs=1500', '--set', 'training.cooldownMs=3000', '--set', 'training.gauntletGamesPerSeat=6',
    '--set', 'sync.planIntervalMs=1000', '--set', 'sync.manifestCollectionIntervalMs=1000', '--set', 'sync.manifestCollectionTimeoutMs=1000',
    // any model above 1100 Elo lifts its config's weight: the promotion must show in the scheduler
    '--set', 'scheduler.eloBoostBaseElo=1100', '--set', 'scheduler.eloBoostStepElo=10'
  ]
}

let root: string
let cleanup: () => Promise<void>
let keyFile: string
const running: NodeProcess[] = []
const nodes: Record<string, NodeProcess> = {}

async function start (name: string, extra: string[] = []): Promise<NodeProcess> {
  const n = await startNodeProcess(join(root, name), [...loopArgs(keyFile), ...extra])
  running.push(n)
  nodes[name] = n
  return n
}

const jobsOf = async (n: NodeProcess): Promise<Job[]> => await n.request('jobs') as Job[]
const modelsOf = async (n: NodeProcess): Promise<Record<string, Model>> => await n.request('models') as Record<string, Model>
const leaderOf = async (n: NodeProcess): Promise<string | null> => ((await n.request('status')) as { election: { leader: { nodeId: string } | null } }).election.leader?.nodeId ?? null
const weightOf = async (n: NodeProcess): Promise<number> => ((await n.request('plan')) as Plan).weights.find(w => w.config === CONFIG)?.weight ?? 0
const byPeer = (id: string): [string, NodeProcess] => Object.entries(nodes).find(([, n]) => n.peerId === id) as [string, NodeProcess]
const exists = async (p: string): Promise<boolean> => await stat(p).then(() => true, () => false)

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-loop-'))
  keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  const a = await start('a')
  await start('b', ['--bootstrap', a.addr])
  await start('c', ['--bootstrap', a.addr])
  const off = Object.fromEntries(['square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'square19_4p', 'hex8_3p', 'hex8_4p', 'hexagonal_2p', 'hexagonal_3p', 'hexagonal_4p'].map(c => [c, 0]))
  await a.request('setSetting', { name: 'staticPriority', value: { ...off, [CONFIG]: 8 } })
  await a.request('setSetting', { name: 'voters', value: Object.values(nodes).map(n => n.peerId), force: true }) // b and c may not be heard yet
}, 60_000)

afterAll(async () => {
  await stopNodesAndJobs(running)
  await cleanup()
})

describe('the whole loop on three real nodes', () => {
  let firstModel: Model

  it('self-play → sync → training → gauntlet → PROMOTED, Elo in models, and the scheduler\'s weights change', async () => {
    const a = nodes.a as NodeProcess
    await expect.poll(async () => await leaderOf(a), { timeout: 20_000 }).not.toBeNull()
    const weightBefore = await weightOf(a)
    expect(weightBefore).toBeGreaterThan(0)

    // the first model, promoted, on every replica
    for (const n of Object.values(nodes)) {
      await expect.poll(async () => (await modelsOf(n))[CONFIG], { timeout: 180_000, interval: 1_000 }).toBeDefined()
    }
    firstModel = (await modelsOf(a))[CONFIG] as Model
    expect(firstModel.elo).toBeGreaterThan(0)
    expect(firstModel.path).toMatch(new RegExp(`^models/${CONFIG}/`))

    const jobs = await jobsOf(a)
    const training = jobs.find(j => j.jobId === firstModel.modelId) as Job
    expect(training).toMatchObject({ type: 'training', config: CONFIG, state: 'PROMOTED' })
    const gauntlet = jobs.find(j => j.type === 'gauntlet' && j.state === 'COMPLETE' && j.createdAt >= training.createdAt)
    expect(gauntlet?.outputs.some(o => /^results:[WLD]{12}$/.test(o))).toBe(true)

    // self-play ran on several nodes (all three unless the machine is slow), and games made
    // elsewhere reached the training node's data dir by sync
    const selfplay = jobs.filter(j => j.type === 'selfplay' && j.config === CONFIG && j.createdAt < training.createdAt)
    expect(new Set(selfplay.filter(j => j.state === 'COMPLETE').map(j => j.node)).size).toBeGreaterThanOrEqual(2)
    const [, trainer] = byPeer(training.node)
    const local = new Set(await readdir(join(trainer.dataDir, 'selfplay', CONFIG)))
    const fromOthers = selfplay.filter(j => j.node !== training.node && j.state === 'COMPLETE' && local.has(`${j.jobId}.jsonl`))
    expect(fromOthers.length).toBeGreaterThan(0)
    // the model file reached the node that played the gauntlet
    const [, judge] = byPeer((gauntlet as Job).node)
    expect(await exists(join(judge.dataDir, firstModel.path))).toBe(true)

    // the promoted model's Elo now lifts the config's weight
    await expect.poll(async () => await weightOf(a), { timeout: 15_000 }).toBeGreaterThan(weightBefore)
  }, 240_000)

  it('the loop goes on through kill -9 of a non-leader and of the leader: the next model is trained and judged', async () => {
    const a = nodes.a as NodeProcess
    const leader = await leaderOf(a) as string
    const [victimName, victim] = Object.entries(nodes).find(([, n]) => n.peerId !== leader) as [string, NodeProcess]
    const witness = Object.values(nodes).find(n => n.peerId !== leader && n !== victim) as NodeProcess
    const verdictOnce = async (n: NodeProcess): Promise<Job | undefined> => (await jobsOf(n)).find(j =>
      j.type === 'training' && j.config === CONFIG && j.jobId !== firstModel.modelId && (j.state === 'PROMOTED' || j.state === 'ARCHIVED'))

    // a non-leader dies mid-run and comes back
    await expect.poll(async () => (await jobsOf(victim)).some(j => j.node === victim.peerId && j.state === 'RUNNING'), { timeout: 30_000, interval: 300 }).toBe(true)
    await victim.stop('SIGKILL')
    await start(victimName, ['--bootstrap', witness.addr])

    // the leader dies mid-run; another takes over; the old one comes back as a follower
    const [leaderName, leaderNode] = byPeer(leader)
    await leaderNode.stop('SIGKILL')
    await expect.poll(async () => await leaderOf(witness), { timeout: 30_000, interval: 300 }).not.toBe(leader)
    await expect.poll(async () => await leaderOf(witness), { timeout: 30_000, interval: 300 }).not.toBeNull()
    await start(leaderName, ['--bootstrap', witness.addr])

    const next = await expect.poll(async () => await verdictOnce(witness), { timeout: 240_000, interval: 1_000 }).toBeDefined()
    void next
    const judged = await verdictOnce(witness) as Job
    for (const n of Object.values(nodes)) {
      await expect.poll(async () => (await jobsOf(n)).find(j => j.jobId === judged.jobId)?.state, { timeout: 20_000 }).toBe(judged.state)
    }
    const models = await modelsOf(witness)
    if (judged.state === 'PROMOTED') expect(models[CONFIG]?.modelId).toBe(judged.jobId)
    else expect(models[CONFIG]?.modelId).toBe(firstModel.modelId)
  }, 360_000)
})

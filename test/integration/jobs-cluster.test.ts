/**
 * Jobs across three real `riftmesh node` processes on 127.0.0.1: the leader dispatches selfplay
 * through the document, workers run real processes, every replica sees the outcome; failures
 * carry their exit code and log tail; cancel works from any node; kill -9 of a worker makes its
 * job LOST and re-dispatched; kill -9 of a node (not its job) re-adopts the job on restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import { signedSetting, testOperator, type TestOperator } from '../support/operator.js'

interface Job { jobId: string, type: string, config: string | null, node: string, state: string, attempt: number, previousJobId: string | null, exitCode: number | null, error: string | null, outputs: string[], pid: number | null, dispatchedBy: string }

const FAST = [
  ...FAST_TIMINGS,
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=1000', '--set', 'jobs.cleanupIntervalMs=1000', '--set', 'jobs.jobHeartbeatIntervalMs=1000',
  '--set', 'jobs.jobHeartbeatTimeoutMs=10000', '--set', 'jobs.dispatchTimeoutMs=10000', '--set', 'jobs.reassignBackoffMs=500',
  '--set', 'jobs.reassignBackoffMaxMs=2000', '--set', 'jobs.spawnRatePerMinute=600', '--set', 'jobs.admissionWaitMs=5000',
  '--set', 'jobs.killGraceMs=1000', '--set', 'training.readinessIntervalMs=600000'
]

/** The selfplay stand-in: hex8_2p completes, square19_4p fails, hexagonal_2p runs until cancelled. */
const WORKLOAD = `
const [config, outDir] = process.argv.slice(2)
const fs = require('fs')
if (config === 'square19_4p') { process.stderr.write('bad board: square19 needs a bigger GPU\\n'); process.exit(3) }
const ms = config === 'hexagonal_2p' ? 600000 : 300
setTimeout(() => { fs.writeFileSync(outDir + '/outputs.json', JSON.stringify({ outputs: ['games:10'] })); process.exit(0) }, ms)
`

let root: string
let cleanup: () => Promise<void>
let keyFile: string
let script: string
let op: TestOperator
const running: NodeProcess[] = []
const nodes: Record<string, NodeProcess> = {}

async function start (name: string, extra: string[] = []): Promise<NodeProcess> {
  const n = await startNodeProcess(join(root, name), ['--swarm-key', keyFile, ...FAST, ...op.args, ...extra])
  running.push(n)
  return n
}

const jobsOf = async (n: NodeProcess): Promise<Job[]> => await n.request('jobs') as Job[]
const leaderOf = async (n: NodeProcess): Promise<string | null> => ((await n.request('status')) as { election: { leader: { nodeId: string } | null } }).election.leader?.nodeId ?? null
function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-jobs-'))
  keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  op = await testOperator(root)
  script = join(root, 'selfplay-stand-in.cjs')
  await writeFile(script, WORKLOAD)
  nodes.a = await start('a')
  nodes.b = await start('b', ['--bootstrap', nodes.a.addr])
  nodes.c = await start('c', ['--bootstrap', nodes.a.addr])
  await signedSetting(nodes.a, op, 'jobCommands', { selfplay: [process.execPath, script, '{config}', '{outputDir}'] })
  // two configs only, so the stand-in decides the outcome
  const off = Object.fromEntries(['square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'hex8_3p', 'hex8_4p', 'hexagonal_2p', 'hexagonal_3p', 'hexagonal_4p'].map(c => [c, 0]))
  await signedSetting(nodes.a, op, 'staticPriority', { ...off, hex8_2p: 8, square19_4p: 2 })
  await signedSetting(nodes.a, op, 'voters', [nodes.a.peerId, nodes.b.peerId, nodes.c.peerId], true) // b and c may not be heard yet
}, 60_000)

afterAll(async () => {
  await stopNodesAndJobs(running)
  await cleanup()
})

describe('jobs across three riftmesh node processes', () => {
  it('the leader dispatches selfplay to the others; real processes run; every replica sees COMPLETE, and FAILED with exit code and log tail', async () => {
    await expect.poll(async () => await leaderOf(nodes.a as NodeProcess), { timeout: 20_000 }).not.toBeNull()
    const leader = await leaderOf(nodes.a as NodeProcess)
    const others = Object.values(nodes).filter(n => n.peerId !== leader).map(n => n.peerId)
    for (const n of Object.values(nodes)) {
      await expect.poll(async () => {
        const js = await jobsOf(n)
        return others.every(o => js.some(j => j.node === o && j.config === 'hex8_2p' && j.state === 'COMPLETE' && j.outputs.includes('games:10')))
      }, { timeout: 30_000, interval: 300 }).toBe(true)
    }
    const failed = await expect.poll(async () => (await jobsOf(nodes.c as NodeProcess)).find(j => j.config === 'square19_4p' && j.state === 'FAILED'), { timeout: 30_000, interval: 300 }).toBeDefined()
    void failed
    const f = (await jobsOf(nodes.c as NodeProcess)).find(j => j.config === 'square19_4p' && j.state === 'FAILED') as Job
    expect(f.exitCode).toBe(3)
    expect(f.error).toContain('bad board: square19 needs a bigger GPU')
  })

  it('a cancel from the job\'s dispatcher stops the process on its owner; a member that may not cancel is told so', async () => {
    await signedSetting(nodes.a!, op, 'staticPriority', { hex8_2p: 0, square19_4p: 0, hexagonal_2p: 8, square8_2p: 0, square8_3p: 0, square8_4p: 0, square19_2p: 0, square19_3p: 0, hex8_3p: 0, hex8_4p: 0, hexagonal_3p: 0, hexagonal_4p: 0 })
    const byId = new Map(Object.values(nodes).map(n => [n.peerId, n]))
    // a job running on another node than the one that dispatched it
    const running = (j: Job): boolean => j.config === 'hexagonal_2p' && j.state === 'RUNNING' && j.pid !== null && j.node !== j.dispatchedBy
    await expect.poll(async () => (await jobsOf(nodes.a as NodeProcess)).find(running), { timeout: 60_000, interval: 300 }).toBeDefined()
    const target = (await jobsOf(nodes.a as NodeProcess)).find(running) as Job
    expect(alive(target.pid as number)).toBe(true)
    // the cluster has an operator key: a member that neither dispatched the job nor leads may not cancel it
    const bystander = Object.values(nodes).find(n => n.peerId !== target.node && n.peerId !== target.dispatchedBy)
    if (bystander !== undefined && (await leaderOf(bystander)) !== bystander.peerId) {
      await expect(bystander.request('cancelJob', { jobId: target.jobId })).rejects.toThrow(/may not cancel .*: a cancel counts from the job's dispatcher/)
    }
    const canceller = byId.get(target.dispatchedBy) as NodeProcess
    await canceller.request('cancelJob', { jobId: target.jobId, reason: 'test cancel' })
    await expect.poll(() => alive(target.pid as number), { timeout: 15_000, interval: 200 }).toBe(false)
    await expect.poll(async () => (await jobsOf(byId.get(target.node) as NodeProcess)).find(j => j.jobId === target.jobId)?.state, { timeout: 15_000 }).toBe('CANCELLED')
  })

  it('kill -9 of a node\'s riftmesh process (not its job): on restart the job is re-adopted; kill -9 of a worker with its job: LOST and re-dispatched elsewhere', async () => {
    const leader = await leaderOf(nodes.a as NodeProcess)
    const workerName = (Object.keys(nodes) as Array<keyof typeof nodes>).find(k => nodes[k]?.peerId !== leader) as string
    const worker = nodes[workerName] as NodeProcess
    const onWorker = async (): Promise<Job | undefined> => (await jobsOf(worker)).find(j => j.node === worker.peerId && j.config === 'hexagonal_2p' && j.state === 'RUNNING' && j.pid !== null)
    await expect.poll(onWorker, { timeout: 30_000, interval: 300 }).toBeDefined()
    const job = await onWorker() as Job
    // 1. the node process dies, its job does not
    await worker.stop('SIGKILL')
    expect(alive(job.pid as number)).toBe(true)
    const again = await start(workerName, ['--bootstrap', (nodes.a === worker ? nodes.b : nodes.a)?.addr as string])
    nodes[workerName] = again
    await expect.poll(async () => (await again.request('status') as { managers: { loops: unknown[] } }).managers !== undefined, { timeout: 15_000 }).toBe(true)
    const adopted = (await jobsOf(again)).find(j => j.jobId === job.jobId)
    expect(adopted).toMatchObject({ state: 'RUNNING', pid: job.pid })
    // 2. now the whole machine's work dies: node and job
    await again.stop('SIGKILL')
    process.kill(-(job.pid as number), 'SIGKILL')
    const leaderNode = Object.values(nodes).find(n => n.peerId === leader) as NodeProcess
    await expect.poll(async () => (await jobsOf(leaderNode)).find(j => j.jobId === job.jobId)?.state, { timeout: 30_000, interval: 300 }).toBe('LOST')
    await expect.poll(async () => (await jobsOf(leaderNode)).find(j => j.previousJobId === job.jobId), { timeout: 30_000, interval: 300 }).toBeDefined()
    const next = (await jobsOf(leaderNode)).find(j => j.previousJobId === job.jobId) as Job
    expect(next.node).not.toBe(job.node)
    expect(next.attempt).toBe(2)
  })
})

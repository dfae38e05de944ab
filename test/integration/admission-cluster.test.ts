/**
 * Three real `riftmesh node` processes whose workers admit 2 job starts a minute (advertised in
 * their NodeInfo), a leader passing every second and selfplay jobs that end in 300 ms: the leader
 * would dispatch far beyond that rate, and each job over it used to end REFUSED. Now it dispatches
 * only what each node admits: over a run spanning two spawn windows, jobs complete and none is
 * refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import { signedSetting, testOperator } from '../support/operator.js'

interface Job { jobId: string, node: string, state: string, error: string | null }
interface NodeRow { nodeId: string, admission?: { maxProcesses: number, spawnRatePerMinute: number } }

const RATE = 2
const ARGS = [
  ...FAST_TIMINGS, ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=1000', '--set', 'jobs.cleanupIntervalMs=1000', '--set', `jobs.spawnRatePerMinute=${RATE}`,
  '--set', 'jobs.admissionWaitMs=5000', '--set', 'training.readinessIntervalMs=600000'
]
/** A selfplay stand-in: reports 10 games after 300 ms. */
const WORKLOAD = `
const fs = require('fs')
setTimeout(() => { fs.writeFileSync(process.argv[2] + '/outputs.json', JSON.stringify({ outputs: ['games:10'] })); process.exit(0) }, 300)
`

let root: string
let cleanup: () => Promise<void>
const nodes: NodeProcess[] = []

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-admission-'))
  const keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  const op = await testOperator(root)
  const script = join(root, 'selfplay-stand-in.cjs')
  await writeFile(script, WORKLOAD)
  const a = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile, ...ARGS, ...op.args])
  nodes.push(a)
  for (const name of ['b', 'c']) nodes.push(await startNodeProcess(join(root, name), ['--swarm-key', keyFile, ...ARGS, ...op.args, '--bootstrap', a.addr]))
  await signedSetting(a, op, 'jobCommands', { selfplay: [process.execPath, script, '{outputDir}'] })
  await signedSetting(a, op, 'voters', nodes.map(n => n.peerId), true)
}, 60_000)

afterAll(async () => {
  await stopNodesAndJobs(nodes)
  await cleanup()
})

describe('the leader dispatches only what each node admits', () => {
  it('each node advertises its limits; over two spawn windows jobs complete on every node and none ends REFUSED', async () => {
    const a = nodes[0] as NodeProcess
    const doc = await a.request('doc') as { control: { nodes: Record<string, NodeRow> } }
    for (const n of nodes) expect(doc.control.nodes[n.peerId]?.admission).toEqual({ maxProcesses: 32, spawnRatePerMinute: RATE })
    const jobs = async (): Promise<Job[]> => await a.request('jobs', { type: 'selfplay' }) as Job[]
    // more completions than one window allows the three nodes: the window must have moved on
    const enough = 3 * RATE + 2
    await expect.poll(async () => (await jobs()).filter(j => j.state === 'COMPLETE').length, { timeout: 150_000, interval: 1_000 }).toBeGreaterThanOrEqual(enough)
    // every node gets its share: on a loaded machine one node's first window may come late
    await expect.poll(async () => new Set((await jobs()).filter(j => j.state === 'COMPLETE').map(j => j.node)).size, { timeout: 60_000, interval: 1_000 }).toBe(3)
    const all = await jobs()
    const refused = all.filter(j => j.state === 'REFUSED')
    process.stdout.write(`selfplay jobs: ${all.length} dispatched, ${all.filter(j => j.state === 'COMPLETE').length} COMPLETE, ${refused.length} REFUSED\n`)
    expect(refused.map(j => j.error)).toEqual([])
    expect(new Set(all.filter(j => j.state === 'COMPLETE').map(j => j.node)).size).toBe(3)
  }, 260_000)
})

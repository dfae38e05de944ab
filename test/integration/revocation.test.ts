/**
 * Revoking a machine on a real cluster (issue 25, must-show 2): four `riftmesh node` processes
 * with one operator id in trust.operators, cluster settings signed with it through the real CLI,
 * selfplay jobs running as real processes on every node. `riftmesh revoke` of node d, while it
 * runs a job: within one heartbeat timeout no honest node is connected to d (the connection
 * gater refuses it, the honest nodes hung up), d's entries are gone from every honest view (node
 * table, manifests, its job's status), and the job it ran is LOST and re-run on an honest node.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FAST_ELECTION, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import { nodesRoot } from '../support/in-process-node.js'
import { riftmeshCli } from '../support/cli.js'
import { SystemClock } from '../../src/core/clock.js'

/** One heartbeat timeout: a peer silent this long is DEAD. */
const DEAD_AFTER_MS = 4_000
const FAST = [
  '--set', 'health.heartbeatIntervalMs=300', '--set', 'health.suspectAfterMs=1500', '--set', `health.deadAfterMs=${DEAD_AFTER_MS}`,
  '--set', 'mesh.antiEntropyIntervalMs=1000',
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=1000', '--set', 'jobs.cleanupIntervalMs=1000', '--set', 'jobs.jobHeartbeatIntervalMs=1000',
  '--set', 'jobs.jobHeartbeatTimeoutMs=60000', '--set', 'jobs.dispatchTimeoutMs=60000', '--set', 'jobs.reassignBackoffMs=500',
  '--set', 'jobs.reassignBackoffMaxMs=2000', '--set', 'jobs.spawnRatePerMinute=600', '--set', 'jobs.admissionWaitMs=5000',
  '--set', 'jobs.killGraceMs=1000', '--set', 'training.readinessIntervalMs=600000'
]
/** Selfplay that runs until it is stopped, so the job on d is running when d is revoked. */
const WORKLOAD = 'setTimeout(() => process.exit(0), 600000)\n'
const POLL = { timeout: 30_000, interval: 100 }

interface Job { jobId: string, node: string, state: string, previousJobId: string | null }

let cleanup: () => Promise<void>
const running: NodeProcess[] = []
let a: NodeProcess
let b: NodeProcess
let c: NodeProcess
let d: NodeProcess
let operatorKey: string

const jobsOf = async (n: NodeProcess): Promise<Job[]> => await n.request('jobs') as Job[]
const statusOf = async (n: NodeProcess): Promise<{ connected: string[], nodes: Array<{ nodeId: string }> }> =>
  await n.request('status') as { connected: string[], nodes: Array<{ nodeId: string }> }
const signedSet = async (name: string, value: unknown, ...extra: string[]): Promise<void> => {
  const r = await riftmeshCli('settings', 'set', name, JSON.stringify(value), '--data-dir', a.dataDir, '--operator-key', operatorKey, ...extra)
  expect(r, `settings set ${name}`).toMatchObject({ code: 0, stderr: '' })
}

beforeAll(async () => {
  let dir: string
  let keyFile: string
  ({ dir, keyFile, cleanup } = await nodesRoot('riftmesh-revocation-'))
  operatorKey = join(dir, 'operator.key')
  const made = await riftmeshCli('keygen', '--operator', operatorKey)
  const operatorId = /operator id: (\S+)/.exec(made.stdout)?.[1] as string
  const script = join(dir, 'selfplay-forever.cjs')
  await writeFile(script, WORKLOAD)
  const args = ['--swarm-key', keyFile, ...FAST, '--set', `trust.operators=${operatorId}`]
  a = await startNodeProcess(join(dir, 'a'), args, 60_000)
  running.push(a)
  ;[b, c, d] = await Promise.all(([['b', []], ['c', []], ['d', ['--set', 'node.leaderEligible=false']]] as const).map(async ([name, extra]) => {
    const n = await startNodeProcess(join(dir, name), [...args, ...extra, '--bootstrap', a.addr], 60_000)
    running.push(n)
    return n
  })) as [NodeProcess, NodeProcess, NodeProcess]
  await vi.waitFor(async () => expect((await statusOf(a)).nodes).toHaveLength(4), POLL)
  await signedSet('jobCommands', { selfplay: [process.execPath, script, '{config}', '{outputDir}'] })
  const off = Object.fromEntries(['square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'square19_4p', 'hex8_2p', 'hex8_3p', 'hex8_4p', 'hexagonal_3p', 'hexagonal_4p'].map(k => [k, 0]))
  await signedSet('staticPriority', { ...off, hexagonal_2p: 8 })
  await signedSet('voters', [a.peerId, b.peerId, c.peerId], '--force') // b and c may not be heard yet
}, 240_000)

afterAll(async () => {
  await stopNodesAndJobs(running)
  await cleanup()
})

describe('revoking a node that runs a job', () => {
  it('cuts it off within one heartbeat timeout, drops its entries from every view, and re-runs its job elsewhere', async () => {
    const honest = [a, b, c]
    // d runs a job, and every honest node is connected to it and knows it
    let dJob: Job | undefined
    await vi.waitFor(async () => {
      dJob = (await jobsOf(a)).find(j => j.node === d.peerId && j.state === 'RUNNING')
      expect(dJob).toBeDefined()
    }, POLL)
    for (const n of honest) {
      await vi.waitFor(async () => {
        const s = await statusOf(n)
        expect(s.connected).toContain(d.peerId)
        expect(s.nodes.map(x => x.nodeId)).toContain(d.peerId)
      }, POLL)
    }
    const revoke = await riftmeshCli('revoke', d.peerId, '--reason', 'laptop lost', '--data-dir', b.dataDir, '--operator-key', operatorKey)
    expect(revoke).toMatchObject({ code: 0, stderr: '', stdout: `revoked ${d.peerId}; 1 peer(s) revoked\n` })
    const clock = new SystemClock()
    const revokedAt = clock.monoMs()

    // no honest node is connected to d within one heartbeat timeout, and none lets it back in
    await vi.waitFor(async () => {
      for (const n of honest) expect((await statusOf(n)).connected).not.toContain(d.peerId)
    }, { timeout: DEAD_AFTER_MS, interval: 50 })
    expect(clock.monoMs() - revokedAt).toBeLessThan(DEAD_AFTER_MS)

    // its entries are gone from every view: node table, manifests, the status of its job
    for (const n of honest) {
      expect((await statusOf(n)).nodes.map(x => x.nodeId)).not.toContain(d.peerId)
      expect(((await n.request('nodes')) as Array<{ nodeId: string }>).map(x => x.nodeId)).not.toContain(d.peerId)
      await expect(n.request('manifest', { node: d.peerId })).rejects.toThrow()
      const trust = await n.request('trust') as { revoked: string[] }
      expect(trust.revoked).toEqual([d.peerId])
    }

    // its running job is LOST and re-run on an honest node, as every honest node sees it
    const lost = (dJob as Job).jobId
    for (const n of honest) {
      await vi.waitFor(async () => {
        const jobs = await jobsOf(n)
        expect(jobs.find(j => j.jobId === lost)?.state).toBe('LOST')
        const next = jobs.find(j => j.previousJobId === lost)
        expect(next).toBeDefined()
        expect(honest.map(h => h.peerId)).toContain(next?.node)
      }, POLL)
    }
    // nothing new goes to d
    const after = (await jobsOf(a)).filter(j => j.node === d.peerId && (j.state === 'PENDING' || j.state === 'RUNNING'))
    expect(after).toEqual([])

    // and it stays cut off: d keeps redialling, and still no honest node is connected to it
    const status = await riftmeshCli('status', '--data-dir', c.dataDir)
    expect(status.stdout).toMatch(/\nrevoked: 1 \(12D3KooW\S+…\S+\)\n$/)
    for (const n of honest) expect((await statusOf(n)).connected).not.toContain(d.peerId)
  }, 120_000)
})

/**
 * `riftmesh status` and the metrics endpoint on a real three-node loopback cluster: the JSON
 * summary holds all three nodes and the leader, the text summary shows them in a table, the
 * Prometheus text parses, the metrics history fills, and a dispatch is taken only by the leader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, CLI, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import type { ClusterSummary } from '../../src/repl/status-view.js'
import { uniquePrefixes } from '../../src/repl/format.js'

interface PromFamily { name: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string> }> }
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[]
const run = promisify(execFile)

const QUIET = [
  ...FAST_TIMINGS,
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000',
  '--set', 'node.metricsHistoryIntervalMs=300'
]

let root: string
let cleanup: () => Promise<void>
const running: NodeProcess[] = []
const nodes: NodeProcess[] = []
let metricsPort: number

async function freePort (): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>(resolve => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}

async function status (n: NodeProcess, ...flags: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'status', '--data-dir', n.dataDir, ...flags], { timeout: 20_000 })
  return stdout
}

/** `bin/riftmesh status`, the command the docs give operators, its output piped as a script would read it. */
const BIN = fileURLToPath(new URL('../../bin/riftmesh', import.meta.url))
async function binStatus (n: NodeProcess): Promise<string> {
  const { stdout } = await run(BIN, ['status', '--data-dir', n.dataDir], { timeout: 20_000 })
  return stdout
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-status-'))
  const keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  metricsPort = await freePort()
  const first = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile, ...QUIET, '--metrics-port', String(metricsPort)])
  running.push(first)
  nodes.push(first)
  for (const name of ['b', 'c']) {
    // c takes no new work once its disk is 1 % used: whyNot on it must name that, with the number and the limit
    const strict = name === 'c' ? ['--set', 'health.maxDiskPercentForWork=1'] : []
    const n = await startNodeProcess(join(root, name), ['--swarm-key', keyFile, ...QUIET, ...strict, '--bootstrap', first.addr])
    running.push(n)
    nodes.push(n)
  }
}, 60_000)

afterAll(async () => {
  await Promise.all(running.map(async n => await n.stop('SIGTERM')))
  await cleanup()
})

describe('riftmesh status and metrics on three nodes', () => {
  it('status --json returns all three nodes, alive, and the leader with its lease', async () => {
    const [a] = nodes as [NodeProcess]
    const ids = nodes.map(n => n.peerId).sort()
    let summary: ClusterSummary | undefined
    await expect.poll(async () => {
      summary = JSON.parse(await status(a, '--json')) as ClusterSummary
      return summary.nodes.filter(n => n.health === 'ALIVE').length === 3 && summary.leader.nodeId !== null
    }, { timeout: 30_000, interval: 500 }).toBe(true)
    const s = summary as ClusterSummary
    expect(s.nodes.map(n => n.nodeId).sort()).toEqual(ids)
    expect(s.self).toBe(a.peerId)
    expect(ids).toContain(s.leader.nodeId)
    expect(s.leader.epoch).toBeGreaterThanOrEqual(1)
    expect(s.leader.leaseRemainingMs).toBeGreaterThan(0)
    expect(s.leader.noLeader).toBeNull()
    expect(s.nodes.filter(n => n.role === 'leader').map(n => n.nodeId)).toEqual([s.leader.nodeId])
    expect(s.documents.totalBytes).toBeGreaterThan(0)
    expect(s.sync).toMatchObject({ state: expect.any(String) as unknown })
    // every node names the same leader
    for (const n of nodes.slice(1)) {
      await expect.poll(async () => (JSON.parse(await status(n, '--json')) as ClusterSummary).leader.nodeId, { timeout: 10_000, interval: 500 }).toBe(s.leader.nodeId)
    }
  })

  it('bin/riftmesh status prints the nodes table in 80 columns, peers by short unique prefixes, and --watch redraws --count times', async () => {
    const [a] = nodes as [NodeProcess]
    const text = await binStatus(a)
    const prefixes = uniquePrefixes(nodes.map(n => n.peerId))
    expect(text).toMatch(new RegExp(`^cluster default, seen from ${prefixes.get(a.peerId) as string}\n`, 'm')) // after the no-operator-key warning
    expect(text).toMatch(/\nleader: (this node|12D3KooW\S+…) \(epoch \d+, lease .* left\)\n/)
    expect(text).toMatch(/NODE\s+HOST\s+GPU\s+ROLE\s+HEALTH\s+LOAD\s+CPU\s+JOBS/)
    for (const n of nodes) expect(text).toMatch(new RegExp(`\n${prefixes.get(n.peerId) as string}\\s+.*(leader|voter|follower)\\s+ALIVE`))
    for (const n of nodes) expect(text).not.toContain(n.peerId) // no full id: only their prefixes
    if (process.env.SHOW_STATUS !== undefined) console.log(text)
    expect(text.split('\n').filter(l => l.length > 80)).toEqual([])
    expect(text).toContain('\njobs: none\nrunning jobs: none\n')
    const watched = await status(a, '--watch', '--interval', '0.2', '--count', '3', '--json')
    expect(watched.trim().split('\n').map(l => (JSON.parse(l) as ClusterSummary).nodes.length)).toEqual([3, 3, 3])
  })

  it('whyNot names the blocking reason with its number and limit: disk over health.maxDiskPercentForWork', async () => {
    const c = nodes[2] as NodeProcess
    await expect.poll(async () => {
      const r = await c.request('whyNot', { config: 'hex8_2p' }) as { nodes: Array<{ node: string, eligible: boolean, note: string }>, reasons: string[] }
      return r.nodes.length === 3 && r.nodes.every(n => !n.eligible && /^not taking selfplay: disk \d+ % used \(limit 1 %\)/.test(n.note)) && r.reasons.some(x => x.startsWith('no node is taking selfplay: 12D3KooW'))
    }, { timeout: 20_000, interval: 500 }).toBe(true)
    // status on it says so under its nodes table, for every node
    const text = await status(c)
    for (const n of nodes) expect(text).toMatch(new RegExp(`\\nno new work for ${uniquePrefixes(nodes.map(x => x.peerId)).get(n.peerId) as string}: disk \\d+ % used \\(limit 1 %\\)`))
    // the others, with the default limit, see the same nodes taking selfplay
    const onA = await (nodes[0] as NodeProcess).request('whyNot', { config: 'hex8_2p' }) as { nodes: Array<{ eligible: boolean, note: string }> }
    expect(onA.nodes.map(n => n.note)).not.toContainEqual(expect.stringMatching(/health ALIVE/))
  })

  it('the Prometheus endpoint parses and shows peers, leader, epoch, jobs, documents and drops', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    expect(res.status).toBe(200)
    const text = await res.text()
    const families = parseProm(text)
    const one = (name: string, labels: Record<string, string> = {}): number => {
      const m = families.find(f => f.name === name)?.metrics.find(x => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))
      if (m?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`)
      return Number(m.value)
    }
    expect(one('riftmesh_peers_total')).toBe(2)
    expect(one('riftmesh_peers_alive')).toBe(2)
    expect(one('riftmesh_leader_known')).toBe(1)
    expect(one('riftmesh_libp2p_connections', { direction: 'inbound' }) + one('riftmesh_libp2p_connections', { direction: 'outbound' })).toBeGreaterThanOrEqual(2)
    expect(families.find(f => f.name === 'riftmesh_libp2p_streams')?.metrics.length).toBeGreaterThan(0)
    expect(one('riftmesh_epoch')).toBeGreaterThanOrEqual(1)
    expect(one('riftmesh_jobs', { state: 'RUNNING' })).toBe(0)
    expect(one('riftmesh_document_bytes', { doc: 'control' })).toBeGreaterThan(0)
    expect(one('riftmesh_dropped_messages_total', { reason: 'malformed' })).toBe(0)
    expect(one('riftmesh_sync_received_bytes_total')).toBeGreaterThanOrEqual(0)
    // libp2p's own metrics (@libp2p/prometheus-metrics) in the same registry
    const libp2pFamilies = families.filter(f => f.name.startsWith('libp2p_'))
    expect(libp2pFamilies.length).toBeGreaterThan(3)
    expect(libp2pFamilies.map(f => f.name)).toEqual(expect.arrayContaining(['libp2p_connection_manager_connections']))
    // every sample line is `name{labels} value` as the exposition format says
    for (const line of text.split('\n').filter(l => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? [-+]?([0-9.e+-]+|NaN|Inf)( \d+)?$/)
    }
  })

  it('keeps a metrics history, and a dispatch is taken by the leader only, naming it elsewhere', async () => {
    const [a] = nodes as [NodeProcess]
    await expect.poll(async () => ((await a.request('metricsHistory', { limit: 5 })) as unknown[]).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4)
    const leaderId = (await a.request('lease') as { leader: string }).leader
    const leader = nodes.find(n => n.peerId === leaderId) as NodeProcess
    const follower = nodes.find(n => n.peerId !== leaderId) as NodeProcess
    await expect(follower.request('dispatch', { type: 'export', node: follower.peerId })).rejects.toThrow(new RegExp(`not the leader; attach to the leader ${leaderId}`))
    const d = await leader.request('dispatch', { type: 'export', node: follower.peerId.slice(-8), spec: { reason: 'status test' } }) as { jobId: string, node: string }
    expect(d.node).toBe(follower.peerId)
    await leader.request('cancelJob', { jobId: d.jobId })
    await expect.poll(async () => ((await follower.request('job', { jobId: d.jobId })) as { state: string }).state, { timeout: 10_000 }).toMatch(/CANCELLED|FAILED|REFUSED|COMPLETE/)
  })
})

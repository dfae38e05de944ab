/**
 * A riftmesh cluster on emulated hosts: one `riftmesh node` per lab host, started as the README
 * says — `--swarm-key`, `--data-dir`, `--bootstrap` and the default listen address
 * (0.0.0.0:4100) — plus a config file for the workload's knobs (capabilities, manifest
 * collection period), never for the network or timing profile. The control socket is a file in
 * the data dir, so the test process (in the root namespace) talks to every node.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import type { MeshReport } from '../../src/node/peer-manager.js'
import { CLI, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import { withMachineLock, type Host, type Lab } from './netns.js'
import { signedSetting, testOperator, type TestOperator } from '../support/operator.js'

const run = promisify(execFile)

export interface StatusReply {
  peerId: string
  digest: string
  connected: string[]
  mesh: MeshReport
  election: { role: string, leader: { nodeId: string, epoch: number } | null, isLeader: boolean, highestEpoch: number, mode: string, voters: string[], notStanding: string | null }
}

export interface JobRow {
  jobId: string, type: string, config: string | null, node: string, state: string, attempt: number, previousJobId: string | null
  epoch: number, dispatchedBy: string, leaderless: boolean, createdAt: number, startedAt: number | null, endedAt: number | null
}

/** The stand-in selfplay program: appends `start`/`end` lines with its job id to a ledger shared by every host. */
const JOB_PROGRAM = `
const fs = require('fs')
const [jobId, outDir, ledger, ms] = process.argv.slice(2)
fs.appendFileSync(ledger, 'start ' + jobId + ' ' + Date.now() + '\\n')
setTimeout(() => {
  fs.writeFileSync(outDir + '/outputs.json', JSON.stringify({ outputs: ['games:1'] }))
  fs.appendFileSync(ledger, 'end ' + jobId + ' ' + Date.now() + '\\n')
  process.exit(0)
}, Number(ms))
`

/**
 * How long a node may take to print its address. The host files start 5–7 nodes each, three
 * files at a time (vitest's maxWorkers): ~17 processes loading at once on 2 cores.
 */
const START_TIMEOUT_MS = 60_000
/** How long a cluster waits for another host test file to finish starting its nodes. */
const START_LOCK_WAIT_MS = 120_000

/** Workload knobs only (no network or timing flags): manifests are collected every 2 s. */
export const WORKLOAD = { sync: { manifestCollectionIntervalMs: 2_000, manifestCollectionTimeoutMs: 2_000, planIntervalMs: 1_000 } }
/** WORKLOAD on a host that trains (on CPU) and is the strongest, so training goes there. */
export const TRAINER = { ...WORKLOAD, node: { capabilities: ['selfplay', 'training'], cpuPowerMultiplier: 8 }, training: { allowCpuTraining: true } }

export class HostCluster {
  readonly keyFile: string
  readonly ledger: string
  readonly nodes = new Map<string, NodeProcess>()
  private readonly all: NodeProcess[] = []
  /** The cluster's operator key: every node lists it in trust.operators (its config file), as a deployment that runs its own job programs must. */
  private op: TestOperator | undefined

  constructor (readonly lab: Lab, readonly root: string) {
    this.keyFile = join(root, 'cluster.key')
    this.ledger = join(root, 'ledger.txt')
  }

  async init (): Promise<void> {
    await writeSwarmKey(this.keyFile)
    this.op = await testOperator(this.root)
    await writeFile(this.ledger, '')
  }

  dataDir (h: Host): string {
    return join(this.root, h.name)
  }

  /**
   * Start a cluster's nodes one host file at a time: node processes spend their first seconds
   * on CPU, and three files starting 17 of them at once on 2 cores took over a minute each.
   */
  async starting<T> (fn: () => Promise<T>): Promise<T> {
    return await withMachineLock('node-starts', START_LOCK_WAIT_MS, fn)
  }

  /** Start a node on host h with the README's flags; `config` (JSON) goes into a --config file. */
  async start (h: Host, args: string[], config: Record<string, unknown> = {}): Promise<NodeProcess> {
    const dir = this.dataDir(h)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const cfgFile = join(this.root, `${h.name}.config.json`)
    await writeFile(cfgFile, JSON.stringify({ trust: { operators: [this.operator().signer.id] }, ...config }))
    const n = await startNodeProcess(dir, ['--config', cfgFile, ...args], START_TIMEOUT_MS, { listen: null, wrap: this.lab.wrap(h), logLevel: 'info' })
    this.nodes.set(h.name, n)
    this.all.push(n)
    return n
  }

  private operator (): TestOperator {
    if (this.op === undefined) throw new Error('HostCluster.init() first')
    return this.op
  }

  /** Change a cluster setting through the node on `via`, signed with the cluster's operator key (riftmesh settings set --operator-key). */
  async setSetting (via: Host, name: string, value: unknown, force = false): Promise<void> {
    await signedSetting(this.node(via), this.operator(), name, value, force)
  }

  node (h: Host): NodeProcess {
    const n = this.nodes.get(h.name)
    if (n === undefined) throw new Error(`no node on ${h.name}`)
    return n
  }

  async status (h: Host): Promise<StatusReply> {
    return await this.node(h).request('status') as StatusReply
  }

  /** `riftmesh status --json` as a user runs it (a real CLI process). */
  async statusJson (h: Host): Promise<{ mesh: MeshReport, notStanding: string | null, leader: { nodeId: string | null, epoch: number | null } }> {
    const { stdout } = await run(process.execPath, [CLI, 'status', '--json', '--data-dir', this.dataDir(h)], { timeout: 60_000 })
    return JSON.parse(stdout)
  }

  async jobs (h: Host): Promise<JobRow[]> {
    return await this.node(h).request('jobs') as JobRow[]
  }

  /** Every host's view of the leader (null where none is known or the node does not answer). */
  async leaders (hosts: readonly Host[]): Promise<Array<{ nodeId: string, epoch: number } | null>> {
    return await Promise.all(hosts.map(async h => await this.status(h).then(s => s.election.leader, () => null)))
  }

  /** Wait until every host in `hosts` names the same leader, above `minEpoch` when given; returns it. */
  async agreedLeader (hosts: readonly Host[], timeoutMs: number, minEpoch = 0): Promise<{ nodeId: string, epoch: number }> {
    let agreed: { nodeId: string, epoch: number } | undefined
    await expect.poll(async () => {
      const ls = await this.leaders(hosts)
      const first = ls[0]
      const ok = first !== null && first !== undefined && first.epoch > minEpoch && ls.every(l => l !== null && l.nodeId === first.nodeId && l.epoch === first.epoch)
      if (ok) agreed = first
      return ok
    }, { timeout: timeoutMs, interval: 100 }).toBe(true)
    return agreed as { nodeId: string, epoch: number }
  }

  /** Wait until every host in `hosts` is connected to every other one. */
  async fullMesh (hosts: readonly Host[], timeoutMs: number): Promise<void> {
    // the links still missing ('h3 → h4'), so a failure names them
    await expect.poll(async () => {
      const ss = await Promise.all(hosts.map(async x => ({ x, s: await this.status(x) })))
      return ss.flatMap(({ x, s }) => hosts.filter(y => y !== x && !s.mesh.peers.some(p => p.nodeId === this.node(y).peerId && p.connected)).map(y => `${x.name} → ${y.name}`))
    }, { timeout: timeoutMs, interval: 250 }).toEqual([])
  }

  /** Wait until every host's documents are equal (the same state digest at one instant). */
  async converged (hosts: readonly Host[], timeoutMs: number): Promise<void> {
    await expect.poll(async () => {
      const ds = await Promise.all(hosts.map(async h => (await this.status(h)).digest))
      return new Set(ds).size
    }, { timeout: timeoutMs, interval: 100 }).toBe(1)
  }

  /** Settings every cluster test wants: the ledger program for selfplay, one config, the given voters. */
  async configureJobs (via: Host, voters: readonly string[], jobMs = 3_000): Promise<void> {
    const program = join(this.root, 'selfplay-stand-in.cjs')
    await writeFile(program, JOB_PROGRAM)
    await this.setSetting(via, 'jobCommands', { selfplay: [process.execPath, program, '{jobId}', '{outputDir}', this.ledger, String(jobMs)] })
    const configs = ['square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'square19_4p', 'hex8_2p', 'hex8_3p', 'hex8_4p', 'hexagonal_2p', 'hexagonal_3p', 'hexagonal_4p']
    await this.setSetting(via, 'staticPriority', Object.fromEntries(configs.map(c => [c, c === 'hex8_2p' ? 8 : 0])))
    await this.setSetting(via, 'voters', [...voters], true) // tests set voters before all are heard, or fewer than 3
  }

  /** The ledger: how many times each job id started. */
  async ledgerStarts (): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const line of (await readFile(this.ledger, 'utf8')).split('\n')) {
      const m = /^start (\S+) /.exec(line)
      if (m !== null) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + 1)
    }
    return out
  }

  /** Wall time of the first log line of host h's node: when its process was up and running. */
  firstLogTime (h: Host): number | undefined {
    return this.logLine(h, /./)?.time
  }

  /** The first JSON log line of host h's node whose message matches, or undefined. */
  logLine (h: Host, msg: RegExp): { time: number, msg: string } | undefined {
    for (const line of this.node(h).stderr().split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        const j = JSON.parse(line) as { time: number, msg: string }
        if (msg.test(j.msg)) return j
      } catch { /* a partial line at the end */ }
    }
    return undefined
  }

  async stop (): Promise<void> {
    await stopNodesAndJobs(this.all)
  }
}

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}

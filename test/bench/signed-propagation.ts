/**
 * Benchmark for what signed entries cost replication (issue 25, must-show 5): the same changes
 * replicated two ways in one network, interleaved round by round (alternating which goes first,
 * so both see the same load):
 * - signed — the product path: the writer's ClusterState write (signed with its libp2p key)
 *   until every other node's typed view (`node()`, `setting()`, `job()`, which verify the
 *   signature, the schema and who may write it) returns it;
 * - unsigned — the same values written as plain Y.Map entries (maps `unsigned.<map>` of the same
 *   documents) through the same DocSet, DocStore, Replicator and gossipsub mesh, read back raw
 *   from the other nodes' Y.Docs.
 * The changes cycle through three realistic entries: a NodeInfo rewrite, a cluster setting (a
 * register holding a job command line), and a job status heartbeat of the writer's own job.
 *
 * All nodes share one process (memory transport) and the verified-signature cache of
 * entry-sig.ts is per process: of the N-1 readers of a change the first pays the Ed25519 check,
 * the others a cache hit (message rebuilt and compared). On separate machines every reader pays
 * one cold check, in parallel; the micro-costs below give that figure.
 */
import { availableParallelism, loadavg } from 'node:os'
import * as Y from 'yjs'
import { SeededRng, type Rng } from '../../src/core/rng.js'
import { silentLogger } from '../../src/core/logger.js'
import { SystemClock } from '../../src/core/clock.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { registerKey } from '../../src/state/registers.js'
import { bucketOfJob } from '../../src/state/jobs.js'
import { bucketDocName, type DocName } from '../../src/state/docs.js'
import { seededSigner, signEntry, verifyEntry } from '../../src/state/entry-sig.js'
import { jobStatusSchema, nodeInfoSchema, settingRegisterSchema, type JobStatus, type NodeInfo, type SettingValue } from '../../src/state/schema.js'
import type { MemoryPeer } from '../support/memory-peer.js'
import { type Latencies, ROUND_TIMEOUT_MS, SETTLE_MS, latencies, pct, startNetwork, stopNetwork, waitFor, type Network } from './propagation.js'
import type { SizeResult } from './state-size.js'

type Mode = 'signed' | 'unsigned'
type Kind = 'node' | 'setting' | 'status'
const KINDS: readonly Kind[] = ['node', 'setting', 'status']
/** Map prefix of the unsigned copies (unknown to ClusterState, so never validated). */
const UNSIGNED = 'unsigned.'
/** Setting names the rounds rewrite (a cluster has tens of settings, not one per change). */
const SETTING_NAMES = 8
const SETUP_TIMEOUT_MS = 60_000
const SEED = 25
const MICRO_ENTRIES = 2_000
const SCHEMAS = { node: nodeInfoSchema, setting: settingRegisterSchema, status: jobStatusSchema } as const

/** One change: where it goes, its value, and how a reader tells this round's value. */
interface Change {
  kind: Kind
  doc: DocName
  map: string
  key: string
  /** The value as the product writes it (before its signature is attached). */
  value: Record<string, unknown>
  stamp: number
  stampOf: (v: unknown) => number | undefined
  /** The product write (signs). */
  write: () => void
  /** The typed, verifying read. */
  typed: (s: ClusterState) => unknown
}

interface Flight {
  mode: Mode
  change: Change
  got: boolean[]
  remaining: number
  lastMs: number
  done: () => void
  /** ms the readers spent looking for the change (typed view or raw map), summed, and how many looks. */
  readMs: number
  reads: number
}

interface Sample {
  kind: Kind
  latencyMs: number | undefined
  firstSendMs: number | undefined
  cpuMs: number
  payloadBytes: number
  /** ms of the write call (signed: build, sign, store locally). */
  writeMs: number
  readMs: number
  reads: number
  /** Gossip sends of document updates by all nodes (deliveries, duplicates included). */
  docSends: number
}

function nodeInfo (p: MemoryPeer, i: number, stamp: number): NodeInfo {
  return {
    v: 1, nodeId: p.mesh.selfId, host: `gpu-box-${i}.lan`, addrs: [`/ip4/10.0.0.${i}/tcp/4100`, `/ip4/192.168.1.${i}/tcp/4100`], version: '0.1.0',
    startedAt: 1_765_000_000_000,
    hardware: { cpuCount: 64, memoryGb: 512, diskFreeGb: stamp, diskTotalGb: 4000, hasGpu: true, gpuName: 'NVIDIA H100 80GB HBM3', gpuCount: 8, gpuMemoryGb: 80 },
    capabilities: ['selfplay', 'training', 'gauntlet', 'tournament', 'export'],
    flags: { voter: i < 3, retired: false, leaderEligible: true }
  }
}

function jobStatus (p: MemoryPeer, jobId: string, stamp: number): JobStatus {
  return {
    v: 1, jobId, node: p.mesh.selfId, state: 'RUNNING', pid: 48_213, startedAt: 1_765_000_000_000, heartbeatAt: 1_765_000_000_000 + stamp,
    endedAt: null, exitCode: null, error: null, outputs: [`data/games/hex8_2p/selfplay-${jobId.slice(-12)}.jsonl`], engineMode: 'gumbel-mcts'
  }
}

function settingValue (stamp: number): SettingValue {
  return { selfplay: ['python', '-m', 'app.selfplay', '--board', '{board}', '--players', '{players}', '--games', '{games}'], round: stamp }
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined)
const field = (v: unknown, k: string): unknown => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined)

function makeChange (kind: Kind, p: MemoryPeer, i: number, jobId: string, round: number): Change {
  const stamp = 1_000 + round
  const self = p.mesh.selfId
  if (kind === 'node') {
    const value = nodeInfo(p, i, stamp)
    return {
      kind, doc: 'control', map: 'nodes', key: self, value, stamp,
      stampOf: v => num(field(field(v, 'hardware'), 'diskFreeGb')),
      write: () => p.state.setNodeInfo(value),
      typed: s => s.node(self)
    }
  }
  if (kind === 'setting') {
    const name = `bench/signed/${round % SETTING_NAMES}`
    const value = settingValue(stamp)
    return {
      kind, doc: 'control', map: 'settings', key: registerKey(name, self), value: { v: 1, name, writer: self, version: round + 1, value }, stamp,
      stampOf: v => num(field(v, 'round') ?? field(field(v, 'value'), 'round')),
      write: () => p.state.setSetting(name, value),
      typed: s => s.setting(name)
    }
  }
  const value = jobStatus(p, jobId, stamp)
  return {
    kind, doc: bucketDocName(bucketOfJob(jobId) as string), map: 'status', key: jobId, value, stamp,
    stampOf: v => { const h = num(field(v, 'heartbeatAt')); return h === undefined ? undefined : h - 1_765_000_000_000 },
    write: () => p.state.setJobStatus(value),
    typed: s => s.job(jobId)?.status
  }
}

function unsignedWrite (p: MemoryPeer, c: Change): void {
  const doc = p.state.docs.ensure(c.doc)
  doc.transact(() => doc.getMap(UNSIGNED + c.map).set(c.key, c.value))
}

function has (s: ClusterState, f: Flight): boolean {
  const c = f.change
  const v = f.mode === 'signed' ? c.typed(s) : s.docs.get(c.doc)?.getMap(UNSIGNED + c.map).get(c.key)
  return c.stampOf(v) === c.stamp
}

interface SignedNet { net: Network, flight: { current: Flight | undefined }, jobs: string[] }

async function startSignedNet (n: number, windowMs: number, rng: SeededRng): Promise<SignedNet> {
  const net = await startNetwork(n, windowMs, rng.fork('topology'))
  const flight: SignedNet['flight'] = { current: undefined }
  try {
    net.peers.forEach((p, i) => {
      net.cleanups.push(p.state.onUpdate(u => {
        const f = flight.current
        if (u.origin !== 'remote' || f === undefined || f.got[i] === true) return
        const t0 = performance.now()
        const seen = has(p.state, f)
        f.readMs += performance.now() - t0
        f.reads++
        if (!seen) return
        f.got[i] = true
        if (--f.remaining === 0) {
          f.lastMs = performance.now()
          f.done()
        }
      }))
    })
    // every node announces itself and runs one job of its own, as in a working cluster
    const jobs = net.peers.map((p, i) => {
      p.state.setNodeInfo(nodeInfo(p, i, 0))
      return p.state.dispatchJob({
        type: 'selfplay', config: 'hex8_2p', engineMode: 'gumbel-mcts', spec: { games: 200, simulations: 800, temperature: 1 },
        assignedNode: p.mesh.selfId, dispatchEpoch: 1, attempt: 0, previousJobId: null
      }).jobId
    })
    const ready = await waitFor(() => net.peers.every(p => jobs.every(j => p.state.job(j) !== undefined) && p.state.nodes().length === n), SETUP_TIMEOUT_MS)
    if (!ready) {
      const jobsMissing = net.peers.reduce((a, p) => a + jobs.filter(j => p.state.job(j) === undefined).length, 0)
      const nodesMissing = net.peers.reduce((a, p) => a + n - p.state.nodes().length, 0)
      throw new Error(`setup entries did not reach all ${n} nodes in ${SETUP_TIMEOUT_MS} ms: ${jobsMissing} jobs and ${nodesMissing} NodeInfos missing over all nodes`)
    }
    return { net, flight, jobs }
  } catch (err) {
    await stopNetwork(net)
    throw err
  }
}

async function measure (sn: SignedNet, writer: number, mode: Mode, change: Change): Promise<Sample> {
  const { net } = sn
  const p = net.peers[writer] as MemoryPeer
  let done!: () => void
  const arrived = new Promise<void>(resolve => { done = resolve })
  const f: Flight = { mode, change, got: net.peers.map((_, i) => i === writer), remaining: net.peers.length - 1, lastMs: 0, done, readMs: 0, reads: 0 }
  net.traffic.watch = { node: writer, kind: 'doc', atMs: undefined }
  const published = p.replicator.counters.publishedBytes
  sn.flight.current = f
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const sends = net.traffic.sends.doc
  if (mode === 'signed') change.write()
  else unsignedWrite(p, change)
  const writeMs = performance.now() - t0
  const timeout = new Promise<false>(resolve => { setTimeout(resolve, ROUND_TIMEOUT_MS, false).unref() })
  const ok = await Promise.race([arrived.then(() => true), timeout])
  const cpu = process.cpuUsage(cpu0)
  sn.flight.current = undefined
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  const firstSendAt = net.traffic.watch.atMs
  net.traffic.watch = undefined
  return {
    kind: change.kind,
    latencyMs: ok ? f.lastMs - t0 : undefined,
    firstSendMs: firstSendAt === undefined ? undefined : firstSendAt - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    writeMs,
    readMs: f.readMs,
    reads: f.reads,
    docSends: net.traffic.sends.doc - sends,
    payloadBytes: p.replicator.counters.publishedBytes - published
  }
}

type Series = Record<Mode, Sample[]>

async function runRounds (sn: SignedNet, rounds: number, rng: Rng): Promise<Series> {
  const out: Series = { signed: [], unsigned: [] }
  const n = sn.net.peers.length
  // warm-up (not counted): each kind once in each mode, from node 0
  for (const [k, kind] of KINDS.entries()) {
    for (const mode of ['signed', 'unsigned'] as const) await measure(sn, 0, mode, makeChange(kind, sn.net.peers[0]!, 0, sn.jobs[0]!, -1 - k))
  }
  for (let r = 0; r < rounds; r++) {
    const writer = rng.int(n)
    const change = makeChange(KINDS[r % KINDS.length]!, sn.net.peers[writer]!, writer, sn.jobs[writer]!, r)
    const order: Mode[] = r % 2 === 0 ? ['signed', 'unsigned'] : ['unsigned', 'signed']
    for (const mode of order) out[mode].push(await measure(sn, writer, mode, change))
  }
  return out
}

interface Stats extends Latencies {
  cpuMs: number
  payload: number
  /** Medians per change. */
  writeMs: number
  readMs: number
  reads: number
  docSends: number
}

function stats (xs: Sample[]): Stats {
  const mean = (f: (s: Sample) => number): number => xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length)
  return {
    ...latencies(xs), cpuMs: mean(s => s.cpuMs), payload: mean(s => s.payloadBytes),
    writeMs: median(xs.map(s => s.writeMs)), readMs: median(xs.map(s => s.readMs)), reads: mean(s => s.reads), docSends: mean(s => s.docSends)
  }
}

const median = (xs: number[]): number => pct([...xs].sort((a, b) => a - b), 0.5)
const f1 = (x: number): string => x.toFixed(1)
const f2 = (x: number): string => x.toFixed(2)
const f0 = (x: number): string => Math.round(x).toLocaleString('en-US')

/** Load averages (1 / 5 / 15 min) and cores: how busy the machine was around a run. */
function loadNote (): string {
  return `load avg ${loadavg().map(x => x.toFixed(1)).join(' / ')} on ${availableParallelism()} cores`
}

/** One network of `n` nodes: signed and unsigned rounds interleaved; the rows for that run. */
export async function signedVsUnsigned (n: number, rounds: number, windowMs: number, targetRatio: number): Promise<SizeResult> {
  const rng = new SeededRng(SEED * 7919 + n * 31 + windowMs)
  const load0 = loadNote()
  const sn = await startSignedNet(n, windowMs, rng)
  let series: Series
  try {
    series = await runRounds(sn, rounds, rng.fork('rounds'))
  } finally {
    await stopNetwork(sn.net)
  }
  const s = stats(series.signed)
  const u = stats(series.unsigned)
  const line = (x: Stats, count: number): string =>
    `${f1(x.p50)} / ${f1(x.p99)} / ${f1(x.max)}  misses ${x.misses}/${count}, first send p50 ${f1(x.firstSend50)} ms, CPU ${f2(x.cpuMs)} ms/change, payload ${f0(x.payload)} B`
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met')
  const rows: Record<string, string> = {
    'signed   p50/p99/max ms': line(s, series.signed.length),
    'unsigned p50/p99/max ms': line(u, series.unsigned.length),
    'signed/unsigned': `p50 ${f2(s.p50 / u.p50)}×, p99 ${f2(s.p99 / u.p99)}× → ≤ ${targetRatio}× p50 ${met(s.p50 <= targetRatio * u.p50)}, p99 ${met(s.misses === 0 && s.p99 <= targetRatio * u.p99)}`,
    'signature cost per change': `CPU +${f2(s.cpuMs - u.cpuMs)} ms (all ${n} nodes), payload +${f0(s.payload - u.payload)} B`,
    'where (medians per change)': `write call ${f2(s.writeMs)} vs ${f2(u.writeMs)} ms; readers' looks ${f2(s.readMs)} vs ${f2(u.readMs)} ms (${f1(s.reads)} vs ${f1(u.reads)} looks); doc gossip sends ${f1(s.docSends)} vs ${f1(u.docSends)}`
  }
  for (const kind of KINDS) {
    const sk = stats(series.signed.filter(x => x.kind === kind))
    const uk = stats(series.unsigned.filter(x => x.kind === kind))
    rows[`  ${kind.padEnd(7)} p50 signed/unsigned ms`] = `${f1(sk.p50)} / ${f1(uk.p50)} (${f2(sk.p50 / uk.p50)}×), p99 ${f1(sk.p99)} / ${f1(uk.p99)} (${f2(sk.p99 / uk.p99)}×), payload ${f0(sk.payload)} / ${f0(uk.payload)} B`
  }
  rows.load = `${load0} at start; ${loadNote()} at end`
  return {
    name: `N=${n}, ${windowMs} ms coalescing: one entry → all ${n - 1} others, signed (product write → typed view) vs unsigned (raw Y.Map both ends); ${rounds} rounds, interleaved`,
    values: rows
  }
}

/** Median µs of one call of `fn(i)` over `count` calls (the median leaves out calls the loaded machine preempted). */
function perCallUs (count: number, fn: (i: number) => void): number {
  const us: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    fn(i)
    us.push((performance.now() - t0) * 1000)
  }
  return pct(us.sort((a, b) => a - b), 0.5)
}

/** Size of the Yjs update that sets `value` under `key` in a fresh map. */
function updateBytes (key: string, value: unknown): number {
  const doc = new Y.Doc()
  doc.getMap('m').set(key, value)
  return Y.encodeStateAsUpdate(doc).byteLength
}

/**
 * Micro-costs of signing and verifying one entry, and of a typed read of a changed entry, for
 * each of the three entries the rounds write.
 */
export function entryCosts (): SizeResult {
  const writer = seededSigner('bench-signed-writer')
  const clock = new SystemClock()
  const reader = new ClusterState({ clock, logger: silentLogger(), rng: new SeededRng(7), signer: seededSigner('bench-signed-reader') }, {})
  const peerLike = { mesh: { selfId: writer.id } } as unknown as MemoryPeer
  const jobId = 'bench-job'
  const values: Record<Kind, (i: number) => { doc: DocName, map: string, key: string, value: Record<string, unknown> }> = {
    node: i => ({ doc: 'control', map: 'nodes', key: writer.id, value: nodeInfo(peerLike, 1, 1_000 + i) }),
    setting: i => ({ doc: 'control', map: 'settings', key: registerKey('bench/signed/0', writer.id), value: { v: 1, name: 'bench/signed/0', writer: writer.id, version: i + 1, value: settingValue(i) } }),
    status: i => ({ doc: 'jobs/bench', map: 'status', key: jobId, value: jobStatus(peerLike, jobId, i) })
  }
  const rows: Record<string, string> = {}
  let signSum = 0
  let coldSum = 0
  for (const kind of KINDS) {
    const make = values[kind]
    const plain = Array.from({ length: MICRO_ENTRIES }, (_, i) => make(i))
    let signed: Array<Record<string, unknown>> = []
    const signUs = perCallUs(MICRO_ENTRIES, i => { const e = plain[i]!; signed.push(signEntry(writer, e.doc, e.map, e.key, e.value)) })
    const check = (i: number): void => {
      const e = plain[i]!
      if (!verifyEntry(e.doc, e.map, e.key, signed[i]).ok) throw new Error(`bench entry ${kind} ${i} failed verification`)
    }
    const coldUs = perCallUs(MICRO_ENTRIES, check)
    const warmUs = perCallUs(MICRO_ENTRIES, check)
    // the schema check every typed read of a changed entry also does (it predates signatures)
    const schemaUs = perCallUs(MICRO_ENTRIES, i => { if (!SCHEMAS[kind].safeParse(plain[i]!.value).success) throw new Error(`bench entry ${kind} ${i} fails its schema`) })
    const sigBytes = JSON.stringify(signed[0]).length - JSON.stringify(plain[0]!.value).length
    const yBytes = updateBytes(plain[0]!.key, signed[0]) - updateBytes(plain[0]!.key, plain[0]!.value)
    rows[`${kind.padEnd(7)} sign / verify cold / warm µs`] = `${f1(signUs)} / ${f1(coldUs)} / ${f1(warmUs)}; schema check ${f1(schemaUs)}  (entry ${f0(JSON.stringify(plain[0]!.value).length)} B JSON; signature +${sigBytes} B JSON, +${yBytes} B Yjs update)`
    signSum += signUs
    coldSum += coldUs
    signed = []
  }
  // A typed read of a changed NodeInfo: signature (cold: never seen; warm: verified by another
  // replica in this process), schema, key and authority — against a raw Y.Map get.
  const nodes = reader.docs.ensure('control').getMap('nodes')
  const raw = reader.docs.ensure('control').getMap(`${UNSIGNED}nodes`)
  const timedRead = (fresh: boolean, typed: boolean): number => {
    const base = 100_000 + (fresh ? 0 : MICRO_ENTRIES) + (typed ? 0 : 2 * MICRO_ENTRIES)
    const entries = Array.from({ length: MICRO_ENTRIES }, (_, i) => {
      const e = values.node(base + i)
      const entry = signEntry(writer, e.doc, e.map, e.key, e.value)
      if (!fresh) verifyEntry(e.doc, e.map, e.key, entry)
      return { e, entry }
    })
    const us: number[] = []
    for (const { e, entry } of entries) {
      if (typed) nodes.set(e.key, entry)
      else raw.set(e.key, e.value)
      const t0 = performance.now()
      const got = typed ? reader.node(writer.id) : raw.get(e.key)
      us.push((performance.now() - t0) * 1000)
      if (num(field(field(got, 'hardware'), 'diskFreeGb')) !== num(field(e.value.hardware, 'diskFreeGb'))) throw new Error('typed read returned a stale NodeInfo')
    }
    return pct(us.sort((a, b) => a - b), 0.5)
  }
  const coldRead = timedRead(true, true)
  const warmRead = timedRead(false, true)
  const rawRead = timedRead(true, false)
  reader.destroy()
  rows['read of a changed NodeInfo, median µs'] = `typed ${f1(coldRead)} (signature new) / ${f1(warmRead)} (signature verified elsewhere in the process) vs raw Y.Map get ${f2(rawRead)}`
  rows['entries/s per core'] = `sign ${f0(1e6 / (signSum / KINDS.length))}, verify cold ${f0(1e6 / (coldSum / KINDS.length))}, typed read of a changed NodeInfo ${f0(1e6 / coldRead)} (mean of the three entries; Ed25519 in node:crypto)`
  rows.load = loadNote()
  return { name: `signature costs per entry: medians of ${MICRO_ENTRIES} calls per kind, one process`, values: rows }
}

const RUNS: Array<{ n: number, rounds: number, windowMs: number }> = [
  { n: 10, rounds: 120, windowMs: 0 },
  { n: 10, rounds: 120, windowMs: 30 },
  { n: 50, rounds: 60, windowMs: 30 }
]
export const TARGET_RATIO = 1.2

/** Signed vs unsigned replication side by side, then the per-entry costs. */
export async function signedPropagation (): Promise<SizeResult[]> {
  const results: SizeResult[] = [entryCosts()]
  for (const { n, rounds, windowMs } of RUNS) {
    try {
      results.push(await signedVsUnsigned(n, rounds, windowMs, TARGET_RATIO))
    } catch (err) {
      results.push({ name: `N=${n}, ${windowMs} ms coalescing: FAILED`, values: { error: String(err), load: loadNote() } })
    }
  }
  results.push({
    name: 'legend (signed vs unsigned)',
    values: {
      signed: 'ClusterState.setNodeInfo / setSetting / setJobStatus (signEntry with the node key) → other nodes\' node() / setting() / job().status (verifyEntry, schema, authority)',
      unsigned: `the same values set raw in maps ${UNSIGNED}<map> of the same documents → read raw; same DocSet, DocStore, Replicator, gossipsub`,
      latency: 'write call → last of the N-1 others has it; p99 of ≤ 120 samples ≈ the second-largest',
      'verify in one process': 'the verified-signature cache is per process: one cold Ed25519 check per change, the other readers hit the cache',
      CPU: 'process CPU per change (all nodes share one thread), write → last arrival',
      ratio: 'every node runs on one thread: latency follows the CPU of all N nodes, so each reader\'s typed read (verify, schema) and the writer\'s signature add up along the path; on separate machines each node pays its share once, in parallel'
    }
  })
  return results
}

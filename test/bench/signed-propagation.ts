/**
 * Benchmark for what signed entries cost replication (issue 25, must-show 5): the same changes
 * replicated three ways in one network, interleaved round by round (rotating which goes first,
 * so all see the same load):
 * - signed — the product path: the writer's ClusterState write (signed with its libp2p key)
 *   until every other node's typed view (`node()`, `setting()`, `job()`, which verify the
 *   signature, the schema and who may write it) returns it;
 * - unsigned — the same values through the same typed view without the signature (UnsignedView:
 *   the same schema parse on write, the same ValidatedMap arrival check, schema, key check,
 *   settings resolution and job state on read; no signEntry, verifyEntry or authority), in maps
 *   `unsigned.<map>` of the same documents, through the same DocSet, DocStore, Replicator and
 *   gossipsub mesh. (Until this arm read raw Y.Map values it left out the schema parse and the
 *   settings resolution, which have nothing to do with signatures, and put them on the
 *   signature's account.)
 * - padded — unsigned, with a dummy `sig` of a real one's size in each value (stripped on read,
 *   not checked): it splits the signature's cost into its bytes (padded/unsigned) and its checks
 *   (signed/padded).
 * The changes cycle through three realistic entries: a NodeInfo rewrite, a cluster setting (a
 * register holding a job command line), and a job status heartbeat of the writer's own job.
 *
 * All nodes share one process (memory transport) and the verified-signature cache of
 * entry-sig.ts is per process: of the N-1 readers of a change the first pays the Ed25519 check,
 * the others a cache hit (the stored entry's JSON compared). On separate machines every reader pays
 * one cold check, in parallel; the micro-costs (entry-costs.ts) give that figure.
 */
import { IDONTWANT_MIN_BYTES } from '../../src/mesh/libp2p-options.js'
import { SeededRng, type Rng } from '../../src/core/rng.js'
import type { ClusterState } from '../../src/state/cluster-state.js'
import { registerKey } from '../../src/state/registers.js'
import { bucketOfJob } from '../../src/state/jobs.js'
import { bucketDocName, type DocName } from '../../src/state/docs.js'
import type { MemoryPeer } from '../support/memory-peer.js'
import { UnsignedView } from './unsigned-view.js'
import { entryCosts } from './entry-costs.js'
import { KINDS, PADDED, UNSIGNED, f0, f1, f2, field, jobStatus, loadNote, nodeInfo, num, settingValue, type Kind } from './signed-workload.js'
import { type Latencies, ROUND_TIMEOUT_MS, SETTLE_MS, latencies, pct, startNetwork, stopNetwork, waitFor, type Network } from './propagation.js'
import type { SizeResult } from './state-size.js'

/** signed: the product; unsigned: the same typed view without signatures; padded: unsigned with a dummy signature of a real one's size. */
type Mode = 'signed' | 'unsigned' | 'padded'
const MODES: readonly Mode[] = ['signed', 'unsigned', 'padded']
/** Setting names the rounds rewrite (a cluster has tens of settings, not one per change). */
const SETTING_NAMES = 8
const SETUP_TIMEOUT_MS = 60_000
const SEED = 25

/** One change: where it goes, its value, and how a reader tells this round's value. */
interface Change {
  kind: Kind
  doc: DocName
  map: string
  key: string
  stamp: number
  stampOf: (v: unknown) => number | undefined
  /** The product write (signs). */
  write: () => void
  /** The same write without the signature, into the writer's unsigned view. */
  writeUnsigned: (view: UnsignedView) => void
  /** The typed, verifying read. */
  typed: (s: ClusterState) => unknown
  /** The same typed read without the signature. */
  typedUnsigned: (view: UnsignedView) => unknown
}

interface Flight {
  mode: Mode
  change: Change
  got: boolean[]
  remaining: number
  lastMs: number
  done: () => void
  /** ms the readers spent looking for the change (typed view, signed or not), summed, and how many looks. */
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
  /** Gossip sends that carried no message (control: IDONTWANT, IHAVE, GRAFT, …) by all nodes. */
  controlSends: number
}


function makeChange (kind: Kind, p: MemoryPeer, i: number, jobId: string, round: number): Change {
  const stamp = 1_000 + round
  const self = p.mesh.selfId
  if (kind === 'node') {
    const value = nodeInfo(self, i, stamp)
    return {
      kind, doc: 'control', map: 'nodes', key: self, stamp,
      stampOf: v => num(field(field(v, 'hardware'), 'diskFreeGb')),
      write: () => p.state.setNodeInfo(value),
      writeUnsigned: u => u.setNodeInfo(value),
      typed: s => s.node(self),
      typedUnsigned: u => u.node(self)
    }
  }
  if (kind === 'setting') {
    const name = `bench/signed/${round % SETTING_NAMES}`
    const value = settingValue(stamp)
    return {
      kind, doc: 'control', map: 'settings', key: registerKey(name, self), stamp,
      stampOf: v => num(field(v, 'round')),
      write: () => p.state.setSetting(name, value),
      writeUnsigned: u => u.setSetting(name, value),
      typed: s => s.setting(name),
      typedUnsigned: u => u.setting(name)
    }
  }
  const value = jobStatus(self, jobId, stamp)
  return {
    kind, doc: bucketDocName(bucketOfJob(jobId) as string), map: 'status', key: jobId, stamp,
    stampOf: v => { const h = num(field(v, 'heartbeatAt')); return h === undefined ? undefined : h - 1_765_000_000_000 },
    write: () => p.state.setJobStatus(value),
    writeUnsigned: u => u.setJobStatus(value),
    typed: s => s.job(jobId)?.status,
    typedUnsigned: u => u.jobStatus(jobId)
  }
}

function has (s: ClusterState, views: NodeViews, f: Flight): boolean {
  const c = f.change
  return c.stampOf(f.mode === 'signed' ? c.typed(s) : c.typedUnsigned(views[f.mode])) === c.stamp
}

/** One node's views of the two unsigned arms. */
type NodeViews = Record<Exclude<Mode, 'signed'>, UnsignedView>

interface SignedNet { net: Network, flight: { current: Flight | undefined }, jobs: string[], views: NodeViews[] }

async function startSignedNet (n: number, windowMs: number, rng: SeededRng): Promise<SignedNet> {
  const net = await startNetwork(n, windowMs, rng.fork('topology'))
  const flight: SignedNet['flight'] = { current: undefined }
  const views: NodeViews[] = []
  try {
    net.peers.forEach((p, i) => {
      net.cleanups.push(p.state.onUpdate(u => {
        const f = flight.current
        if (u.origin !== 'remote' || f === undefined || f.got[i] === true) return
        const t0 = performance.now()
        const seen = has(p.state, views[i] as NodeViews, f)
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
      p.state.setNodeInfo(nodeInfo(p.mesh.selfId, i, 0))
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
    for (const p of net.peers) {
      const v: NodeViews = { unsigned: new UnsignedView(p.state), padded: new UnsignedView(p.state, { padded: true }) }
      v.unsigned.watchJobs(jobs)
      v.padded.watchJobs(jobs)
      views.push(v)
    }
    return { net, flight, jobs, views }
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
  const controlSends = net.traffic.sends.control
  if (mode === 'signed') change.write()
  else change.writeUnsigned((sn.views[writer] as NodeViews)[mode])
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
    controlSends: net.traffic.sends.control - controlSends,
    payloadBytes: p.replicator.counters.publishedBytes - published
  }
}

type Series = Record<Mode, Sample[]>

async function runRounds (sn: SignedNet, rounds: number, rng: Rng): Promise<Series> {
  const out: Series = { signed: [], unsigned: [], padded: [] }
  const n = sn.net.peers.length
  // warm-up (not counted): each kind once in each mode, from node 0
  for (const [k, kind] of KINDS.entries()) {
    for (const mode of MODES) await measure(sn, 0, mode, makeChange(kind, sn.net.peers[0]!, 0, sn.jobs[0]!, -1 - k))
  }
  for (let r = 0; r < rounds; r++) {
    const writer = rng.int(n)
    const change = makeChange(KINDS[r % KINDS.length]!, sn.net.peers[writer]!, writer, sn.jobs[writer]!, r)
    // each arm goes first, second and last equally often, and signed and unsigned alternate which leads
    const order = r % 2 === 0 ? MODES : [...MODES].reverse()
    const rotated = [...order.slice(Math.floor(r / 2) % 3), ...order.slice(0, Math.floor(r / 2) % 3)]
    for (const mode of rotated) out[mode].push(await measure(sn, writer, mode, change))
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
  controlSends: number
}

function stats (xs: Sample[]): Stats {
  const mean = (f: (s: Sample) => number): number => xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length)
  return {
    ...latencies(xs), cpuMs: mean(s => s.cpuMs), payload: mean(s => s.payloadBytes),
    writeMs: median(xs.map(s => s.writeMs)), readMs: median(xs.map(s => s.readMs)), reads: mean(s => s.reads), docSends: mean(s => s.docSends), controlSends: mean(s => s.controlSends)
  }
}

const median = (xs: number[]): number => pct([...xs].sort((a, b) => a - b), 0.5)

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
  const pd = stats(series.padded)
  const line = (x: Stats, count: number): string =>
    `${f1(x.p50)} / ${f1(x.p99)} / ${f1(x.max)}  misses ${x.misses}/${count}, first send p50 ${f1(x.firstSend50)} ms, CPU ${f2(x.cpuMs)} ms/change, payload ${f0(x.payload)} B`
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met')
  const rows: Record<string, string> = {
    'signed   p50/p99/max ms': line(s, series.signed.length),
    'unsigned p50/p99/max ms': line(u, series.unsigned.length),
    'padded   p50/p99/max ms': line(pd, series.padded.length),
    'signed/unsigned': `p50 ${f2(s.p50 / u.p50)}×, p99 ${f2(s.p99 / u.p99)}× → ≤ ${targetRatio}× p50 ${met(s.p50 <= targetRatio * u.p50)}, p99 ${met(s.misses === 0 && s.p99 <= targetRatio * u.p99)}`,
    'signature cost per change': `CPU +${f2(s.cpuMs - u.cpuMs)} ms (all ${n} nodes), payload +${f0(s.payload - u.payload)} B`,
    '  of which its bytes (padded)': `p50 ${f2(pd.p50 / u.p50)}×, p99 ${f2(pd.p99 / u.p99)}× unsigned; CPU +${f2(pd.cpuMs - u.cpuMs)} ms, payload +${f0(pd.payload - u.payload)} B`,
    '  of which its checks (signed/padded)': `p50 ${f2(s.p50 / pd.p50)}×, p99 ${f2(s.p99 / pd.p99)}×; CPU +${f2(s.cpuMs - pd.cpuMs)} ms (sign, verify, authority)`,
    'where (medians per change)': `write call ${f2(s.writeMs)} vs ${f2(u.writeMs)} ms; readers' reads after each remote update ${f2(s.readMs)} vs ${f2(u.readMs)} ms (${f1(s.reads)} vs ${f1(u.reads)} looks); doc gossip sends ${f1(s.docSends)} vs ${f1(u.docSends)}, control sends ${f1(s.controlSends)} vs ${f1(u.controlSends)} (padded ${f1(pd.controlSends)})`
  }
  for (const kind of KINDS) {
    const sk = stats(series.signed.filter(x => x.kind === kind))
    const uk = stats(series.unsigned.filter(x => x.kind === kind))
    rows[`  ${kind.padEnd(7)} p50 signed/unsigned ms`] = `${f1(sk.p50)} / ${f1(uk.p50)} (${f2(sk.p50 / uk.p50)}×), p99 ${f1(sk.p99)} / ${f1(uk.p99)} (${f2(sk.p99 / uk.p99)}×), payload ${f0(sk.payload)} / ${f0(uk.payload)} B`
  }
  rows.load = `${load0} at start; ${loadNote()} at end`
  return {
    name: `N=${n}, ${windowMs} ms coalescing: one entry → all ${n - 1} others, signed (product write → typed view) vs unsigned (the same typed write and view, no signature) vs padded (unsigned + a dummy signature's bytes); ${rounds} rounds, interleaved`,
    values: rows
  }
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
      unsigned: `the same values through the same typed view without signature or authority (schema parse on write; ValidatedMap, settings resolution, job state on read), in maps ${UNSIGNED}<map> of the same documents; same DocSet, DocStore, Replicator, gossipsub`,
      padded: `unsigned, each value carrying a dummy sig of a real one's size (signer id, 88 characters), stripped on read, not checked (maps ${PADDED}<map>): padded/unsigned is what the signature's bytes cost, signed/padded what its checks cost`,
      latency: 'write call → last of the N-1 others has it; p99 of ≤ 120 samples ≈ the second-largest',
      'verify in one process': 'the verified-signature cache is per process: one cold Ed25519 check per change, the other readers hit the cache',
      'control sends': `gossipsub sends IDONTWANT to its mesh peers for every message of ${IDONTWANT_MIN_BYTES} B or more (idontwantMinDataSize; its default, 512 B, is below a signed update)`,
      CPU: 'process CPU per change (all nodes share one thread), write → last arrival; checks a map makes as an entry arrives count in CPU and latency, not in the readers\' reads',
      ratio: 'every node runs on one thread: latency follows the CPU of all N nodes, so every node\'s share — the signature\'s ~150 B through Yjs, gossipsub, noise, yamux and the store on every delivery, the writer\'s signing, each reader\'s check — adds up along the path; on separate machines each node pays its share once, in parallel'
    }
  })
  return results
}

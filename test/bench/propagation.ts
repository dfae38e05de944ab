/**
 * Benchmark for document propagation: the time one `setSetting` takes to reach every other node
 * of N = 10, 50 and 100 real libp2p nodes in one process (memory transport, the real
 * Replicator, DocStore and ClusterState from test/support/memory-peer), side by side with a plain
 * gossipsub publish of the same number of bytes from the same node in the same network (the
 * floor). Each round does one document change and one plain publish, alternating which goes
 * first, so both see the same conditions. Run once with the default 30 ms coalescing window and
 * once with 0 (a fresh network each), because the window adds latency by design.
 *
 * Bytes are counted at the gossipsub outbound streams of every node (wrapped at run time, no
 * change to src/): each RPC is classed by the topic of the messages it carries, so "copies" are
 * message deliveries including duplicates, and "stream bytes" are the length-prefixed gossipsub
 * RPC bytes handed to yamux (piggybacked control included; yamux + noise add ~30 B per send).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { SeededRng, type Rng } from '../../src/core/rng.js'
import { registerKey } from '../../src/state/registers.js'
import { docTopic } from '../../src/node/node.js'
import { TEST_CLUSTER, startMemoryPeer, testSwarmKey, type MemoryPeer } from '../support/memory-peer.js'
import type { SizeResult } from './state-size.js'

const DOC_TOPIC = docTopic(TEST_CLUSTER)
const PLAIN_TOPIC = `riftmesh/${TEST_CLUSTER}/bench-plain/1`
/** Earlier nodes each new node dials: a sparse, connected, seeded topology. */
const DIALS_PER_NODE = 3
/**
 * Most connections a node may be dialled up to. Below gossipsub's Dhi (12) so no node prunes a
 * mesh peer — a pruned peer is backed off for 60 s, which left leaf nodes with one mesh peer.
 */
const MAX_DEGREE = 10
const DIAL_TIMEOUT_MS = 10_000
const DIAL_BATCH = 25
const MESH_READY_TIMEOUT_MS = 10_000
export const ROUND_TIMEOUT_MS = 5_000
/** Pause after each measured change so stragglers, duplicates and persistence drain. */
export const SETTLE_MS = 100
const STOP_TIMEOUT_MS = 30_000
const SEED = 1

type Kind = 'doc' | 'plain' | 'control'
type Bytes = { byteLength: number }

/** Gossip traffic summed over every node, by what the RPC carried. */
class Traffic {
  current: Kind = 'control'
  readonly sends: Record<Kind, number> = { doc: 0, plain: 0, control: 0 }
  readonly bytes: Record<Kind, number> = { doc: 0, plain: 0, control: 0 }
  /** Set while a change is in flight: the first send of that kind by that node. */
  watch: { node: number, kind: Kind, atMs: number | undefined } | undefined

  snapshot (): { sends: Record<Kind, number>, bytes: Record<Kind, number> } {
    return { sends: { ...this.sends }, bytes: { ...this.bytes } }
  }
}

interface RpcLike { messages?: Array<{ topic?: string }> }
interface OutboundLike { pushPrefixed(data: Bytes): void }
/** Gossipsub internals used here; present at run time but not on the exported type. */
interface GossipInternals {
  getMeshPeers(topic: string): string[]
  sendRpc(id: string, rpc: RpcLike): boolean
  sendRpcInBatch(tosend: Set<string>, rpc: RpcLike): void
  streamsOutbound: Map<string, OutboundLike>
}

function gossip (p: MemoryPeer): GossipInternals {
  return p.mesh.libp2p.services.pubsub as unknown as GossipInternals
}

function classify (rpc: RpcLike): Kind {
  const topic = rpc.messages?.[0]?.topic
  return topic === DOC_TOPIC ? 'doc' : topic === PLAIN_TOPIC ? 'plain' : 'control'
}

/** Count every byte node `index` pushes to a gossipsub outbound stream. */
function instrument (p: MemoryPeer, index: number, traffic: Traffic): void {
  const g = gossip(p)
  const wrapStream = (s: OutboundLike): OutboundLike => {
    const push = s.pushPrefixed.bind(s)
    s.pushPrefixed = data => {
      traffic.sends[traffic.current]++
      traffic.bytes[traffic.current] += data.byteLength
      const w = traffic.watch
      if (w !== undefined && w.node === index && w.kind === traffic.current && w.atMs === undefined) w.atMs = performance.now()
      push(data)
    }
    return s
  }
  for (const s of g.streamsOutbound.values()) wrapStream(s)
  const set = g.streamsOutbound.set.bind(g.streamsOutbound)
  g.streamsOutbound.set = (id, s) => set(id, wrapStream(s))
  const sendRpc = g.sendRpc.bind(g)
  g.sendRpc = (id, rpc) => {
    traffic.current = classify(rpc)
    try { return sendRpc(id, rpc) } finally { traffic.current = 'control' }
  }
  const sendBatch = g.sendRpcInBatch.bind(g)
  g.sendRpcInBatch = (tosend, rpc) => {
    traffic.current = classify(rpc)
    try { sendBatch(tosend, rpc) } finally { traffic.current = 'control' }
  }
}

/** One change in flight: which nodes still lack it and when the last one got it. */
interface Flight {
  kind: 'doc' | 'plain'
  /** Setting key (doc) or round tag (plain) the receivers look for. */
  tag: string
  got: boolean[]
  remaining: number
  lastMs: number
  done: () => void
}

export interface Network {
  peers: MemoryPeer[]
  traffic: Traffic
  flight: { current: Flight | undefined }
  cleanups: Array<() => void>
  setupMs: { start: number, dial: number, mesh: number }
  /** Nodes with fewer than 2 mesh peers on either topic when the bounded wait ended. */
  meshShort: number
}

function arrive (f: Flight | undefined, kind: Flight['kind'], i: number, tag: string | undefined): void {
  if (f === undefined || f.kind !== kind || f.got[i] === true) return
  if (tag !== undefined && tag !== f.tag) return
  f.got[i] = true
  if (--f.remaining === 0) {
    f.lastMs = performance.now()
    f.done()
  }
}

const decoder = new TextDecoder()
const TAG_BYTES = 16
/** The round tag a plain message starts with, fixed width. */
function plainTag (text: string): string {
  return text.padEnd(TAG_BYTES, ' ').slice(-TAG_BYTES)
}

export async function startNetwork (n: number, coalesceWindowMs: number, rng: Rng): Promise<Network> {
  const swarmKey = testSwarmKey()
  const traffic = new Traffic()
  const flight: Network['flight'] = { current: undefined }
  const peers: MemoryPeer[] = []
  const cleanups: Array<() => void> = []
  const t0 = performance.now()
  try {
    for (let i = 0; i < n; i++) {
      const p = await startMemoryPeer({
        swarmKey, seed: SEED * 1000 + i, heartbeats: false,
        // anti-entropy stays on (sync on connect) but its periodic run is pushed past the bench
        replicator: { coalesceWindowMs, antiEntropyIntervalMs: 3_600_000 }
      })
      peers.push(p)
      instrument(p, i, traffic)
      const settings = p.state.docs.get('control')?.getMap('settings')
      if (settings === undefined) throw new Error('control document missing')
      cleanups.push(p.state.onUpdate(u => {
        const f = flight.current
        if (u.origin === 'remote' && f?.kind === 'doc' && settings.has(f.tag)) arrive(f, 'doc', i, undefined)
      }))
      cleanups.push(p.mesh.subscribe(PLAIN_TOPIC, m => arrive(flight.current, 'plain', i, decoder.decode(m.data.subarray(0, TAG_BYTES)))))
    }
    const t1 = performance.now()
    await dialTopology(peers, rng)
    const t2 = performance.now()
    const short = (): number => peers.filter(p => Math.min(gossip(p).getMeshPeers(DOC_TOPIC).length, gossip(p).getMeshPeers(PLAIN_TOPIC).length) < 2).length
    await waitFor(() => short() === 0, MESH_READY_TIMEOUT_MS)
    const t3 = performance.now()
    return { peers, traffic, flight, cleanups, meshShort: short(), setupMs: { start: t1 - t0, dial: t2 - t1, mesh: t3 - t2 } }
  } catch (err) {
    await stopNetwork({ peers, cleanups })
    throw err
  }
}

/**
 * Node i > 0 dials up to DIALS_PER_NODE distinct random earlier nodes that have fewer than
 * MAX_DEGREE connections (at least one, so the graph is connected); dials run in bounded batches.
 */
async function dialTopology (peers: MemoryPeer[], rng: Rng): Promise<void> {
  const dials: Array<[number, number]> = []
  const degree = peers.map(() => 0)
  for (let i = 1; i < peers.length; i++) {
    const open = Array.from({ length: i }, (_, j) => j).filter(j => degree[j]! < MAX_DEGREE)
    const targets = rng.shuffle(open).slice(0, DIALS_PER_NODE)
    if (targets.length === 0) throw new Error(`node ${i} has no earlier node below ${MAX_DEGREE} connections`)
    for (const j of targets) {
      dials.push([i, j])
      degree[i]!++
      degree[j]!++
    }
  }
  for (let k = 0; k < dials.length; k += DIAL_BATCH) {
    await Promise.all(dials.slice(k, k + DIAL_BATCH).map(async ([i, j]) => {
      await peers[i]!.mesh.dial(peers[j]!.addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    }))
  }
}

export async function waitFor (cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) return false
    await sleep(25)
  }
  return true
}

export async function stopNetwork (net: Pick<Network, 'peers' | 'cleanups'>): Promise<void> {
  for (const c of net.cleanups.splice(0)) c()
  const stopAll = Promise.all(net.peers.map(async p => await p.stop()))
  const timer = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { ref: false })
  if (await Promise.race([stopAll.then(() => 'ok' as const), timer]) === 'timeout') {
    throw new Error(`stopping ${net.peers.length} peers took over ${STOP_TIMEOUT_MS} ms`)
  }
  net.peers.length = 0
}

interface Sample {
  /** ms from the write/publish call until the last of the N-1 other nodes had it; undefined = miss. */
  latencyMs: number | undefined
  /** ms until the writer's first gossip send of it (persist + coalesce + encode + sign). */
  firstSendMs: number | undefined
  /** Process CPU ms (all nodes share one thread) from the call until the last arrival. */
  cpuMs: number
  copies: number
  streamBytes: number
  /** Bytes of the published gossip payload (the DocUpdate message, or the plain bytes). */
  payloadBytes: number
}

/** Start one change, wait (bounded) until every other node has it, settle, and account. */
async function measure (net: Network, writer: number, kind: 'doc' | 'plain', tag: string, send: () => Promise<number>): Promise<Sample> {
  const n = net.peers.length
  let done!: () => void
  const arrived = new Promise<void>(resolve => { done = resolve })
  const f: Flight = { kind, tag, got: Array.from({ length: n }, (_, i) => i === writer), remaining: n - 1, lastMs: 0, done }
  const before = net.traffic.snapshot()
  net.traffic.watch = { node: writer, kind, atMs: undefined }
  net.flight.current = f
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const payloadBytes = await send()
  const ac = new AbortController()
  const ok = await Promise.race([arrived.then(() => true), sleep(ROUND_TIMEOUT_MS, false, { signal: ac.signal }).catch(() => false)])
  const cpu = process.cpuUsage(cpu0)
  ac.abort()
  net.flight.current = undefined
  await sleep(SETTLE_MS)
  const firstSendAt = net.traffic.watch.atMs
  net.traffic.watch = undefined
  const after = net.traffic.snapshot()
  return {
    latencyMs: ok ? f.lastMs - t0 : undefined,
    firstSendMs: firstSendAt === undefined ? undefined : firstSendAt - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    copies: after.sends[kind] - before.sends[kind],
    streamBytes: (after.bytes.doc + after.bytes.plain + after.bytes.control) - (before.bytes.doc + before.bytes.plain + before.bytes.control),
    payloadBytes
  }
}

function docChange (net: Network, writer: number, name: string, value: number): () => Promise<number> {
  const p = net.peers[writer]!
  return async () => {
    const before = p.replicator.counters.publishedBytes
    p.state.setSetting(name, value)
    // the payload size is known once the replicator has published (after persist + coalescing)
    await waitFor(() => p.replicator.counters.publishedBytes !== before, ROUND_TIMEOUT_MS)
    return p.replicator.counters.publishedBytes - before
  }
}

function plainPublish (net: Network, writer: number, tag: string, size: number, rng: Rng): () => Promise<number> {
  const data = new Uint8Array(Math.max(size, TAG_BYTES))
  for (let i = TAG_BYTES; i < data.length; i++) data[i] = rng.int(256)
  data.set(new TextEncoder().encode(tag))
  return async () => {
    await net.peers[writer]!.mesh.publish(PLAIN_TOPIC, data)
    return data.byteLength
  }
}

interface Series { doc: Sample[], plain: Sample[] }

async function runRounds (net: Network, rounds: number, label: string, rng: Rng): Promise<Series> {
  const out: Series = { doc: [], plain: [] }
  let lastPayload = 200
  // warm-up (not counted): one change and one plain publish from node 0
  await measure(net, 0, 'doc', registerKey(`bench/${label}/warm`, net.peers[0]!.mesh.selfId), docChange(net, 0, `bench/${label}/warm`, 0))
  const warmTag = plainTag(`${label}:w`)
  await measure(net, 0, 'plain', warmTag, plainPublish(net, 0, warmTag, lastPayload, rng))
  for (let r = 0; r < rounds; r++) {
    const writer = rng.int(net.peers.length)
    const name = `bench/${label}/${r}`
    const key = registerKey(name, net.peers[writer]!.mesh.selfId)
    const tag = plainTag(`${label}:${r}`)
    const doDoc = async (): Promise<void> => {
      const s = await measure(net, writer, 'doc', key, docChange(net, writer, name, r))
      if (s.payloadBytes > 0) lastPayload = s.payloadBytes
      out.doc.push(s)
    }
    const doPlain = async (): Promise<void> => { out.plain.push(await measure(net, writer, 'plain', tag, plainPublish(net, writer, tag, lastPayload, rng))) }
    if (r % 2 === 0) { await doDoc(); await doPlain() } else { await doPlain(); await doDoc() }
  }
  return out
}

export function pct (sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

interface Stats { p50: number, p99: number, max: number, misses: number, firstSend50: number, cpuBusy: number, copies: number, streamBytes: number, payload: number }

export interface Latencies { p50: number, p99: number, max: number, misses: number, firstSend50: number }

/** Percentiles of the samples' latencies (a miss has none) and the median time to the first send. */
export function latencies (xs: ReadonlyArray<{ latencyMs: number | undefined, firstSendMs: number | undefined }>): Latencies {
  const lat = xs.flatMap(s => (s.latencyMs === undefined ? [] : [s.latencyMs])).sort((a, b) => a - b)
  const fs = xs.flatMap(s => (s.firstSendMs === undefined ? [] : [s.firstSendMs])).sort((a, b) => a - b)
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat[lat.length - 1] ?? NaN, misses: xs.length - lat.length, firstSend50: pct(fs, 0.5) }
}

function stats (xs: Sample[]): Stats {
  const mean = (f: (s: Sample) => number): number => xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length)
  return {
    ...latencies(xs),
    cpuBusy: mean(s => (s.latencyMs === undefined ? 0 : s.cpuMs)) / mean(s => s.latencyMs ?? 0),
    copies: mean(s => s.copies), streamBytes: mean(s => s.streamBytes), payload: mean(s => s.payloadBytes)
  }
}

const f1 = (x: number): string => x.toFixed(1)
const f0 = (x: number): string => Math.round(x).toLocaleString('en-US')

/** One network of `n` nodes with one coalescing window; returns the rows for that run. */
async function runOne (n: number, rounds: number, windowMs: number, targetMs: number | undefined): Promise<{ setup: string, rows: Record<string, string> }> {
  const rng = new SeededRng(SEED * 7919 + n * 31 + windowMs)
  const net = await startNetwork(n, windowMs, rng.fork('topology'))
  let series: Series
  try {
    series = await runRounds(net, rounds, `n${n}w${windowMs}`, rng.fork('rounds'))
  } finally {
    await stopNetwork(net)
  }
  const d = stats(series.doc)
  const p = stats(series.plain)
  const s = net.setupMs
  const w = `w${windowMs}`
  const line = (x: Stats, count: number): string =>
    `${f1(x.p50)} / ${f1(x.p99)} / ${f1(x.max)}  misses ${x.misses}/${count}, first send p50 ${f1(x.firstSend50)} ms, CPU busy ${(100 * x.cpuBusy).toFixed(0)} %`
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met')
  const absolute = targetMs === undefined ? 'no absolute target' : `p99 ≤ ${targetMs} ms ${verdict(d.misses === 0 && d.p99 <= targetMs)}`
  return {
    setup: `${f0(s.start)} / ${f0(s.dial)} / ${f0(s.mesh)}${net.meshShort === 0 ? '' : ` (${net.meshShort} nodes < 2 mesh peers)`}`,
    rows: {
      [`${w} ours  p50/p99/max ms`]: line(d, series.doc.length),
      [`${w} plain p50/p99/max ms`]: line(p, series.plain.length),
      [`${w} ours/plain`]: `p50 ${(d.p50 / p.p50).toFixed(2)}×, p99 ${(d.p99 / p.p99).toFixed(2)}× → ${absolute}; ≤ 1.5× plain p50 ${verdict(d.p50 <= 1.5 * p.p50)}, p99 ${verdict(d.p99 <= 1.5 * p.p99)}`,
      [`${w} bytes/change`]: `payload ${f0(d.payload)} B (plain ${f0(p.payload)}); copies ${f1(d.copies)} vs ${f1(p.copies)}; stream ${f0(d.streamBytes)} vs ${f0(p.streamBytes)} B`
    }
  }
}

const SIZES: Array<{ n: number, rounds: number, targetMs?: number }> = [
  { n: 10, rounds: 40, targetMs: 100 },
  { n: 50, rounds: 30 },
  { n: 100, rounds: 20, targetMs: 300 }
]
/** The default coalescing window (adds latency by design) and none. */
const WINDOWS_MS = [30, 0]

/** The `propagation` suite: one result per N, both coalescing windows side by side. */
export async function propagation (): Promise<SizeResult[]> {
  const results: SizeResult[] = []
  for (const { n, rounds, targetMs } of SIZES) {
    const setups: string[] = []
    const rows: Record<string, string> = {}
    for (const w of WINDOWS_MS) {
      const r = await runOne(n, rounds, w, targetMs)
      setups.push(r.setup)
      Object.assign(rows, r.rows)
    }
    results.push({
      name: `N=${n}: one setSetting → all ${n - 1} others, vs a plain publish of the same bytes; ${rounds} rounds per window (w30 = 30 ms coalescing, w0 = none)`,
      values: { [`setup ms start/dial/mesh≥2 (${WINDOWS_MS.map(w => `w${w}`).join(' | ')})`]: setups.join(' | '), ...rows }
    })
  }
  results.push({
    name: 'legend',
    values: {
      network: `one process, memory transport; node i>0 dials ${DIALS_PER_NODE} random earlier nodes with < ${MAX_DEGREE} conns (seed ${SEED}); gossipsub heartbeat 200 ms; riftmesh heartbeats off`,
      latency: 'call → last of the N-1 others has it (ours: key visible after remote apply; plain: topic handler ran); p99 of ≤ 40 samples ≈ max',
      'CPU busy': 'process CPU time / wall time during propagation — all N nodes share one thread',
      bytes: 'payload = published gossip data (ours: the DocUpdate message); copies = sends of it by all nodes = deliveries incl. duplicates',
      stream: `gossipsub RPC bytes all nodes wrote, during the change + ${SETTLE_MS} ms settle, control included; yamux + noise add ~30 B a send`,
      'peak RSS': `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`
    }
  })
  return results
}

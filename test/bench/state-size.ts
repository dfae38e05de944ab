/**
 * Benchmark for the cluster document and its LevelDB store (issue 2):
 *  (a) 100 nodes × 17,280 NodeInfo rewrites (a day at one rewrite per 5 s);
 *  (b) 100,000 jobs dispatched, run and finished.
 * Each reports the encoded document size, the LevelDB dir size and the restore time, side by
 * side with the naive layout it replaces (nested maps for (a), one never-rotated jobs map for (b)).
 */
import { seededSigner, type EntrySigner } from '../../src/state/entry-sig.js'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as Y from 'yjs'
import { VirtualClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { REMOTE_ORIGIN } from '../../src/state/docs.js'
import type { NodeInfo } from '../../src/state/schema.js'
import { DocStore } from '../../src/store/doc-store.js'
import { openLevel } from '../../src/store/level.js'
import { tempDir } from '../helpers.js'

const logger = silentLogger()

export async function dirBytes (dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p)).size
  }
  return total
}

function docBytes (s: ClusterState): number {
  let n = 0
  for (const name of s.docs.names()) n += Y.encodeStateAsUpdateV2(s.docs.get(name)!).byteLength
  return n
}

function peerSigner (i: number): EntrySigner {
  return seededSigner(`bench-peer-${i}`)
}

function peer (i: number): string {
  return peerSigner(i).id
}

function nodeInfo (i: number, round: number): NodeInfo {
  return {
    v: 1, nodeId: peer(i), host: `gpu-box-${i}.lan`, addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4100`], version: '0.1.0', startedAt: 1_700_000_000_000,
    hardware: { cpuCount: 64, memoryGb: 512, diskFreeGb: 2000 - (round % 100), diskTotalGb: 4000, hasGpu: true, gpuName: 'NVIDIA H100 80GB HBM3', gpuCount: 8, gpuMemoryGb: 80 },
    capabilities: ['selfplay', 'training', 'gauntlet', 'tournament', 'export'],
    flags: { voter: i < 5, retired: false, leaderEligible: true }
  }
}

export interface SizeResult { name: string, values: Record<string, number | string> }

async function restoreMs (dir: string): Promise<{ ms: number, docBytes: number }> {
  const db = await openLevel(dir)
  const state = new ClusterState({ clock: new VirtualClock(0), logger, rng: new SeededRng(99), signer: seededSigner('restorer') }, {})
  const store = new DocStore({ db, state, clock: new VirtualClock(0), logger })
  const t0 = performance.now()
  await store.start()
  const ms = performance.now() - t0
  const bytes = docBytes(state)
  await store.stop()
  await db.close()
  return { ms, docBytes: bytes }
}

/** (a) NodeInfo rewrites: every node rewrites its own entry; the observer applies and persists. */
export async function nodeInfoDay (nodes = 100, rounds = 17_280): Promise<SizeResult> {
  const { dir, cleanup } = await tempDir('riftmesh-bench-')
  try {
    const db = await openLevel(dir)
    const observer = new ClusterState({ clock: new VirtualClock(0), logger, rng: new SeededRng(1), signer: seededSigner('observer') }, {})
    const store = new DocStore({ db, state: observer, clock: new VirtualClock(0), logger }, { syncWrites: false })
    await store.start()
    const writers = Array.from({ length: nodes }, (_, i) =>
      new ClusterState({ clock: new VirtualClock(0), logger, rng: new SeededRng(1000 + i), signer: peerSigner(i) }, {}))
    const pending: Array<{ update: Uint8Array }> = []
    for (const w of writers) w.onUpdate(u => { if (u.origin === 'local') pending.push(u) })
    const t0 = performance.now()
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < nodes; i++) writers[i]!.setNodeInfo(nodeInfo(i, r))
      // the Replicator applies what arrived within one coalescing window as one merged update
      observer.docs.apply('control', Y.mergeUpdatesV2(pending.map(u => u.update)), REMOTE_ORIGIN)
      pending.length = 0
      if (r % 64 === 63) await store.flush()
    }
    await store.stop()
    const writeMs = performance.now() - t0
    const bytes = docBytes(observer)
    const v1Bytes = Y.encodeStateAsUpdate(observer.docs.get('control')!).byteLength
    const jsonBytes = JSON.stringify(observer.toJSON().control).length
    await db.close()
    const levelBytes = await dirBytes(dir)
    const restored = await restoreMs(dir)
    // naive layout at the same scale, for comparison: one nested Y.Map per node, fields set one by one
    const naive = new Y.Doc()
    const naiveRounds = Math.min(rounds, 1_728)
    for (let r = 0; r < naiveRounds; r++) {
      for (let i = 0; i < nodes; i++) {
        const info = nodeInfo(i, r)
        naive.transact(() => {
          const m = naive.getMap('nodes')
          let inner = m.get(info.nodeId) as Y.Map<unknown> | undefined
          if (inner === undefined) { inner = new Y.Map(); m.set(info.nodeId, inner) }
          inner.set('hardware', info.hardware)
          inner.set('host', info.host)
        })
      }
    }
    const naiveBytes = Y.encodeStateAsUpdateV2(naive).byteLength
    const naiveV1Bytes = Y.encodeStateAsUpdate(naive).byteLength
    return {
      name: `(a) ${nodes} nodes × ${rounds} NodeInfo rewrites (whole-value entries, one writer per key)`,
      values: {
        'document bytes (V2)': bytes,
        'JSON state bytes': jsonBytes,
        'document / JSON': +(bytes / jsonBytes).toFixed(2),
        'same document in V1 encoding': v1Bytes,
        'V1 / V2': +(v1Bytes / bytes).toFixed(1),
        'LevelDB dir bytes': levelBytes,
        'restore ms': +restored.ms.toFixed(1),
        'restored document bytes': restored.docBytes,
        'write+apply+persist s': +(writeMs / 1000).toFixed(1),
        [`naive nested maps after ${naiveRounds} rounds, V2`]: naiveBytes,
        [`naive nested maps after ${naiveRounds} rounds, V1`]: naiveV1Bytes
      }
    }
  } finally {
    await cleanup()
  }
}

/** (b) 100k jobs: dispatched by a leader, run and finished by workers, buckets retired on the way. */
export async function jobsChurn (jobs = 100_000, workers = 10, msPerJob = 864): Promise<SizeResult> {
  const { dir, cleanup } = await tempDir('riftmesh-bench-')
  try {
    const clock = new VirtualClock(0)
    const init = { bucketMaxJobs: 500, retentionMs: 600_000 }
    const db = await openLevel(dir)
    const leader = new ClusterState({ clock, logger, rng: new SeededRng(1), signer: peerSigner(0) }, { ...init })
    const store = new DocStore({ db, state: leader, clock: new VirtualClock(0), logger }, { syncWrites: false })
    await store.start()
    const ws = Array.from({ length: workers }, (_, i) => new ClusterState({ clock, logger, rng: new SeededRng(50 + i), signer: peerSigner(i + 1) }, { ...init }))
    const toLeader: Array<{ doc: string, update: Uint8Array }> = []
    for (const w of ws) w.onUpdate(u => { if (u.origin === 'local') toLeader.push(u) })
    // the naive layout: one jobs map, records deleted when finished
    const naive = new Y.Doc()
    const naiveJobs = naive.getMap('jobs')
    let peakDoc = 0
    let retired = 0
    const t0 = performance.now()
    for (let n = 0; n < jobs; n++) {
      const w = n % workers
      const d = leader.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 100 }, assignedNode: peer(w + 1), dispatchEpoch: 1, attempt: 0, previousJobId: null })
      const worker = ws[w]!
      const bucketDoc = `jobs/${d.jobId.slice(0, d.jobId.lastIndexOf('.'))}` as const
      worker.docs.apply(bucketDoc, leader.docs.diff(bucketDoc, worker.docs.stateVector(bucketDoc)), REMOTE_ORIGIN)
      const base = { v: 1 as const, jobId: d.jobId, node: peer(w + 1), pid: 1000 + n, startedAt: clock.nowMs(), error: null, outputs: [], engineMode: null }
      worker.setJobStatus({ ...base, state: 'RUNNING', heartbeatAt: clock.nowMs(), endedAt: null, exitCode: null })
      clock.advance(msPerJob)
      worker.setJobStatus({ ...base, state: 'COMPLETE', heartbeatAt: clock.nowMs(), endedAt: clock.nowMs(), exitCode: 0 })
      for (const u of toLeader) leader.docs.apply(u.doc as `jobs/${string}`, u.update, REMOTE_ORIGIN)
      toLeader.length = 0
      naive.transact(() => naiveJobs.set(d.jobId, d))
      naive.transact(() => naiveJobs.delete(d.jobId))
      if (n % 500 === 499) {
        await store.flush()
        for (const b of leader.retirableBuckets()) {
          await store.retireBucket(b, clock.nowMs())
          for (const w2 of ws) if (w2.docs.get(`jobs/${b}`) !== undefined) w2.retireBucket(b)
          retired++
        }
        peakDoc = Math.max(peakDoc, docBytes(leader))
      }
    }
    clock.advance(init.retentionMs)
    for (const b of leader.retirableBuckets()) { await store.retireBucket(b, clock.nowMs()); retired++ }
    await store.stop()
    const elapsed = performance.now() - t0
    const bytes = docBytes(leader)
    const liveJobs = leader.jobs().length
    await db.close()
    const levelBytes = await dirBytes(dir)
    const restored = await restoreMs(dir)
    const naiveBytes = Y.encodeStateAsUpdateV2(naive).byteLength
    return {
      name: `(b) ${jobs} jobs dispatched and finished by ${workers} workers, one every ${msPerJob} ms (a day), 10 min retention`,
      values: {
        'document bytes at end (V2)': bytes,
        'peak document bytes during the run': peakDoc,
        'jobs still in the document': liveJobs,
        'buckets retired': retired,
        'LevelDB dir bytes (incl. job history)': levelBytes,
        'restore ms': +restored.ms.toFixed(1),
        'run s': +(elapsed / 1000).toFixed(1),
        'naive single jobs map bytes': naiveBytes,
        'naive / ours (peak)': +(naiveBytes / Math.max(1, peakDoc)).toFixed(1)
      }
    }
  } finally {
    await cleanup()
  }
}

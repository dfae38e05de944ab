import { mkdtemp, rm } from 'node:fs/promises'
import * as Y from 'yjs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VirtualClock } from '../src/core/clock.js'
import { silentLogger } from '../src/core/logger.js'
import { SeededRng } from '../src/core/rng.js'
import { ClusterState, type ClusterStateInit } from '../src/state/cluster-state.js'
import { REMOTE_ORIGIN, type DocName } from '../src/state/docs.js'
import type { NodeInfo } from '../src/state/schema.js'
import { orderedSeededSigners, seededSigner, signEntry, type EntrySigner } from '../src/state/entry-sig.js'

const testSigners = new Map<string, EntrySigner>()
/** Test nodes 0…ORDERED-1 have ids that sort like their numbers (rules break ties by node id). */
const ORDERED = 256
let pool: EntrySigner[] | undefined

/** The signing key of test node `n` (derived from `n`: the same in every run). */
export function testSigner (n: number | string): EntrySigner {
  const label = `test-node-${n}`
  let s = testSigners.get(label)
  if (s === undefined) {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < ORDERED) {
      pool ??= orderedSeededSigners('test-node', ORDERED)
      s = pool[n] as EntrySigner
    } else {
      s = seededSigner(label)
    }
    testSigners.set(label, s)
    testSigners.set(s.id, s)
  }
  return s
}

/** The signer of a node id made by nodeId() or testSigner(). */
export function signerOfId (id: string): EntrySigner {
  const s = testSigners.get(id)
  if (s === undefined) throw new Error(`no test signer for ${id}: make ids with nodeId()`)
  return s
}

/** A real Ed25519 peer id for test node `n`, whose key signs node `n`'s entries. */
export function nodeId (n: number): string {
  return testSigner(n).id
}

export function makeState (n: number, seed = n, init: Partial<ClusterStateInit> = {}, clock = new VirtualClock(1_000_000)): ClusterState {
  return new ClusterState({ clock, logger: silentLogger(), rng: new SeededRng(seed), signer: testSigner(n) }, { ...init })
}

export function sampleNodeInfo (id: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    v: 1,
    nodeId: id,
    host: 'host-a',
    addrs: ['/ip4/127.0.0.1/tcp/4100'],
    version: '0.1.0',
    startedAt: 1_000,
    hardware: { cpuCount: 16, memoryGb: 64, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: true, gpuName: 'NVIDIA H100', gpuCount: 1, gpuMemoryGb: 80 },
    capabilities: ['selfplay', 'training'],
    flags: { voter: true, retired: false, leaderEligible: true },
    ...over
  }
}

/** A fresh temp dir, removed by the returned cleanup. */
export async function tempDir (prefix = 'riftmesh-test-'): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: async () => await rm(dir, { recursive: true, force: true }) }
}

/** Deliver every update of `from` to `to` (full state, as anti-entropy would). */
export function syncInto (from: ClusterState, to: ClusterState): void {
  for (const name of from.docs.names()) {
    const doc = to.docs.get(name)
    to.docs.apply(name, from.docs.diff(name, doc !== undefined ? Y.encodeStateVector(doc) : undefined), REMOTE_ORIGIN)
  }
}

/** Sync every state with every other (both ways). */
export function syncAll (states: readonly ClusterState[]): void {
  for (const a of states) for (const b of states) if (a !== b) syncInto(a, b)
}

/**
 * `value` as `writer` would store it under (doc, map, key): signed with the writer's test key,
 * past every check ClusterState makes on its own writes (old or hostile peers in tests).
 */
export function signedAs (writer: string, doc: string, map: string, key: string, value: object): object {
  return signEntry(signerOfId(writer), doc, map, key, value)
}

/** The operator key of test clusters that need one (jobCommands is operator-only, even without trust.operators). */
export const TEST_OPERATOR: EntrySigner = seededSigner('test-operator')

/** Set a cluster setting on `state` signed by `operator`, as `riftmesh settings set --operator-key` does. */
export function setSignedSetting (state: ClusterState, name: string, value: Parameters<ClusterState['settingDraft']>[1], operator: EntrySigner = TEST_OPERATOR): void {
  const { key, entry } = state.settingDraft(name, value, operator.id)
  state.writeSigned('settings', key, signEntry(operator, 'control', 'settings', key, entry))
}

/** A Yjs update made on a copy of `state`'s document and applied as a peer's: what a member writing straight into its Y.Doc sends. */
export function hostileWrite (state: ClusterState, doc: DocName, write: (d: Y.Doc) => void): void {
  const d = new Y.Doc()
  Y.applyUpdateV2(d, Y.encodeStateAsUpdateV2(state.docs.ensure(doc)))
  const sv = Y.encodeStateVector(d)
  write(d)
  state.docs.apply(doc, Y.encodeStateAsUpdateV2(d, sv), REMOTE_ORIGIN)
}

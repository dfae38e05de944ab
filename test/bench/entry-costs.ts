/**
 * Per-entry costs of signed entries: signing, verifying (cold: a signature this process has not
 * seen; warm: a cache hit), the schema check a typed read also does, storing and reading a
 * changed entry through the typed view against a raw Y.Map set and get (the store is timed too,
 * since a map may check an entry as it arrives), and the bytes a signature adds — for each entry the
 * signed-propagation rounds write. The typed store + read is set beside the same typed view without
 * signatures (UnsignedView), so the difference is what signing adds. Medians, so calls the loaded machine preempted drop out.
 */
import * as Y from 'yjs'
import { SeededRng } from '../../src/core/rng.js'
import { silentLogger } from '../../src/core/logger.js'
import { SystemClock } from '../../src/core/clock.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { registerKey } from '../../src/state/registers.js'
import type { DocName } from '../../src/state/docs.js'
import { seededSigner, signEntry, verifyEntry } from '../../src/state/entry-sig.js'
import { jobStatusSchema, nodeInfoSchema, settingRegisterSchema } from '../../src/state/schema.js'
import { pct } from './propagation.js'
import { KINDS, UNSIGNED, f0, f1, f2, field, jobStatus, loadNote, nodeInfo, num, settingValue, type Kind } from './signed-workload.js'
import type { SizeResult } from './state-size.js'
import { UnsignedView } from './unsigned-view.js'

const MICRO_ENTRIES = 2_000
const SCHEMAS = { node: nodeInfoSchema, setting: settingRegisterSchema, status: jobStatusSchema } as const

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
    const jobId = 'bench-job'
  const values: Record<Kind, (i: number) => { doc: DocName, map: string, key: string, value: Record<string, unknown> }> = {
    node: i => ({ doc: 'control', map: 'nodes', key: writer.id, value: nodeInfo(writer.id, 1, 1_000 + i) }),
    setting: i => ({ doc: 'control', map: 'settings', key: registerKey('bench/signed/0', writer.id), value: { v: 1, name: 'bench/signed/0', writer: writer.id, version: i + 1, value: settingValue(i) } }),
    status: i => ({ doc: 'jobs/bench', map: 'status', key: jobId, value: jobStatus(writer.id, jobId, i) })
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
  // replica in this process), schema, key and authority — against the same typed read unsigned.
  const unsigned = new UnsignedView(reader)
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
      // the store is timed too: a map may check what arrives as it arrives rather than when read
      const t0 = performance.now()
      if (typed) nodes.set(e.key, entry)
      else raw.set(e.key, e.value)
      const got = typed ? reader.node(writer.id) : unsigned.node(writer.id)
      us.push((performance.now() - t0) * 1000)
      if (num(field(field(got, 'hardware'), 'diskFreeGb')) !== num(field(e.value.hardware, 'diskFreeGb'))) throw new Error('typed read returned a stale NodeInfo')
    }
    return pct(us.sort((a, b) => a - b), 0.5)
  }
  const coldRead = timedRead(true, true)
  const warmRead = timedRead(false, true)
  const unsignedRead = timedRead(true, false)
  reader.destroy()
  rows['store + read of a changed NodeInfo µs'] = `typed ${f1(coldRead)} (signature new) / ${f1(warmRead)} (signature verified elsewhere in the process) vs unsigned typed ${f1(unsignedRead)}`
  rows['entries/s per core'] = `sign ${f0(1e6 / (signSum / KINDS.length))}, verify cold ${f0(1e6 / (coldSum / KINDS.length))}, typed store + read of a changed NodeInfo ${f0(1e6 / coldRead)} (mean of the three entries; Ed25519 in node:crypto)`
  rows.load = loadNote()
  return { name: `signature costs per entry: medians of ${MICRO_ENTRIES} calls per kind, one process`, values: rows }
}

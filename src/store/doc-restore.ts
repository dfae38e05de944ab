/**
 * Restoring the cluster documents from LevelDB at start: each document's snapshot and log
 * merged and applied once; an entry that does not decode is skipped and counted, the rest still
 * load. Fills the DocStore's per-document log positions and the keys of retired buckets' final
 * states.
 */
import * as Y from 'yjs'
import type { Logger } from '../core/logger.js'
import type { ClusterState } from '../state/cluster-state.js'
import { RESTORE_ORIGIN, isDocName, type DocName } from '../state/docs.js'
import type { RootDb } from './level.js'

export interface RestoreReport {
  docs: number
  snapshots: number
  logEntries: number
  bytes: number
  retired: number
  /** Stored entries that failed to decode and were skipped (left on disk untouched). */
  corrupt: number
}

/** Where one document's log stands. */
export interface DocLog {
  nextSeq: number
  /** Sequence numbers below this are covered by the snapshot. */
  firstSeq: number
  logBytes: number
}

/** The log position of `name`, created at 0 when missing. */
export function docLogOf (logs: Map<DocName, DocLog>, name: DocName): DocLog {
  let l = logs.get(name)
  if (l === undefined) {
    l = { nextSeq: 0, firstSeq: 0, logBytes: 0 }
    logs.set(name, l)
  }
  return l
}

const dec = new TextDecoder()

export async function restoreDocuments (db: RootDb, state: ClusterState, log: Logger, logs: Map<DocName, DocLog>, finals: Map<DocName, string>): Promise<RestoreReport> {
  const report: RestoreReport = { docs: 0, snapshots: 0, logEntries: 0, bytes: 0, retired: 0, corrupt: 0 }
  const retired: string[] = []
  for await (const key of db.keys({ gte: 'retired/', lt: 'retired/~' })) retired.push(key.slice('retired/'.length))
  state.docs.markRetired(retired)
  report.retired = retired.length
  for await (const key of db.keys({ gte: 'final/', lt: 'final/~' })) {
    const name = key.slice('final/'.length + 17) // final/<16-digit time>/<name>
    if (isDocName(name)) finals.set(name, key)
  }

  const perDoc = new Map<DocName, Uint8Array[]>()
  const add = (name: string, bytes: Uint8Array): void => {
    if (!isDocName(name) || state.docs.isRetired(name)) return
    const list = perDoc.get(name) ?? []
    list.push(bytes)
    perDoc.set(name, list)
    report.bytes += bytes.byteLength
  }
  for await (const [key, value] of db.iterator({ gte: 'snapseq/', lt: 'snapseq/~' })) {
    const name = key.slice('snapseq/'.length) as DocName
    const seq = Number(dec.decode(value))
    logs.set(name, { nextSeq: seq, firstSeq: seq, logBytes: 0 })
  }
  for await (const [key, value] of db.iterator({ gte: 'snap/', lt: 'snap/~' })) {
    add(key.slice('snap/'.length), value)
    report.snapshots++
  }
  for await (const [key, value] of db.iterator({ gte: 'log/', lt: 'log/~' })) {
    const rest = key.slice('log/'.length)
    const cut = rest.lastIndexOf('/')
    const name = rest.slice(0, cut) as DocName
    const seq = Number(rest.slice(cut + 1))
    const l = docLogOf(logs, name)
    if (seq < l.firstSeq) continue // covered by the snapshot (compaction interrupted before deletes)
    l.nextSeq = Math.max(l.nextSeq, seq + 1)
    l.logBytes += value.byteLength
    add(name, value)
    report.logEntries++
  }
  for (const [name, updates] of perDoc) {
    try {
      state.docs.apply(name, Y.mergeUpdatesV2(updates), RESTORE_ORIGIN)
    } catch (err) {
      // One bad entry must not lose the rest: apply one by one and skip what does not decode.
      log.warn({ doc: name, err }, 'merged restore failed, applying entries one by one')
      for (const u of updates) {
        try {
          state.docs.apply(name, u, RESTORE_ORIGIN)
        } catch {
          report.corrupt++
        }
      }
    }
    report.docs++
  }
  if (report.corrupt > 0) log.error({ corrupt: report.corrupt }, 'skipped stored document updates that do not decode')
  return report
}

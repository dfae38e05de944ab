/**
 * `/riftmesh/sync/1.0.0`: anti-entropy between two nodes in one stream, y-protocols style.
 *
 *   initiator                         responder
 *   STEP1(vectors of all its docs) ─>
 *                                  <─ STEP1(vectors of all its docs)
 *                                  <─ UPDATE(doc, diff)…   (everything the initiator lacks)
 *                                  <─ DONE
 *   UPDATE(doc, diff)…             ─> (everything the responder lacks)
 *   DONE                           ─>
 *
 * Diffs are always sent for documents both hold, because a Yjs delete does not move the state
 * vector; a diff against an equal vector is only the delete set. Every frame is validated; a bad
 * one is counted against the peer and ends the exchange.
 */
import { SyncFrame } from './gen/riftmesh.js'
import type { FrameStream } from './mesh.js'
import type { DropCounters } from './drops.js'
import { REMOTE_ORIGIN, isDocName, type DocName, type DocSet } from '../state/docs.js'
import { ValidationError } from '../core/errors.js'

export const SYNC_PROTOCOL = '/riftmesh/sync/1.0.0'
export const SYNC_VERSION = 1

export interface SyncLimits {
  /** Largest frame, in bytes. */
  maxFrameBytes: number
  /** Most UPDATE frames accepted in one exchange. */
  maxUpdates: number
}

export interface SyncStats {
  sentUpdates: number
  receivedUpdates: number
  appliedBytes: number
  rejected: number
}

export class SyncProtocolError extends ValidationError {
  constructor (peer: string, message: string) {
    super(`sync with ${peer}`, message)
    this.name = 'SyncProtocolError'
  }
}

const vectorsOf = (docs: DocSet): SyncFrame['vectors'] =>
  docs.names().map(doc => ({ doc, stateVector: docs.stateVector(doc) as Uint8Array<ArrayBuffer> }))

async function readFrame (stream: FrameStream, peer: string, drops: DropCounters, signal: AbortSignal): Promise<SyncFrame> {
  const bytes = await stream.read({ signal })
  if (bytes === undefined) throw new SyncProtocolError(peer, 'stream ended early')
  let frame: SyncFrame
  try {
    frame = SyncFrame.decode(bytes, { limits: { vectors: 4096 } })
  } catch {
    drops.record(peer, 'malformed', 'sync frame')
    throw new SyncProtocolError(peer, 'malformed frame')
  }
  if (frame.version !== SYNC_VERSION) {
    drops.record(peer, 'version', `sync frame version ${frame.version}`)
    throw new SyncProtocolError(peer, `unknown version ${frame.version}`)
  }
  return frame
}

/** Send everything the other side lacks according to its vectors, then DONE. */
async function sendMissing (stream: FrameStream, docs: DocSet, theirs: SyncFrame['vectors'], limits: SyncLimits, stats: SyncStats, signal: AbortSignal): Promise<void> {
  const sv = new Map(theirs.map(v => [v.doc, v.stateVector]))
  for (const doc of docs.names()) {
    const update = docs.diff(doc, sv.get(doc))
    const frame = SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.UPDATE, vectors: [], doc, update: update as Uint8Array<ArrayBuffer> })
    if (frame.byteLength > limits.maxFrameBytes) continue // cannot travel; counted by the caller's logs
    await stream.write(frame, { signal })
    stats.sentUpdates++
  }
  await stream.write(SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.DONE, vectors: [], doc: '', update: new Uint8Array(0) }), { signal })
}

/** Apply UPDATE frames until DONE. */
async function receiveUpdates (stream: FrameStream, docs: DocSet, peer: string, drops: DropCounters, limits: SyncLimits, stats: SyncStats, signal: AbortSignal): Promise<void> {
  for (let n = 0; ; n++) {
    if (n > limits.maxUpdates) {
      drops.record(peer, 'protocol', 'too many sync updates')
      throw new SyncProtocolError(peer, 'too many updates')
    }
    const frame = await readFrame(stream, peer, drops, signal)
    if (frame.kind === SyncFrame.Kind.DONE) return
    if (frame.kind !== SyncFrame.Kind.UPDATE) {
      drops.record(peer, 'protocol', `unexpected ${frame.kind}`)
      throw new SyncProtocolError(peer, `unexpected ${frame.kind} frame`)
    }
    stats.receivedUpdates++
    applyRemote(docs, frame.doc, frame.update, peer, drops, stats)
  }
}

/** Apply one remote update, counting (not throwing) what is refused. */
export function applyRemote (docs: DocSet, doc: string, update: Uint8Array, peer: string, drops: DropCounters, stats?: SyncStats): boolean {
  if (!isDocName(doc)) {
    drops.record(peer, 'bad-doc-name', doc.slice(0, 64))
    if (stats !== undefined) stats.rejected++
    return false
  }
  if (docs.isRetired(doc as DocName)) {
    // not misbehaviour: the peer has not retired this job bucket yet
    if (stats !== undefined) stats.rejected++
    return false
  }
  try {
    docs.apply(doc as DocName, update, REMOTE_ORIGIN)
    if (stats !== undefined) stats.appliedBytes += update.byteLength
    return true
  } catch (err) {
    drops.record(peer, 'invalid-update', (err as Error).message)
    if (stats !== undefined) stats.rejected++
    return false
  }
}

export async function runSyncInitiator (stream: FrameStream, docs: DocSet, peer: string, drops: DropCounters, limits: SyncLimits, signal: AbortSignal): Promise<SyncStats> {
  const stats: SyncStats = { sentUpdates: 0, receivedUpdates: 0, appliedBytes: 0, rejected: 0 }
  await stream.write(SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.STEP1, vectors: vectorsOf(docs), doc: '', update: new Uint8Array(0) }), { signal })
  const step1 = await readFrame(stream, peer, drops, signal)
  if (step1.kind !== SyncFrame.Kind.STEP1) {
    drops.record(peer, 'protocol', 'expected STEP1')
    throw new SyncProtocolError(peer, 'expected STEP1')
  }
  await receiveUpdates(stream, docs, peer, drops, limits, stats, signal)
  await sendMissing(stream, docs, step1.vectors, limits, stats, signal)
  await stream.close({ signal })
  return stats
}

export async function runSyncResponder (stream: FrameStream, docs: DocSet, peer: string, drops: DropCounters, limits: SyncLimits, signal: AbortSignal): Promise<SyncStats> {
  const stats: SyncStats = { sentUpdates: 0, receivedUpdates: 0, appliedBytes: 0, rejected: 0 }
  const step1 = await readFrame(stream, peer, drops, signal)
  if (step1.kind !== SyncFrame.Kind.STEP1) {
    drops.record(peer, 'protocol', 'expected STEP1')
    throw new SyncProtocolError(peer, 'expected STEP1')
  }
  await stream.write(SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.STEP1, vectors: vectorsOf(docs), doc: '', update: new Uint8Array(0) }), { signal })
  await sendMissing(stream, docs, step1.vectors, limits, stats, signal)
  await receiveUpdates(stream, docs, peer, drops, limits, stats, signal)
  await stream.close({ signal })
  return stats
}

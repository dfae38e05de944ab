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
 * Before its DONE, each side sends RETIRED(doc, final diff) for every job bucket the other side
 * listed that it has retired: the other side was away (partitioned) while the bucket's jobs ended
 * and the bucket left this node; it merges the final state and retires the bucket too, so the
 * two never stay apart over a document one of them refuses.
 *
 * STEP1 lists each document's state vector and a digest of its snapshot (state vector + delete
 * set). A document whose digests are equal on both sides is not sent; otherwise the diff is sent
 * even when the state vectors are equal, because a Yjs delete does not move the state vector.
 * Every frame is validated; a bad one is counted against the peer and ends the exchange.
 */
import * as Y from 'yjs'
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
  /** This node's cluster name; a peer of another cluster is refused. Omitted: not checked. */
  cluster?: string
  /** Job buckets this node retired, and what to do when a peer has retired one held here. Omitted: no RETIRED frames. */
  retired?: RetiredDocs
}

/** The two ends of bucket retirement the sync exchange reconciles. */
export interface RetiredDocs {
  /** What a peer with state vector `theirs` lacks of the final state of a document this node retired (V2), or undefined when it is not kept. */
  final(doc: DocName, theirs: Uint8Array): Promise<Uint8Array | undefined>
  /** A peer retired `doc`, which this node holds; its final state, when sent, is merged already. */
  retiredByPeer(doc: DocName, peer: string): void
}

export interface SyncStats {
  sentUpdates: number
  receivedUpdates: number
  appliedBytes: number
  rejected: number
  /** Documents too large for one frame, not sent. */
  skippedTooLarge: number
  /** Documents not sent because both sides' snapshot digests were equal. */
  skippedEqual: number
  /** RETIRED frames sent and received. */
  sentRetired: number
  receivedRetired: number
}

const newStats = (): SyncStats => ({ sentUpdates: 0, receivedUpdates: 0, appliedBytes: 0, rejected: 0, skippedTooLarge: 0, skippedEqual: 0, sentRetired: 0, receivedRetired: 0 })

export class SyncProtocolError extends ValidationError {
  constructor (peer: string, message: string) {
    super(`sync with ${peer}`, message)
    this.name = 'SyncProtocolError'
  }
}

/** The peer's STEP1 named another cluster: it is not a member of this mesh (the replicator hangs up on it). */
export class ClusterMismatchError extends SyncProtocolError {
  constructor (peer: string, readonly peerCluster: string, readonly localCluster: string) {
    super(peer, `peer is in cluster ${JSON.stringify(peerCluster)}, not ${JSON.stringify(localCluster)}`)
    this.name = 'ClusterMismatchError'
  }
}

const vectorsOf = (docs: DocSet): SyncFrame['vectors'] =>
  docs.names().map(doc => ({ doc, stateVector: docs.stateVector(doc) as Uint8Array<ArrayBuffer>, digest: docs.digest(doc) as Uint8Array<ArrayBuffer> }))

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i])

/** What the other side listed for each document: its state vector and snapshot digest. */
interface Theirs { sv: Uint8Array, digest: Uint8Array }

async function readFrame (stream: FrameStream, peer: string, drops: DropCounters, signal: AbortSignal): Promise<SyncFrame> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await stream.read({ signal })
  } catch (err) {
    // a length prefix over the limit: the reader refuses it before buffering the body
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') drops.record(peer, 'oversized', 'sync frame')
    throw err
  }
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

const step1Frame = (docs: DocSet, cluster: string): Uint8Array =>
  SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.STEP1, vectors: vectorsOf(docs), doc: '', update: new Uint8Array(0), cluster })

const doneFrame = (): Uint8Array =>
  SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.DONE, vectors: [], doc: '', update: new Uint8Array(0), cluster: '' })

/** Check a received STEP1: the right kind, our cluster, state vectors that decode. */
function checkStep1 (step1: SyncFrame, peer: string, drops: DropCounters, limits: SyncLimits): Map<string, Theirs> {
  if (step1.kind !== SyncFrame.Kind.STEP1) {
    drops.record(peer, 'protocol', 'expected STEP1')
    throw new SyncProtocolError(peer, 'expected STEP1')
  }
  if (limits.cluster !== undefined && step1.cluster !== limits.cluster) {
    drops.record(peer, 'cluster-name', `cluster ${step1.cluster.slice(0, 64)}`)
    throw new ClusterMismatchError(peer, step1.cluster.slice(0, 64), limits.cluster)
  }
  const sv = new Map<string, Theirs>()
  for (const v of step1.vectors) {
    try {
      Y.decodeStateVector(v.stateVector)
    } catch {
      drops.record(peer, 'malformed', 'state vector')
      throw new SyncProtocolError(peer, `state vector of ${v.doc.slice(0, 64)} does not decode`)
    }
    sv.set(v.doc, { sv: v.stateVector, digest: v.digest })
  }
  return sv
}

/** Send what the other side lacks of `names` according to its vectors, then DONE. */
async function sendMissing (stream: FrameStream, docs: DocSet, names: readonly DocName[], theirs: Map<string, Theirs>, limits: SyncLimits, stats: SyncStats, signal: AbortSignal): Promise<void> {
  for (const doc of names) {
    if (docs.get(doc) === undefined) continue // retired meanwhile
    const t = theirs.get(doc)
    if (t !== undefined && t.digest.byteLength > 0 && sameBytes(t.digest, docs.digest(doc))) {
      stats.skippedEqual++
      continue // the same document on both sides
    }
    const update = docs.diff(doc, t?.sv)
    const frame = SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.UPDATE, vectors: [], doc, update: update as Uint8Array<ArrayBuffer>, cluster: '' })
    if (frame.byteLength > limits.maxFrameBytes) {
      stats.skippedTooLarge++ // the caller logs it; the document must be split before it can travel
      continue
    }
    await stream.write(frame, { signal })
    stats.sentUpdates++
  }
  if (limits.retired !== undefined) await sendRetired(stream, docs, theirs, limits.retired, limits, stats, signal)
  await stream.write(doneFrame(), { signal })
}

/** A RETIRED frame for each document the other side listed that this node retired. */
async function sendRetired (stream: FrameStream, docs: DocSet, theirs: Map<string, Theirs>, retired: RetiredDocs, limits: SyncLimits, stats: SyncStats, signal: AbortSignal): Promise<void> {
  for (const [doc, t] of theirs) {
    if (!isDocName(doc) || !docs.isRetired(doc)) continue
    const final = await retired.final(doc, t.sv) ?? new Uint8Array(0)
    let frame = SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.RETIRED, vectors: [], doc, update: final as Uint8Array<ArrayBuffer>, cluster: '' })
    if (frame.byteLength > limits.maxFrameBytes) {
      // too large to carry: the peer still learns the bucket is retired, without its final records
      frame = SyncFrame.encode({ version: SYNC_VERSION, kind: SyncFrame.Kind.RETIRED, vectors: [], doc, update: new Uint8Array(0), cluster: '' })
    }
    await stream.write(frame, { signal })
    stats.sentRetired++
  }
}

/** Apply UPDATE frames until DONE. */
async function receiveUpdates (stream: FrameStream, docs: DocSet, peer: string, drops: DropCounters, limits: SyncLimits, stats: SyncStats, signal: AbortSignal): Promise<void> {
  for (let updates = 0; ;) {
    const frame = await readFrame(stream, peer, drops, signal)
    if (frame.kind === SyncFrame.Kind.DONE) return
    if (frame.kind === SyncFrame.Kind.RETIRED) {
      if (++updates > limits.maxUpdates) {
        drops.record(peer, 'protocol', 'too many sync updates')
        throw new SyncProtocolError(peer, 'too many updates')
      }
      stats.receivedRetired++
      receiveRetired(docs, frame, peer, drops, limits, stats)
      continue
    }
    if (frame.kind !== SyncFrame.Kind.UPDATE) {
      drops.record(peer, 'protocol', `unexpected ${frame.kind}`)
      throw new SyncProtocolError(peer, `unexpected ${frame.kind} frame`)
    }
    if (++updates > limits.maxUpdates) {
      drops.record(peer, 'protocol', 'too many sync updates')
      throw new SyncProtocolError(peer, 'too many updates')
    }
    stats.receivedUpdates++
    applyRemote(docs, frame.doc, frame.update, peer, drops, stats)
  }
}

/** A peer retired a document: merge its final state if this node holds the document, then say so. */
function receiveRetired (docs: DocSet, frame: SyncFrame, peer: string, drops: DropCounters, limits: SyncLimits, stats: SyncStats): void {
  if (!isDocName(frame.doc)) {
    drops.record(peer, 'bad-doc-name', frame.doc.slice(0, 64))
    stats.rejected++
    return
  }
  const doc = frame.doc as DocName
  if (docs.get(doc) === undefined) return // not held here (or retired here too): nothing to reconcile
  if (frame.update.byteLength > 0 && !applyRemote(docs, doc, frame.update, peer, drops, stats)) return
  limits.retired?.retiredByPeer(doc, peer)
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
  const stats = newStats()
  // what we send back is what we held before this exchange: documents we are about to receive
  // from the responder it already has
  const held = docs.names()
  await stream.write(step1Frame(docs, limits.cluster ?? ''), { signal })
  const theirs = checkStep1(await readFrame(stream, peer, drops, signal), peer, drops, limits)
  await receiveUpdates(stream, docs, peer, drops, limits, stats, signal)
  await sendMissing(stream, docs, held, theirs, limits, stats, signal)
  await stream.close({ signal })
  return stats
}

export async function runSyncResponder (stream: FrameStream, docs: DocSet, peer: string, drops: DropCounters, limits: SyncLimits, signal: AbortSignal): Promise<SyncStats> {
  const stats = newStats()
  const theirs = checkStep1(await readFrame(stream, peer, drops, signal), peer, drops, limits)
  await stream.write(step1Frame(docs, limits.cluster ?? ''), { signal })
  await sendMissing(stream, docs, docs.names(), theirs, limits, stats, signal)
  await receiveUpdates(stream, docs, peer, drops, limits, stats, signal)
  await stream.close({ signal })
  return stats
}

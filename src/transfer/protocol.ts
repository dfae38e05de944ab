/**
 * `/riftmesh/transfer/1.0.0`: the target pulls a file from a holder, in chunks, with an offset
 * to resume and credit-based flow control; or pages through the holder's full manifest.
 *
 *   target (client)                                  holder (server)
 *   [SIDE                                          ─▶
 *                                                   ◀─ SIDE{fastPort, fastToken, fastKey}
 *    connect to fastPort, send the token; SIDE{fastPath} ─▶   … the session goes on sealed on TCP]
 *   GET{path, offset, expectedSha256, credit}      ─▶
 *                                                   ◀─ HEADER{size, mtimeMs, sha256, offset, data} | ERROR{code}
 *                                   (when HEADER's data completes the file, nothing more follows)
 *                                                   ◀─ CHUNK{offset, data} … (never more than the credit)
 *   CREDIT{credit} …                               ─▶
 *                                                   ◀─ END
 *   GET … (the next file on the same session) or close
 *
 * Flow control is ours, not the transport's: libp2p's length-prefixed reader buffers whatever
 * arrives up to `maxFrameBytes` and resets the stream beyond, so the holder may have at most
 * `credit` bytes of chunk payload unacknowledged. The optional side channel (fast-path.ts) carries
 * the same frames sealed with AES-256-GCM on a plain TCP connection. Details, limits and what is
 * not guaranteed: protocols/PROTOCOLS.md.
 */
import { TransferFrame, TransferRequest, type TransferListEntry } from '../mesh/gen/riftmesh.js'
import type { DropCounters } from '../mesh/drops.js'
import { ValidationError } from '../core/errors.js'
import type { RefusalCode } from './errors.js'
import { MAX_PATH_CHARS } from './paths.js'

export const TRANSFER_PROTOCOL = '/riftmesh/transfer/1.0.0'
export const TRANSFER_VERSION = 1

/**
 * The most bytes one BATCH item takes in a request: a path of `MAX_PATH_CHARS` UTF-16 units (at
 * most 3 UTF-8 bytes each), a 64-digit hash and a uint64 size, each with its tag and length, and
 * the item's own tag and length.
 */
export const MAX_BATCH_ITEM_BYTES = (1 + 2 + 3 * MAX_PATH_CHARS) + (1 + 1 + 64) + (1 + 10) + (1 + 2)
/**
 * Largest frame a holder reads. The largest request is a BATCH of `MAX_BATCH_ITEMS` items of
 * `MAX_BATCH_ITEM_BYTES` (~789 KiB with the other fields); anything past this is not a request
 * the protocol allows, and resets the stream (`oversized`).
 */
export const MAX_REQUEST_FRAME_BYTES = 1024 * 1024
/** Largest PAGE frame; the holder's page byte budget must stay under it. */
export const MAX_PAGE_FRAME_BYTES = 1024 * 1024
/** Most entries in one PAGE frame. */
export const MAX_PAGE_ENTRIES = 10_000
/** Most items in one BATCH request. */
export const MAX_BATCH_ITEMS = 256
/** Most bytes one BATCH may ask for (its items' sizes added up). */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024
/** Token and key sizes of the fast path. */
export const FAST_TOKEN_BYTES = 32
export const FAST_KEY_BYTES = 32

/** The target's read limit for a GET stream with window `credit`: the window, ≤ 16 B of framing per ≥ 1 KiB chunk, and a header. */
export function getStreamMaxFrameBytes (windowBytes: number): number {
  return windowBytes + Math.ceil(windowBytes / 32) + 64 * 1024
}

export class TransferProtocolError extends ValidationError {
  readonly peer: string
  constructor (peer: string, message: string) {
    super(`transfer with ${peer}`, message)
    this.name = 'TransferProtocolError'
    this.peer = peer
  }
}

const NO_BYTES = new Uint8Array(0)

export function encodeRequest (r: Partial<TransferRequest>): Uint8Array {
  return TransferRequest.encode({
    version: TRANSFER_VERSION,
    op: TransferRequest.Op.GET,
    path: '',
    offset: 0n,
    expectedSha256: '',
    credit: 0,
    fastPath: false,
    cursor: '',
    limit: 0,
    items: [],
    ...r
  })
}

export function encodeFrame (f: Partial<TransferFrame>): Uint8Array {
  return TransferFrame.encode({
    version: TRANSFER_VERSION,
    kind: TransferFrame.Kind.HEADER,
    size: 0n,
    mtimeMs: 0n,
    sha256: '',
    offset: 0n,
    data: NO_BYTES as Uint8Array<ArrayBuffer>,
    code: TransferFrame.Code.NONE,
    message: '',
    retryAfterMs: 0,
    entries: [],
    nextCursor: '',
    fastPort: 0,
    fastToken: NO_BYTES as Uint8Array<ArrayBuffer>,
    fastKey: NO_BYTES as Uint8Array<ArrayBuffer>,
    ...f
  })
}

/**
 * A frame carrying `data` as two parts: the encoding of every other field, then `data`'s tag,
 * length and bytes — the same bytes as `encodeFrame({ ...fields, data })` when no field numbered
 * above 7 is set (protons writes fields in number order), without copying `data`.
 */
export function frameWithDataParts (fields: Partial<TransferFrame>, data: Uint8Array): [Uint8Array, Uint8Array] {
  const head = encodeFrame(fields)
  const len: number[] = []
  for (let n = data.byteLength; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      len.push(n)
      break
    }
    len.push((n % 128) | 0x80)
  }
  const prefix = new Uint8Array(head.byteLength + 1 + len.length)
  prefix.set(head, 0)
  prefix[head.byteLength] = (7 << 3) | 2
  prefix.set(len, head.byteLength + 1)
  return [prefix, data]
}

export function errorFrame (code: RefusalCode, message: string, retryAfterMs = 0): Uint8Array {
  return encodeFrame({ kind: TransferFrame.Kind.ERROR, code: TransferFrame.Code[code], message: message.slice(0, 512), retryAfterMs })
}

/** BATCH: one item refused; the batch goes on. */
export function skipFrame (code: RefusalCode, message: string): Uint8Array {
  return encodeFrame({ kind: TransferFrame.Kind.SKIP, code: TransferFrame.Code[code], message: message.slice(0, 512) })
}

/** A request frame from `peer`, decoded and version-checked; failures are counted against the peer. */
export function decodeRequest (bytes: Uint8Array, peer: string, drops: DropCounters): TransferRequest {
  let r: TransferRequest
  try {
    r = TransferRequest.decode(bytes)
  } catch {
    drops.record(peer, 'malformed', 'transfer request')
    throw new TransferProtocolError(peer, 'malformed request')
  }
  if (r.version !== TRANSFER_VERSION) {
    drops.record(peer, 'version', `transfer request version ${r.version}`)
    throw new TransferProtocolError(peer, `unknown version ${r.version}`)
  }
  return r
}

/** A frame from the holder `peer`, decoded and version-checked (the target counts nothing: it chose the holder). */
export function decodeFrame (bytes: Uint8Array, peer: string): TransferFrame {
  let f: TransferFrame
  try {
    f = TransferFrame.decode(bytes, { limits: { entries: MAX_PAGE_ENTRIES } })
  } catch {
    throw new TransferProtocolError(peer, 'malformed frame')
  }
  if (f.version !== TRANSFER_VERSION) throw new TransferProtocolError(peer, `unknown frame version ${f.version}`)
  return f
}

/** A uint64 from the wire as a safe integer, or a protocol error. */
export function safeNumber (v: bigint, peer: string, what: string): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TransferProtocolError(peer, `${what} out of range`)
  return Number(v)
}

export type { TransferListEntry }
export { TransferFrame, TransferRequest }

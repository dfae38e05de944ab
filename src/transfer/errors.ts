/**
 * Typed errors of the file-transfer layer, told apart by `.name`. Messages carry the peer and the
 * path involved.
 */
import { RiftmeshError } from '../core/errors.js'

/** A relative path that is not canonical, or that resolves outside the data dir. */
export class PathRefusedError extends RiftmeshError {
  readonly path: string
  readonly reason: string
  constructor (path: string, reason: string) {
    super(`path ${JSON.stringify(path.slice(0, 200))} refused: ${reason}`, 'ERR_PATH_REFUSED')
    this.name = 'PathRefusedError'
    this.path = path
    this.reason = reason
  }
}

/**
 * The bytes received do not hash to the expected sha256. The `.partial` file has been deleted;
 * the caller retries, preferably from another holder.
 */
export class HashMismatchError extends RiftmeshError {
  readonly peer: string
  readonly path: string
  readonly expected: string
  readonly actual: string
  constructor (peer: string, path: string, expected: string, actual: string) {
    super(`${path} from ${peer}: sha256 ${actual} does not match the expected ${expected}`, 'ERR_HASH_MISMATCH')
    this.name = 'HashMismatchError'
    this.peer = peer
    this.path = path
    this.expected = expected
    this.actual = actual
  }
}

/** Error codes a holder answers with (the `Code` enum of `TransferFrame`). */
export type RefusalCode = 'NOT_FOUND' | 'BAD_PATH' | 'BUSY' | 'CHANGED' | 'BAD_REQUEST' | 'INTERNAL'

/** The holder refused or failed the request with an ERROR frame. */
export class TransferRefusedError extends RiftmeshError {
  readonly peer: string
  readonly path: string
  readonly refusal: RefusalCode
  /** BUSY: how long the holder asked us to wait. */
  readonly retryAfterMs: number
  constructor (peer: string, path: string, refusal: RefusalCode, detail: string, retryAfterMs = 0) {
    super(`${peer} refused ${JSON.stringify(path.slice(0, 200))}: ${refusal}${detail !== '' ? ` (${detail.slice(0, 200)})` : ''}`, 'ERR_TRANSFER_REFUSED')
    this.name = 'TransferRefusedError'
    this.peer = peer
    this.path = path
    this.refusal = refusal
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * The transfer broke off (stream reset, closed early, peer misbehaved, deadline). Whatever
 * arrived stays in `<file>.partial`; a later pull resumes from there.
 */
export class TransferFailedError extends RiftmeshError {
  readonly peer: string
  readonly path: string
  constructor (peer: string, path: string, message: string, options?: { cause?: unknown }) {
    super(`${path} from ${peer}: ${message}`, 'ERR_TRANSFER_FAILED', options)
    this.name = 'TransferFailedError'
    this.peer = peer
    this.path = path
  }
}

/**
 * The target's BATCH receive in C (native/batch/, built into `dist/native/` by
 * `npm install`): given a plain side channel whose socket Node has stopped reading, a thread of
 * the addon's own reads the BATCH answers off the socket, verifies each file (sha256 from the
 * OpenSSL Node exports, and the game count) and writes, syncs and renames it exactly as
 * disk-ops.ts `writeVerified` does with syncfs. The batcher (batcher.ts) then settles each pull
 * from the outcomes, as it does for the disk pool's.
 *
 * Why: with 10,000 files of 100 KiB the JS receiver spent ~2.1 s of CPU per GiB on the target —
 * frames, promises and handing bytes to the disk threads cost about as much as the file work —
 * where a C receiver needs ~1.3 (docs/ARCHITECTURE.md, "Batches of small files in C at both ends").
 *
 * Where the addon was not built or cannot hash (`available()` says why), `loadNativeReceiver`
 * returns the reason and batches are received in JS as before. The native wait for a frame ends
 * after the session's idle timeout in real time — it is a blocking read at the I/O edge, like
 * the kernel's own socket timeouts, and the simulator never runs transfers on real sockets.
 */
import { oncePerPath } from './fs-sync.js'
import { BATCH_ADDON_PATH, requireBatchAddon, runNative } from './native-batch.js'

/** One file of the batch, in request order. */
export interface NativeItem {
  /** Absolute destination, inside the data dir (the caller checked its directory). */
  dest: string
  size: number
  /** Lowercase hex sha256 from the manifest. */
  sha256: string
  /** Count games (`.jsonl`: non-empty lines), as file-info.ts does. */
  countLines: boolean
}

export type NativeOutcome =
  | { kind: 'none' }
  | { kind: 'ok', sha256: string, gameCount: number, size: number, mtimeMs: number }
  | { kind: 'skip', code: number, message: string }
  | { kind: 'changed' }
  | { kind: 'mismatch', sha256: string }
  | { kind: 'io', message: string }

export interface NativeBatchResult {
  /** How the exchange ended: `ok` when every item was answered. */
  status: 'ok' | 'eof' | 'timeout' | 'cancelled' | 'protocol' | 'read' | 'error-frame' | 'nomem'
  message: string
  /** `error-frame`: the ERROR frame's code (TransferFrame.Code's number) and retry-after. */
  code: number
  retryAfterMs: number
  /** Items answered with a HEADER or SKIP; outcomes past them are `none`. */
  answered: number
  outcomes: NativeOutcome[]
}

export interface NativeReceiveOptions {
  fsync: boolean
  maxFrameBytes: number
  idleTimeoutMs: number
  /** The frame version to accept (TRANSFER_VERSION). */
  version: number
}

export interface NativeReceiver {
  /**
   * Receive one BATCH's answers on `fd` (a socket nobody else reads until this settles). An
   * abort cancels the exchange; the promise still settles only once the addon's thread is done
   * with the socket (status `cancelled`), so the caller may then close it.
   */
  receive: (fd: number, items: readonly NativeItem[], options: NativeReceiveOptions, signal: AbortSignal) => Promise<NativeBatchResult>
}

/** The native receiver, or why there is none (loaded once per path). */
export const loadNativeReceiver: (path?: string) => NativeReceiver | { why: string } = (() => {
  const once = oncePerPath((path): NativeReceiver | { why: string } => {
    const addon = requireBatchAddon(path)
    if ('why' in addon) return addon
    const available = addon.available()
    if (available !== true) return { why: available }
    return {
      receive: async (fd, items, options, signal) => await runNative<NativeBatchResult>(addon, done => addon.receiveBatch(fd, items, options, done), signal)
    }
  })
  return (path = BATCH_ADDON_PATH) => once(path)
})()

/**
 * The holder's end of a BATCH in C (native/batch/, the same addon as native-recv.ts):
 * on a plain side channel with nothing of Node's queued on the socket, a thread of the addon's
 * own sends the batch's answers — a ready SKIP frame for each item the server refused, and for
 * each listed file its HEADER followed by the bytes through sendfile(2), after the checks
 * disk-ops.ts `readListed` makes (the opened file inside the data dir, still the scanned
 * version; else a SKIP built there). No file byte passes through user space.
 *
 * Why: the JS holder read each file on a disk thread, moved it to the main thread and wrote it
 * to the socket from there — ~1.9 s of CPU per GiB of 105 KiB files, against ~0.2 for sendfile
 * in a C probe; ~0.6 measured (docs/ARCHITECTURE.md, "Batches of small files in C at both ends").
 *
 * Where the addon was not built, `loadNativeSender` says why and the server sends in JS. The
 * wait for the socket to take more bytes ends after the idle timeout in real time: a blocking
 * write at the I/O edge, which the simulator never runs.
 */
import type { RefusalCode } from './errors.js'
import { oncePerPath } from './fs-sync.js'
import { BATCH_ADDON_PATH, requireBatchAddon, runNative } from './native-batch.js'

/** One answer of the batch, in request order. */
export type NativeSendItem =
  /** A refused item: its SKIP frame, encoded (without the length prefix). */
  | { skip: Uint8Array }
  /** A listed file: its absolute path and the version the scan saw. */
  | { path: string, size: number, mtimeMs: number, sha256: string }

export type NativeSendOutcome =
  | { kind: 'none' }
  | { kind: 'sent' }
  | { kind: 'skip' }
  | { kind: 'refused', code: RefusalCode, message: string }

export interface NativeSendResult {
  /** `ok` when every item was answered; `truncated`: a file shrank while it was sent (the frame is broken). */
  status: 'ok' | 'timeout' | 'cancelled' | 'write' | 'truncated'
  message: string
  served: number
  bytes: number
  outcomes: NativeSendOutcome[]
}

export interface NativeSendOptions {
  /** The data dir's real path: an opened file must lie inside it. */
  rootReal: string
  idleTimeoutMs: number
  /** The frame version to write (TRANSFER_VERSION). */
  version: number
}

export interface NativeSender {
  /** Send one BATCH's answers on `fd` (a socket nobody else writes to until this settles); see NativeReceiver.receive for aborts. */
  send: (fd: number, items: readonly NativeSendItem[], options: NativeSendOptions, signal: AbortSignal) => Promise<NativeSendResult>
}

/** The native sender, or why there is none (loaded once per path). */
export const loadNativeSender: (path?: string) => NativeSender | { why: string } = (() => {
  const once = oncePerPath((path): NativeSender | { why: string } => {
    const addon = requireBatchAddon(path)
    if ('why' in addon) return addon
    return { send: async (fd, items, options, signal) => await runNative<NativeSendResult>(addon, done => addon.sendBatch(fd, items, options, done), signal) }
  })
  return (path = BATCH_ADDON_PATH) => once(path)
})()

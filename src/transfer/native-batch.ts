/**
 * What both ends of a BATCH in C share (native-recv.ts, native-send.ts): the addon built from
 * native/batch/ into `dist/native/riftmesh-batch.node`, one exchange on its thread as a promise,
 * and how a node says which end runs in C.
 */
import type { Logger } from '../core/logger.js'
import { onAbort } from '../core/signals.js'
import { nativeAddonPath, requireAddon } from './fs-sync.js'
import type { NativeBatchResult, NativeItem, NativeReceiveOptions } from './native-recv.js'
import type { NativeSendItem, NativeSendOptions, NativeSendResult } from './native-send.js'

/** Where the built batch addon is. */
export const BATCH_ADDON_PATH = nativeAddonPath(import.meta.url, 'riftmesh-batch')

/** What the addon exports (native/batch/module.c). */
export interface BatchAddon {
  receiveBatch: (fd: number, items: readonly NativeItem[], options: NativeReceiveOptions, done: (r: NativeBatchResult) => void) => unknown
  sendBatch: (fd: number, items: readonly NativeSendItem[], options: NativeSendOptions, done: (r: NativeSendResult) => void) => unknown
  cancel: (handle: unknown) => void
  /** True, or why receiveBatch cannot run here (no sha256 in this Node). */
  available: () => true | string
}

/** The addon at `path`, or why it cannot be used (not built, or not this addon). */
export function requireBatchAddon (path: string): BatchAddon | { why: string } {
  const r = requireAddon(path)
  if ('why' in r) return r
  const mod = r.mod
  if (typeof mod.receiveBatch !== 'function' || typeof mod.sendBatch !== 'function' || typeof mod.cancel !== 'function' || typeof mod.available !== 'function') return { why: `${path} is not the batch addon` }
  return mod as unknown as BatchAddon
}

/**
 * Run one exchange on the addon's thread: `start` starts it with the completion callback and
 * returns its handle; an abort of `signal` cancels it, and the promise still settles only when
 * the thread is done with the socket.
 */
export async function runNative<R> (addon: BatchAddon, start: (done: (r: R) => void) => unknown, signal: AbortSignal): Promise<R> {
  return await new Promise<R>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined
    let handle: unknown
    try {
      handle = start(result => {
        unsubscribe?.()
        resolve(result)
      })
    } catch (err) {
      reject(err)
      return
    }
    if (signal.aborted) addon.cancel(handle)
    else unsubscribe = onAbort(signal, () => addon.cancel(handle))
  })
}

/** The loaded end, logged as running in C; or, logged with the reason, undefined (`verb`: "sent", "received"). */
export function nativeOrLogged<T> (loaded: T | { why: string }, log: Logger, verb: string): T | undefined {
  if (typeof loaded === 'object' && loaded !== null && 'why' in loaded) {
    log.info({ why: loaded.why }, `batches are ${verb} in JavaScript`)
    return undefined
  }
  log.info(`batches on a plain side channel are ${verb} natively`)
  return loaded
}

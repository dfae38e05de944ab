/**
 * Work around a crash in xsalsa20@1.2.0, the cipher of @libp2p/pnet: all its instances share one
 * WebAssembly memory (64 MiB at most) and keep views of it; a growth of that memory detaches
 * every other instance's view, and each of their next updates then grows it again by at least
 * one 64 KiB page. After one update of more than 640 KiB (the initial memory) — a 1 MiB transfer
 * frame — about a thousand alternating updates (inbound and outbound of a connection) exhaust
 * the memory and the next update throws from a libp2p event listener, which ends the process.
 * Growing the memory once, near its maximum, before any connection exists means it never grows
 * again. Costs 60 MiB of address space, once per process.
 */
import { createRequire } from 'node:module'

type Xsalsa20 = (nonce: Uint8Array, key: Uint8Array) => { update: (b: Uint8Array) => Uint8Array, finalize: () => void }

/** Bytes the shared cipher memory is grown to cover (under its 64 MiB maximum). */
export const PNET_CIPHER_PREGROW_BYTES = 60 * 1024 * 1024

let grown = false

/** Grow the pnet cipher's shared memory once per process; later calls do nothing. */
export function preGrowPnetCipherMemory (): void {
  if (grown) return
  grown = true
  const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as Xsalsa20
  const cipher = xsalsa20(new Uint8Array(24), new Uint8Array(32))
  cipher.update(new Uint8Array(PNET_CIPHER_PREGROW_BYTES))
  cipher.finalize()
}

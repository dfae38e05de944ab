/**
 * Memory for file bytes that can move to a disk worker and come back: frames a target received
 * (written by a worker), and files a holder's worker reads (DiskPool.read) before they are sent.
 *
 * - An ArrayBuffer marked *owned* holds one received frame and nothing anyone else reads: the
 *   side channel assembles every frame over 16 KiB in such memory. The disk pool moves an owned
 *   buffer to a worker thread instead of copying the file's bytes out of it; anything not owned
 *   is copied. A holder's GET reads its chunks into owned memory too and gives each back once
 *   the socket has sent it.
 * - The worker hands the buffer back when the file is written, and it is kept for the next frame
 *   of its size class (powers of two, 64 KiB to 32 MiB, at most 64 MiB kept). Fresh memory costs
 *   a page fault per 4 KiB on first touch: ~60 µs per 100 KiB frame, about a quarter of the
 *   target's main-thread time with 10,000 small files before buffers were reused.
 */
const owned = new WeakSet<ArrayBufferLike>()

const MIN_CLASS_BYTES = 64 * 1024
const MAX_CLASS_BYTES = 32 * 1024 * 1024
const MAX_KEPT_BYTES = 64 * 1024 * 1024
const free = new Map<number, ArrayBuffer[]>()
let keptBytes = 0

/** Whether `view` lies in a buffer marked owned (moving that buffer elsewhere harms no one). */
export function isOwned (view: Uint8Array): boolean {
  return owned.has(view.buffer)
}

function sizeClass (n: number): number {
  let c = MIN_CLASS_BYTES
  while (c < n) c *= 2
  return c
}

/** `n` bytes (contents undefined) in owned memory, reused when a buffer of its class was given back. */
export function ownedBuffer (n: number): Buffer {
  if (n > MAX_CLASS_BYTES) {
    const b = Buffer.allocUnsafeSlow(n)
    owned.add(b.buffer)
    return b
  }
  const c = sizeClass(n)
  let ab = free.get(c)?.pop()
  if (ab !== undefined) keptBytes -= c
  else ab = Buffer.allocUnsafeSlow(c).buffer // not zero-filled: every byte handed out is written before it is read
  owned.add(ab)
  return Buffer.from(ab, 0, n)
}

/** Bytes of buffers kept for reuse. */
export function keptBufferBytes (): number {
  return keptBytes
}

/** Give back a buffer that came home from a worker (nothing here may still use it). */
export function recycle (ab: ArrayBuffer): void {
  const c = ab.byteLength
  if (c < MIN_CLASS_BYTES || c > MAX_CLASS_BYTES || (c & (c - 1)) !== 0 || keptBytes + c > MAX_KEPT_BYTES) return
  const list = free.get(c) ?? []
  list.push(ab)
  free.set(c, list)
  keptBytes += c
}

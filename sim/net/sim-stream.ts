/**
 * A simulated stream: two FrameStream ends whose frames travel over the simulated network with
 * the link's latency, in order. A frame sent while the link is down is lost and the stream is
 * broken from then on (the reader sees nothing more and times out on its signal), as a TCP
 * connection across a cut would stall.
 */
import type { FrameStream } from '../../src/mesh/mesh.js'

export class SimStreamError extends Error {
  constructor (message: string, name = 'SimStreamError') {
    super(message)
    this.name = name
  }
}

/** How an end hands a frame (or a close) to the network for delivery at the other end. */
export type StreamSend = (bytes: number, deliver: () => void) => void

export class SimStreamEnd implements FrameStream {
  other: SimStreamEnd | undefined
  private readonly queue: Uint8Array[] = []
  private remoteClosed = false
  private localClosed = false
  private error: Error | undefined
  private waiter: { resolve: (v: Uint8Array | undefined) => void, reject: (e: Error) => void } | undefined

  constructor (private readonly send: StreamSend, private readonly maxFrameBytes: number) {}

  async read (options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    if (this.error !== undefined) throw this.error
    const next = this.queue.shift()
    if (next !== undefined) return next
    if (this.remoteClosed) return undefined
    const signal = options.signal
    signal?.throwIfAborted()
    return await new Promise<Uint8Array | undefined>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = undefined
        reject(signal?.reason instanceof Error ? signal.reason : new SimStreamError('aborted'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiter = {
        resolve: v => { signal?.removeEventListener('abort', onAbort); resolve(v) },
        reject: e => { signal?.removeEventListener('abort', onAbort); reject(e) }
      }
    })
  }

  async write (frame: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.error !== undefined) throw this.error
    if (this.localClosed) throw new SimStreamError('write after close')
    const copy = frame.slice()
    this.send(copy.byteLength, () => this.other?.deliver(copy))
  }

  async close (): Promise<void> {
    if (this.localClosed) return
    this.localClosed = true
    this.send(0, () => this.other?.deliverClose())
  }

  abort (err: Error): void {
    this.fail(err)
    this.send(0, () => this.other?.fail(new SimStreamError(`stream reset by remote: ${err.message}`)))
  }

  private deliver (frame: Uint8Array): void {
    if (this.error !== undefined) return
    if (frame.byteLength > this.maxFrameBytes) {
      // named like libp2p's length-prefixed reader, so the protocol code counts it the same way
      this.fail(new SimStreamError(`frame of ${frame.byteLength} bytes over the limit of ${this.maxFrameBytes}`, 'InvalidDataLengthError'))
      return
    }
    if (this.waiter !== undefined) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve(frame)
    } else {
      this.queue.push(frame)
    }
  }

  private deliverClose (): void {
    this.remoteClosed = true
    if (this.waiter !== undefined && this.queue.length === 0) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve(undefined)
    }
  }

  fail (err: Error): void {
    if (this.error !== undefined) return
    this.error = err
    if (this.waiter !== undefined) {
      const w = this.waiter
      this.waiter = undefined
      w.reject(err)
    }
  }
}

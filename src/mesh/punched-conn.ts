/**
 * A TCP socket that is already connected — the result of a hole punch — as a libp2p
 * MultiaddrConnection, so libp2p's upgrader can run the swarm key, Noise and Yamux on it like on
 * any dialled connection. The same behaviour as @libp2p/tcp's own socket wrapper (which that
 * package does not export): data in, back-pressure on `drain`, a reset on abort, an idle timeout.
 */
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { TimeoutError, type AbortOptions, type Logger } from '@libp2p/interface'
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A punched connection with no traffic for this long is closed (libp2p's TCP default). */
export const PUNCHED_INACTIVITY_TIMEOUT_MS = 2 * 60_000

class PunchedConnection extends AbstractMultiaddrConnection {
  constructor (private readonly socket: Socket, remoteAddr: Multiaddr, direction: 'inbound' | 'outbound', log: Logger) {
    super({ remoteAddr, direction, log, inactivityTimeout: PUNCHED_INACTIVITY_TIMEOUT_MS })
    socket.on('data', buf => this.onData(buf))
    socket.on('error', err => this.abort(err))
    socket.setTimeout(PUNCHED_INACTIVITY_TIMEOUT_MS)
    socket.once('timeout', () => this.abort(new TimeoutError('punched connection idle')))
    socket.once('end', () => this.onTransportClosed())
    socket.once('close', hadError => {
      if (hadError) this.abort(new Error('TCP transmission error'))
      else this.onTransportClosed()
    })
    socket.on('drain', () => this.safeDispatchEvent('drain'))
  }

  sendData (data: Uint8ArrayList): SendResult {
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.socket.destroyed) return
    this.socket.destroySoon()
    await once(this.socket, 'close', options?.signal !== undefined ? { signal: options.signal } : {})
  }

  sendReset (): void {
    if (this.socket.writableEnded) this.socket.destroy()
    else this.socket.resetAndDestroy()
  }

  sendPause (): void {
    this.socket.pause()
  }

  sendResume (): void {
    this.socket.resume()
  }
}

/**
 * `direction` is the role the side takes, not who dialled (both did): the muxer takes its role
 * from it (Yamux: 'outbound' opens odd stream ids), so the two sides must differ — with both
 * 'outbound' their first streams collide and the connection is aborted at once.
 */
export function punchedConnection (socket: Socket, remoteAddr: Multiaddr, direction: 'inbound' | 'outbound', log: Logger): AbstractMultiaddrConnection {
  return new PunchedConnection(socket, remoteAddr, direction, log)
}

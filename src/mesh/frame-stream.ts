/**
 * A libp2p stream as riftmesh's {@link FrameStream}: length-prefixed frames of at most
 * `maxFrameBytes`, an end of stream read as `undefined`.
 */
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { FrameStream } from './mesh.js'

export function wrapStream (stream: Stream, maxFrameBytes: number): FrameStream {
  // the read buffer must hold a whole frame plus its length prefix (the library default is 4 MiB)
  const lp = lpStream(stream, { maxDataLength: maxFrameBytes, maxBufferSize: maxFrameBytes + 16 })
  return {
    async read (options = {}) {
      try {
        const list = await lp.read(options)
        return list.subarray()
      } catch (err) {
        if ((err as Error).name === 'UnexpectedEOFError') return undefined
        throw err
      }
    },
    async write (frame, options = {}) {
      await lp.write(frame, options)
    },
    async close (options = {}) {
      await stream.close(options)
    },
    abort (err) {
      stream.abort(err)
    }
  }
}

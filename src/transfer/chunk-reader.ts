/**
 * A file read in chunks for a transfer, one chunk ahead of what was taken (the holder reads the
 * next chunk while it sends the current one). Chunks are read into pooled memory
 * (owned-buffers.ts): the last piece of each chunk comes with `release`, to be called once the
 * chunk has been sent, and the memory serves a later chunk instead of being faulted in afresh.
 */
import type { FileHandle } from 'node:fs/promises'
import { ownedBuffer, recycle } from './owned-buffers.js'

/** Reads `[offset, size)` of a file in chunks, one chunk ahead of what was taken. */
export class ChunkReader {
  private readPos: number
  private sendPos: number
  private ahead: Promise<Buffer> | undefined
  private carry: Buffer | undefined

  /**
   * @param onShortRead the error thrown when the file ends early (it changed under us)
   */
  constructor (private readonly fh: FileHandle, offset: number, private readonly size: number, private readonly chunkBytes: number, private readonly onShortRead: () => Error) {
    this.readPos = offset
    this.sendPos = offset
    this.ahead = this.readNext()
  }

  get done (): boolean {
    return this.sendPos >= this.size
  }

  private readNext (): Promise<Buffer> | undefined {
    if (this.readPos >= this.size) return undefined
    const at = this.readPos
    const len = Math.min(this.chunkBytes, this.size - at)
    this.readPos += len
    const p = (async () => {
      const buf = ownedBuffer(len)
      const { bytesRead } = await this.fh.read(buf, 0, len, at)
      if (bytesRead !== len) {
        recycle(buf.buffer as ArrayBuffer)
        throw this.onShortRead()
      }
      return buf
    })()
    p.catch(() => undefined) // awaited by next(); not unhandled when the transfer ends first
    return p
  }

  /**
   * The next at most `max` bytes and their offset. `release` comes with the last piece of a chunk:
   * call it once every piece of that chunk has been sent (its memory is then reused); a chunk
   * never released is simply garbage.
   */
  async next (max: number): Promise<{ at: number, data: Buffer, release?: () => void }> {
    let buf = this.carry
    if (buf === undefined) {
      const ahead = this.ahead
      if (ahead === undefined) throw new Error('ChunkReader: read past the end')
      buf = await ahead
      this.ahead = this.readNext()
    }
    const data = buf.byteLength > max ? buf.subarray(0, max) : buf
    this.carry = buf.byteLength > max ? buf.subarray(max) : undefined
    const at = this.sendPos
    this.sendPos += data.byteLength
    if (this.carry !== undefined) return { at, data }
    const whole = buf
    return { at, data, release: () => recycle(whole.buffer as ArrayBuffer) }
  }
}

// Lines of a gzip file as bytes, read in chunks: only the current chunk (and a line that spans
// two chunks, the only line copied) is held in memory, with up to four more decompressed ahead on
// a libuv thread while the caller hashes. Lines are views into the chunk, not copies.
import { createGunzip, type ZlibOptions } from 'node:zlib'
import type { OpenedObject } from './archive-source'

const NEWLINE = 0x0a
const CHUNK = 256 * 1024

export class LineReader {
  private chunks?: AsyncIterator<Buffer>
  private chunk: Buffer = Buffer.alloc(0)
  private pos = 0
  /** The start of a line that the previous chunk ended in the middle of. */
  private carry?: Buffer
  private ended = false

  /** Starts reading at once (the object is fetched and decompressed ahead of the caller). */
  constructor(private readonly opening: Promise<OpenedObject>) {
    // Awaited in fill(); until then a failure must not count as unhandled.
    opening.catch(() => {})
    opening.then((o) => this.iterate(o)).catch(() => {})
  }

  private iterate(o: OpenedObject): AsyncIterator<Buffer> {
    if (!this.chunks) {
      let bytes = o.stream
      if (!o.decoded) {
        // zlib streams take the stream options too, though ZlibOptions does not list them.
        const gunzip = createGunzip({ chunkSize: CHUNK, readableHighWaterMark: 4 * CHUNK } as ZlibOptions)
        // pipe() does not pass a read error on: the reader must see it, not the process.
        o.stream.on('error', (err) => gunzip.destroy(err))
        bytes = o.stream.pipe(gunzip)
      }
      // While the file is read, an error reaches fill() through the iterator. Once the reader is
      // closed nothing listens: a connection that drops after that (a file read ahead, then left
      // at a break) must not be an uncaught error.
      bytes.on('error', () => {})
      this.chunks = bytes[Symbol.asyncIterator]()
    }
    return this.chunks
  }

  /**
   * The next line if it is already decompressed, `null` at the end of the file, or `undefined`
   * when fill() must run first (so most lines cost no promise).
   */
  nextSync(): Buffer | null | undefined {
    const nl = this.chunk.indexOf(NEWLINE, this.pos)
    if (nl >= 0) {
      const line = this.withCarry(this.chunk.subarray(this.pos, nl))
      this.pos = nl + 1
      return line
    }
    if (!this.ended) return undefined
    if (this.pos >= this.chunk.length && !this.carry) return null
    const last = this.withCarry(this.chunk.subarray(this.pos))
    this.pos = this.chunk.length
    return last
  }

  /** Only a line that spans chunks is copied; every other line is a view. */
  private withCarry(line: Buffer): Buffer {
    if (!this.carry) return line
    const whole = Buffer.concat([this.carry, line])
    this.carry = undefined
    return whole
  }

  /** Decompresses the next chunk (or notes the end of the file). */
  async fill(): Promise<void> {
    const r = await this.iterate(await this.opening).next()
    if (r.done) {
      this.ended = true
      return
    }
    const rest = this.chunk.subarray(this.pos)
    if (rest.length > 0) this.carry = this.carry ? Buffer.concat([this.carry, rest]) : rest
    this.chunk = r.value
    this.pos = 0
  }

  /** Stops reading early (after a break) so no file handle is left open. */
  async close(): Promise<void> {
    const o = await this.opening.catch(() => undefined)
    if (!o) return
    await this.iterate(o).return?.()
    o.stream.destroy()
  }
}

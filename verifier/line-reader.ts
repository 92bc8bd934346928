// Lines of a gzip file as bytes, read in chunks: only the current chunk (and a line that spans
// two chunks) is held in memory, with up to four more decompressed ahead on a libuv thread
// while the caller hashes. Lines are views into the chunk, not copies.
import { createReadStream } from 'node:fs'
import { createGunzip, type ZlibOptions } from 'node:zlib'

const NEWLINE = 0x0a
const CHUNK = 256 * 1024

export class LineReader {
  private readonly chunks: AsyncIterator<Buffer>
  private chunk: Buffer = Buffer.alloc(0)
  private pos = 0
  private ended = false

  constructor(path: string) {
    this.chunks = createReadStream(path, { highWaterMark: CHUNK })
      // zlib streams take the stream options too, though ZlibOptions does not list them.
      .pipe(createGunzip({ chunkSize: CHUNK, readableHighWaterMark: 4 * CHUNK } as ZlibOptions))
      [Symbol.asyncIterator]()
  }

  /**
   * The next line if it is already decompressed, `null` at the end of the file, or `undefined`
   * when fill() must run first (so most lines cost no promise).
   */
  nextSync(): Buffer | null | undefined {
    const nl = this.chunk.indexOf(NEWLINE, this.pos)
    if (nl >= 0) {
      const line = this.chunk.subarray(this.pos, nl)
      this.pos = nl + 1
      return line
    }
    if (!this.ended) return undefined
    if (this.pos >= this.chunk.length) return null
    const last = this.chunk.subarray(this.pos)
    this.pos = this.chunk.length
    return last
  }

  /** Decompresses the next chunk (or notes the end of the file). */
  async fill(): Promise<void> {
    const r = await this.chunks.next()
    if (r.done) {
      this.ended = true
      return
    }
    const rest = this.chunk.subarray(this.pos)
    this.chunk = rest.length > 0 ? Buffer.concat([rest, r.value]) : r.value
    this.pos = 0
  }

  async next(): Promise<IteratorResult<Buffer>> {
    for (;;) {
      const line = this.nextSync()
      if (line === null) return { done: true, value: undefined }
      if (line !== undefined) return { done: false, value: line }
      await this.fill()
    }
  }

  /** Stops reading early (after a break) so no file handle is left open. */
  async close(): Promise<void> {
    await this.chunks.return?.()
  }
}

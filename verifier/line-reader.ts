// Lines of a gzip file, read in chunks: only the current chunk is held in memory.
import { createReadStream } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { createGunzip } from 'node:zlib'

export class LineReader {
  private readonly chunks: AsyncIterator<Buffer>
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''
  private lines: string[] = []
  private idx = 0
  private ended = false

  constructor(path: string) {
    this.chunks = createReadStream(path).pipe(createGunzip())[Symbol.asyncIterator]()
  }

  async next(): Promise<IteratorResult<string>> {
    while (this.idx >= this.lines.length) {
      if (this.ended) {
        if (this.rest === '') return { done: true, value: undefined }
        const last = this.rest
        this.rest = ''
        return { done: false, value: last }
      }
      const r = await this.chunks.next()
      if (r.done) {
        this.ended = true
        this.rest += this.decoder.end()
        continue
      }
      const parts = (this.rest + this.decoder.write(r.value)).split('\n')
      this.rest = parts.pop() ?? ''
      this.lines = parts
      this.idx = 0
    }
    return { done: false, value: this.lines[this.idx++]! }
  }

  /** Stops reading early (after a break) so no file handle is left open. */
  async close(): Promise<void> {
    await this.chunks.return?.()
  }
}

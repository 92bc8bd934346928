// SHA-256 of bytes, synchronously. Node 20.12+ has a one-shot `crypto.hash` that costs less per
// call than createHash (which matters for millions of 65-byte Merkle nodes); workerd and older
// Node take createHash. Asked for a 'binary' (latin1) string, one character per byte,, it also skips the
// Buffer that a binary digest allocates, which is most of its cost on a short line.
import * as crypto from 'node:crypto'

type OneShot = {
  (alg: string, data: Uint8Array, enc: 'buffer'): Buffer
  (alg: string, data: Uint8Array, enc: 'binary'): string
}
const oneShot = (crypto as unknown as { hash?: OneShot }).hash

export const sha256: (data: Uint8Array) => Buffer = oneShot
  ? (data) => oneShot('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest()

/** Writes SHA-256(data) as eight big-endian words to out[at..at+8). */
export const sha256Words: (data: Uint8Array, out: Int32Array, at: number) => void = oneShot
  ? (data, out, at) => {
      const s = oneShot('sha256', data, 'binary')
      for (let i = 0; i < 8; i++) {
        const j = 4 * i
        out[at + i] =
          (s.charCodeAt(j) << 24) |
          (s.charCodeAt(j + 1) << 16) |
          (s.charCodeAt(j + 2) << 8) |
          s.charCodeAt(j + 3)
      }
    }
  : (data, out, at) => {
      const d = crypto.createHash('sha256').update(data).digest()
      for (let i = 0; i < 8; i++) out[at + i] = d.readInt32BE(4 * i)
    }

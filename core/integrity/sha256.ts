// SHA-256 of bytes, synchronously. Node 20.12+ has a one-shot `crypto.hash` that costs less per
// call than createHash (which matters for millions of 65-byte Merkle nodes); workerd and older
// Node take createHash.
import * as crypto from 'node:crypto'

const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash

export const sha256: (data: Uint8Array) => Buffer = oneShot
  ? (data) => oneShot('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest()

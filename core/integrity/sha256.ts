// SHA-256 of bytes, synchronously, as a 32-character binary (latin1) string: one character per
// byte. Node 20.12+ has a one-shot `crypto.hash`; asked for a string it costs ~0.2 µs on a 65-byte
// Merkle node or chain link, against ~0.6 µs for the Buffer a binary digest allocates (most of a
// short digest's cost), which matters when the verifier makes three digests per event. workerd and
// older Node take createHash.
import * as crypto from 'node:crypto'
import { z } from 'zod'

type OneShot = (alg: string, data: Uint8Array, enc: 'binary') => string
const oneShot = (crypto as unknown as { hash?: OneShot }).hash

export const sha256Binary: (data: Uint8Array) => string = oneShot
  ? (data) => oneShot('sha256', data, 'binary')
  : (data) => crypto.createHash('sha256').update(data).digest('binary')

/** Writes the 32 bytes of a binary-string hash into `b` at `at`. */
export function putBinary(b: Uint8Array, hash: string, at: number): void {
  for (let i = 0; i < 32; i++) b[at + i] = hash.charCodeAt(i)
}

/** The one text form of a hash (stored events, checkpoints, proofs): 64 lower-case hex digits. */
export const HEX_HASH_RE = /^[0-9a-f]{64}$/

export function isHexHash(hex: unknown): hex is string {
  return typeof hex === 'string' && HEX_HASH_RE.test(hex)
}

/** The same rule for schemas. */
export const hexHash = z.string().regex(HEX_HASH_RE, 'must be 64 lower-case hex digits')

/** The binary string of a hex hash; as a decoder it takes upper-case digits too. */
export function binaryOfHex(hex: string): string {
  if (!isHexHash(hex.toLowerCase())) throw new RangeError('a hash is 64 hex characters')
  return Buffer.from(hex, 'hex').toString('latin1')
}

export function hexOfBinary(hash: string): string {
  return Buffer.from(hash, 'latin1').toString('hex')
}

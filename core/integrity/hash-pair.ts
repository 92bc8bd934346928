// SHA-256 of a 65-byte message `prefix || left || right` (prefix one byte, left and right 32-byte
// hashes): the chain link (prefix 0x02) and the Merkle interior node (prefix 0x01). Invariants:
// - the result is exactly FIPS 180-4 SHA-256 of those 65 bytes (tested against node:crypto over
//   random inputs, every prefix and every value of the last byte);
// - hashes are handled as eight big-endian 32-bit words (Int32Array), so no bytes, hex or
//   buffers are made per call; `out` may overlap `left` or `right` (inputs are read first).
// Why not node:crypto: a native digest call costs ~0.6 us whatever the size, most of it call
// overhead, and the verifier makes two of these per event; this takes ~0.35 us. A 65-byte
// message is two blocks: the first is the prefix and 63 hash bytes, the second only the last
// byte of `right`, the 0x80 pad and the bit length 520, so its whole message schedule (plus the
// round constants) is precomputed for each of the 256 values of that byte.

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
])
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
])

/** Fills w[16..64) from w[0..16) (the message schedule). */
function expand(w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!
    const y = w[i - 2]!
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
  }
}

const W = new Int32Array(64)
/** K[i] + W[i] of the first block, per call. */
const KW1 = new Int32Array(64)
/** K[i] + W[i] of the second block, 64 words for each value of the message's last byte. */
const KW2 = new Int32Array(256 * 64)
for (let v = 0; v < 256; v++) {
  W.fill(0)
  W[0] = (v << 24) | 0x800000
  W[15] = 65 * 8
  expand(W)
  for (let i = 0; i < 64; i++) KW2[v * 64 + i] = (K[i]! + W[i]!) | 0
}

const s1 = (e: number) => ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
const s0 = (a: number) => ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))

/** 64 rounds over `state` with K+W from kw[at..at+64), eight per turn so no variable is shuffled. */
function rounds(state: Int32Array, kw: Int32Array, at: number): void {
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  let e = state[4]!
  let f = state[5]!
  let g = state[6]!
  let h = state[7]!
  let t = 0
  for (let i = at; i < at + 64; i += 8) {
    t = (h + s1(e) + ((e & f) ^ (~e & g)) + kw[i]!) | 0
    d = (d + t) | 0
    h = (t + s0(a) + ((a & b) ^ (a & c) ^ (b & c))) | 0
    t = (g + s1(d) + ((d & e) ^ (~d & f)) + kw[i + 1]!) | 0
    c = (c + t) | 0
    g = (t + s0(h) + ((h & a) ^ (h & b) ^ (a & b))) | 0
    t = (f + s1(c) + ((c & d) ^ (~c & e)) + kw[i + 2]!) | 0
    b = (b + t) | 0
    f = (t + s0(g) + ((g & h) ^ (g & a) ^ (h & a))) | 0
    t = (e + s1(b) + ((b & c) ^ (~b & d)) + kw[i + 3]!) | 0
    a = (a + t) | 0
    e = (t + s0(f) + ((f & g) ^ (f & h) ^ (g & h))) | 0
    t = (d + s1(a) + ((a & b) ^ (~a & c)) + kw[i + 4]!) | 0
    h = (h + t) | 0
    d = (t + s0(e) + ((e & f) ^ (e & g) ^ (f & g))) | 0
    t = (c + s1(h) + ((h & a) ^ (~h & b)) + kw[i + 5]!) | 0
    g = (g + t) | 0
    c = (t + s0(d) + ((d & e) ^ (d & f) ^ (e & f))) | 0
    t = (b + s1(g) + ((g & h) ^ (~g & a)) + kw[i + 6]!) | 0
    f = (f + t) | 0
    b = (t + s0(c) + ((c & d) ^ (c & e) ^ (d & e))) | 0
    t = (a + s1(f) + ((f & g) ^ (~f & h)) + kw[i + 7]!) | 0
    e = (e + t) | 0
    a = (t + s0(b) + ((b & c) ^ (b & d) ^ (c & d))) | 0
  }
  state[0] = (state[0]! + a) | 0
  state[1] = (state[1]! + b) | 0
  state[2] = (state[2]! + c) | 0
  state[3] = (state[3]! + d) | 0
  state[4] = (state[4]! + e) | 0
  state[5] = (state[5]! + f) | 0
  state[6] = (state[6]! + g) | 0
  state[7] = (state[7]! + h) | 0
}

const STATE = new Int32Array(8)

/**
 * out[outAt..outAt+8) = SHA-256(prefix || left[leftAt..+8) || right[rightAt..+8)), all hashes
 * as big-endian words.
 */
export function hashPair(
  prefix: number,
  left: Int32Array,
  leftAt: number,
  right: Int32Array,
  rightAt: number,
  out: Int32Array,
  outAt: number,
): void {
  // The first block's words straddle the hashes by one byte (the prefix comes first).
  W[0] = (prefix << 24) | (left[leftAt]! >>> 8)
  for (let i = 1; i < 8; i++) W[i] = (left[leftAt + i - 1]! << 24) | (left[leftAt + i]! >>> 8)
  W[8] = (left[leftAt + 7]! << 24) | (right[rightAt]! >>> 8)
  for (let i = 1; i < 8; i++) W[8 + i] = (right[rightAt + i - 1]! << 24) | (right[rightAt + i]! >>> 8)
  const second = (right[rightAt + 7]! & 0xff) * 64
  expand(W)
  for (let i = 0; i < 64; i++) KW1[i] = (K[i]! + W[i]!) | 0
  STATE.set(IV)
  rounds(STATE, KW1, 0)
  rounds(STATE, KW2, second)
  out.set(STATE, outAt)
}

/** Reads 32 bytes at `at` into out[outAt..outAt+8). */
export function wordsOf(bytes: Uint8Array, at: number, out: Int32Array, outAt = 0): Int32Array {
  for (let i = 0; i < 8; i++) {
    const j = at + 4 * i
    out[outAt + i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!
  }
  return out
}

/** The 32 bytes of words[at..at+8). */
export function bytesOfWords(words: Int32Array, at = 0): Uint8Array {
  const b = new Uint8Array(32)
  for (let i = 0; i < 8; i++) {
    const v = words[at + i]!
    b[4 * i] = v >>> 24
    b[4 * i + 1] = v >>> 16
    b[4 * i + 2] = v >>> 8
    b[4 * i + 3] = v
  }
  return b
}

/** Lowercase hex of words[at..at+8). */
export function hexOfWords(words: Int32Array, at = 0): string {
  let s = ''
  for (let i = 0; i < 8; i++) s += (words[at + i]! >>> 0).toString(16).padStart(8, '0')
  return s
}

const HEX_HASH = /^[0-9a-f]{64}$/i

/** The words of a 64-character hex hash. */
export function wordsOfHex(hex: string, out: Int32Array = new Int32Array(8), outAt = 0): Int32Array {
  if (!HEX_HASH.test(hex)) throw new RangeError('a hash is 64 hex characters')
  for (let i = 0; i < 8; i++) out[outAt + i] = Number.parseInt(hex.slice(8 * i, 8 * i + 8), 16) | 0
  return out
}

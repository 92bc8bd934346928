import { createHash, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesOfWords, hashPair, hexOfWords, wordsOf, wordsOfHex } from '../../../core/integrity/hash-pair'
import { MerkleAccumulator } from '../../../core/integrity/merkle'
import { sha256Words } from '../../../core/integrity/sha256'
import chain from '../../vectors/chain.json'
import merkle from '../../vectors/merkle.json'

const reference = (prefix: number, left: Uint8Array, right: Uint8Array) =>
  createHash('sha256').update(Uint8Array.of(prefix)).update(left).update(right).digest('hex')

const pair = (prefix: number, left: Uint8Array, right: Uint8Array) => {
  const out = new Int32Array(8)
  hashPair(prefix, wordsOf(left, 0, new Int32Array(8)), 0, wordsOf(right, 0, new Int32Array(8)), 0, out, 0)
  return hexOfWords(out)
}

describe('hashPair: SHA-256 of prefix || left || right', () => {
  it('equals node:crypto for every prefix byte and every value of the last byte', () => {
    // The second block is precomputed per value of the message's last byte: each table entry is hit.
    for (let prefix = 0; prefix < 256; prefix += 51) {
      for (let last = 0; last < 256; last++) {
        const left = randomBytes(32)
        const right = randomBytes(32)
        right[31] = last
        expect(pair(prefix, left, right)).toBe(reference(prefix, left, right))
      }
    }
  })

  it('equals node:crypto on arbitrary hashes, including all-zero and all-one words', () => {
    const hash = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.constant(new Uint8Array(32)),
      fc.constant(new Uint8Array(32).fill(0xff)),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), hash, hash, (p, l, r) => {
        expect(pair(p, l, r)).toBe(reference(p, l, r))
      }),
      { numRuns: 2000 },
    )
  })

  it('may write its result over either input', () => {
    const l = randomBytes(32)
    const r = randomBytes(32)
    const want = reference(1, l, r)
    const words = new Int32Array(16)
    wordsOf(l, 0, words, 0)
    wordsOf(r, 0, words, 8)
    hashPair(1, words, 0, words, 8, words, 0)
    expect(hexOfWords(words, 0)).toBe(want)
    wordsOf(l, 0, words, 0)
    hashPair(1, words, 0, words, 8, words, 8)
    expect(hexOfWords(words, 8)).toBe(want)
  })

  it('gives the chain vectors’ link hashes (prefix 0x02)', () => {
    for (const v of chain.chain) {
      const out = new Int32Array(8)
      hashPair(2, wordsOfHex(v.input.prev_hash), 0, wordsOfHex(v.want.leaf), 0, out, 0)
      expect(hexOfWords(out), v.desc).toBe(v.want.hash)
    }
  })

  it('builds the RFC 6962 reference roots at every size through the accumulator', () => {
    const acc = new MerkleAccumulator()
    for (const [i, data] of merkle.leaves.entries()) {
      acc.append(createHash('sha256').update(Uint8Array.of(0)).update(Buffer.from(data, 'hex')).digest())
      expect(acc.root(), `size ${i + 1}`).toBe(merkle.roots[i]!.want)
    }
  })
})

describe('hash words', () => {
  it('round-trip through bytes and hex', () => {
    const b = randomBytes(32)
    const w = wordsOf(b, 0, new Int32Array(8))
    expect(Buffer.from(bytesOfWords(w)).equals(b)).toBe(true)
    expect(hexOfWords(w)).toBe(b.toString('hex'))
    expect(hexOfWords(wordsOfHex(b.toString('hex')))).toBe(b.toString('hex'))
    expect(hexOfWords(wordsOfHex(b.toString('hex').toUpperCase()))).toBe(b.toString('hex'))
  })

  it('refuse text that is not a 64-character hex hash', () => {
    for (const bad of [
      '',
      'ab',
      `${'0'.repeat(63)}g`,
      `0x${'0'.repeat(62)}`,
      '0'.repeat(65),
      `${'0'.repeat(7)}-${'0'.repeat(56)}`,
    ])
      expect(() => wordsOfHex(bad), JSON.stringify(bad)).toThrow(RangeError)
  })

  it('sha256Words equals node:crypto for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const out = new Int32Array(10)
        sha256Words(data, out, 1)
        expect(hexOfWords(out, 1)).toBe(createHash('sha256').update(data).digest('hex'))
        expect(out[0]).toBe(0)
        expect(out[9]).toBe(0)
      }),
      { numRuns: 300 },
    )
  })
})

import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { binaryOfHex, hexOfBinary, putBinary, sha256Binary } from '../../../core/integrity/sha256'

describe('binary-string SHA-256', () => {
  it('equals node:crypto for any bytes, including 65-byte nodes and links', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ minLength: 65, maxLength: 65 })),
        (data) => {
          const h = sha256Binary(data)
          expect(h).toHaveLength(32)
          expect(hexOfBinary(h)).toBe(createHash('sha256').update(data).digest('hex'))
          const b = new Uint8Array(34)
          putBinary(b, h, 1)
          expect(Buffer.from(b.subarray(1, 33)).equals(createHash('sha256').update(data).digest())).toBe(true)
          expect(b[0]).toBe(0)
          expect(b[33]).toBe(0)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('converts hex hashes and refuses text that is not one', () => {
    const hex = createHash('sha256').update('x').digest('hex')
    expect(hexOfBinary(binaryOfHex(hex))).toBe(hex)
    expect(hexOfBinary(binaryOfHex(hex.toUpperCase()))).toBe(hex)
    for (const bad of ['', 'ab', `${'0'.repeat(63)}g`, `0x${'0'.repeat(62)}`, '0'.repeat(65)])
      expect(() => binaryOfHex(bad), JSON.stringify(bad)).toThrow(RangeError)
  })
})

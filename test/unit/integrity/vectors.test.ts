import canonicalize from 'canonicalize'
import { describe, expect, it } from 'vitest'
import { canonicalBytes, leafHash, linkHash } from '../../../core/integrity/chain'
import chain from '../../vectors/chain.json'
import jcs from '../../vectors/jcs.json'

const double = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0)

describe('RFC 8785 canonicalization vectors', () => {
  for (const v of jcs.cases) {
    it(v.desc, () => {
      expect(canonicalize(JSON.parse(v.input))).toBe(v.want)
      // What is hashed are the UTF-8 bytes of that text.
      if ('want_utf8_hex' in v)
        expect(Buffer.from(canonicalBytes(JSON.parse(v.input))).toString('hex')).toBe(v.want_utf8_hex)
    })
  }
  for (const v of jcs.numbers) {
    it(v.desc, () => {
      expect(canonicalize(double(v.input))).toBe(v.want)
      expect(canonicalize({ n: [double(v.input)] })).toBe(`{"n":[${v.want}]}`)
    })
  }
  for (const v of jcs.errors) {
    it(v.desc, () => {
      expect(() => canonicalize(double(v.input))).toThrow(v.wantErr)
      expect(() => canonicalBytes({ n: double(v.input) })).toThrow(v.wantErr)
    })
  }
})

describe('leaf and link hash vectors', () => {
  for (const v of chain.chain) {
    it(v.desc, async () => {
      expect(new TextDecoder().decode(canonicalBytes(v.input.event))).toBe(v.want.canonical)
      const leaf = await leafHash(v.input.event)
      expect(leaf).toBe(v.want.leaf)
      expect(await linkHash(v.input.prev_hash, leaf)).toBe(v.want.hash)
    })
  }

  it('a one-bit change anywhere changes the leaf', async () => {
    const base = chain.chain[0]!.input.event
    const flipped = { ...base, id: 'evt-0' }
    expect(await leafHash(flipped)).not.toBe(chain.chain[0]!.want.leaf)
  })
})

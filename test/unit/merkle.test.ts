import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  appendLeaf,
  type Frontier,
  frontierRoot,
  inclusionProof,
  merkleRoot,
  verifyInclusion,
} from '../../core/integrity/merkle'
import vectors from '../vectors/merkle.json'

const leafOf = (hex: string) =>
  createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(hex, 'hex')]))
    .digest('hex')

describe('RFC 6962 Merkle tree', () => {
  for (const v of vectors.roots) {
    it(`root of ${v.desc}`, () => {
      expect(merkleRoot(v.input.map(leafOf))).toBe(v.want)
    })
  }

  it('proves and verifies every leaf of trees of 1..40 leaves, and rejects tampered proofs', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafOf(i.toString(16).padStart(2, '0')))
      const root = merkleRoot(leaves)
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, leaves)
        expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true)
        expect(verifyInclusion(leaves[(m + 1) % n]!, m, n, proof, root)).toBe(n === 1)
        if (proof.length > 0) {
          const bad = [...proof]
          bad[0] = leafOf('ff')
          expect(verifyInclusion(leaves[m]!, m, n, bad, root)).toBe(false)
          expect(verifyInclusion(leaves[m]!, m, n, proof.slice(1), root)).toBe(false)
        }
      }
    }
  })

  it('the frontier gives the same root as the whole tree, at every size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 70 }),
        (datas) => {
          const leaves = datas.map((d) => leafOf(Buffer.from(d).toString('hex')))
          let f: Frontier = []
          leaves.forEach((l, i) => {
            f = appendLeaf(f, l)
            expect(frontierRoot(f)).toBe(merkleRoot(leaves.slice(0, i + 1)))
          })
        },
      ),
    )
  })
})

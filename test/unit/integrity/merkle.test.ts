import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  appendLeaf,
  consistencyProof,
  type Frontier,
  frontierRoot,
  frontierSize,
  inclusionProof,
  MerkleAccumulator,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../core/integrity/merkle'
import vectors from '../../vectors/merkle.json'

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex')
const leafOf = (hex: string) => sha(Buffer.from([0]), Buffer.from(hex, 'hex'))

/** An independent root: hash level by level, a lone last node moves up unchanged (same tree as RFC 6962's split). */
function levelRoot(leaves: string[]): string {
  if (leaves.length === 0) return sha()
  let level = leaves
  while (level.length > 1) {
    const next: string[] = []
    for (let i = 0; i < level.length; i += 2) {
      const r = level[i + 1]
      next.push(
        r === undefined
          ? level[i]!
          : sha(Buffer.from([1]), Buffer.from(level[i]!, 'hex'), Buffer.from(r, 'hex')),
      )
    }
    level = next
  }
  return level[0]!
}

const refLeaves = vectors.leaves.map(leafOf)
const refRoot = (size: number) => vectors.roots[size - 1]!.want
const flipBit = (h: string) => (Number.parseInt(h[0]!, 16) ^ 8).toString(16) + h.slice(1)
const leavesOf = (n: number, salt = '') =>
  Array.from({ length: n }, (_, i) => leafOf(`${salt}${i.toString(16).padStart(4, '0')}`))

describe('RFC 6962 reference vectors', () => {
  it('the accumulator reaches every reference root, leaf by leaf, from bytes and from stored frontiers', () => {
    const acc = new MerkleAccumulator()
    let stored: Frontier = []
    for (const [i, leaf] of refLeaves.entries()) {
      acc.append(Buffer.from(leaf, 'hex'))
      stored = appendLeaf(stored, leaf)
      expect(acc.root(), `size ${i + 1}`).toBe(refRoot(i + 1))
      expect(frontierRoot(stored), `size ${i + 1}`).toBe(refRoot(i + 1))
    }
    expect(() => new MerkleAccumulator([{ size: 1, hash: 'zz' }])).toThrow(RangeError)
    expect(() => acc.append(new Uint8Array(31))).toThrow(RangeError)
  })

  it('refuses proofs and roots that are not hex hashes instead of hashing them', () => {
    const proof = inclusionProof(3, refLeaves, 8)
    expect(verifyInclusion(refLeaves[3]!, 3, 8, proof, refRoot(8))).toBe(true)
    expect(verifyInclusion(refLeaves[3]!, 3, 8, [...proof.slice(0, -1), 'zz'], refRoot(8))).toBe(false)
    expect(verifyInclusion(refLeaves[3]!, 3, 8, proof, `${refRoot(8)}0`)).toBe(false)
    const c = consistencyProof(3, refLeaves, 8)
    expect(verifyConsistency(3, 8, c, refRoot(3), refRoot(8))).toBe(true)
    expect(verifyConsistency(3, 8, [...c.slice(1), 'not hex'], refRoot(3), refRoot(8))).toBe(false)
    expect(() => nodeHash('ab', refRoot(1))).toThrow(RangeError)
  })

  for (const v of vectors.roots) {
    it(v.desc, () => {
      expect(merkleRoot(refLeaves.slice(0, v.input.size))).toBe(v.want)
      expect(levelRoot(refLeaves.slice(0, v.input.size))).toBe(v.want)
    })
  }
  for (const v of vectors.inclusion) {
    it(v.desc, () => {
      const { index, size } = v.input
      expect(inclusionProof(index, refLeaves, size)).toEqual(v.want)
      expect(verifyInclusion(refLeaves[index]!, index, size, v.want, refRoot(size))).toBe(true)
    })
  }
  for (const v of vectors.consistency) {
    it(v.desc, () => {
      const { size1, size2 } = v.input
      expect(consistencyProof(size1, refLeaves, size2)).toEqual(v.want)
      expect(verifyConsistency(size1, size2, v.want, refRoot(size1), refRoot(size2))).toBe(true)
    })
  }
  for (const v of vectors.inclusion_rejects) {
    it(`rejects an inclusion proof: ${v.desc}`, () => {
      const { index, size, proof } = v.input
      const leaf = refLeaves[Math.min(index, 7)]!
      expect(v.wantErr).toBe('inclusion_not_proven')
      expect(verifyInclusion(leaf, index, size, proof, refRoot(8))).toBe(false)
    })
  }
  for (const v of vectors.consistency_rejects) {
    it(`rejects a consistency proof: ${v.desc}`, () => {
      const { size1, size2, proof } = v.input
      const [r1, r2] = [refRoot(Math.min(size1, 8)), refRoot(Math.min(size2, 8))]
      expect(v.wantErr).toBe('consistency_not_proven')
      const swapped = 'swapRoots' in v.input && v.input.swapRoots
      expect(verifyConsistency(size1, size2, proof, swapped ? r2 : r1, swapped ? r1 : r2)).toBe(false)
    })
  }
})

describe('inclusion proofs', () => {
  it('prove every leaf of trees of 1..40 leaves, and any single corruption is rejected', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = leavesOf(n)
      const root = levelRoot(leaves)
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, leaves)
        expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true)
        const bad: [string, number, number, string[], string][] = [
          [leafOf('ff'), m, n, proof, root],
          [leaves[m]!, m, n, proof, leafOf('ee')],
          [leaves[m]!, m, n * 2, proof, root],
          [leaves[m]!, m, n, [...proof, root], root],
          [leaves[m]!, m, n, [root, ...proof], root],
        ]
        if (n > 1) bad.push([leaves[m]!, (m + 1) % n, n, proof, root])
        proof.forEach((_, i) => {
          bad.push([leaves[m]!, m, n, proof.map((h, j) => (j === i ? flipBit(h) : h)), root])
        })
        if (proof.length > 0) bad.push([leaves[m]!, m, n, proof.slice(0, -1), root])
        for (const args of bad) expect(verifyInclusion(...args)).toBe(false)
      }
    }
  })

  it('proves against an older tree size than the leaves held', () => {
    const leaves = leavesOf(20)
    const proof = inclusionProof(6, leaves, 13)
    expect(verifyInclusion(leaves[6]!, 6, 13, proof, merkleRoot(leaves.slice(0, 13)))).toBe(true)
    expect(() => inclusionProof(13, leaves, 13)).toThrow(RangeError)
    expect(() => inclusionProof(0, leaves, 21)).toThrow(RangeError)
  })
})

describe('consistency proofs', () => {
  it('prove every prefix of trees of 1..32 leaves and reject a forked history', () => {
    for (let n = 1; n <= 32; n++) {
      const leaves = leavesOf(n)
      const forked = [...leaves.slice(0, -1), leafOf('beef')]
      const root = levelRoot(leaves)
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(m, leaves)
        const oldRoot = levelRoot(leaves.slice(0, m))
        expect(verifyConsistency(m, n, proof, oldRoot, root)).toBe(true)
        // The new tree rewrote its last leaf: no proof from the old root reaches it.
        if (m >= 1 && m < n) {
          expect(verifyConsistency(m, n, consistencyProof(m, forked), oldRoot, root)).toBe(false)
          expect(verifyConsistency(m, n, proof, oldRoot, levelRoot(forked))).toBe(false)
          proof.forEach((_, i) => {
            const bad = proof.map((h, j) => (j === i ? flipBit(h) : h))
            expect(verifyConsistency(m, n, bad, oldRoot, root)).toBe(false)
          })
        }
      }
    }
  })

  it('rejects a proof between trees whose shared prefix differs', () => {
    const a = leavesOf(10)
    const b = [leafOf('00ff'), ...a.slice(1)]
    const proof = consistencyProof(4, b)
    expect(verifyConsistency(4, 10, proof, merkleRoot(a.slice(0, 4)), merkleRoot(b))).toBe(false)
  })
})

describe('frontier', () => {
  it('gives the same root and size as the whole tree, at every size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 70 }),
        (datas) => {
          const leaves = datas.map((d) => leafOf(Buffer.from(d).toString('hex')))
          let f: Frontier = []
          leaves.forEach((l, i) => {
            f = appendLeaf(f, l)
            expect(frontierRoot(f)).toBe(levelRoot(leaves.slice(0, i + 1)))
            expect(frontierSize(f)).toBe(i + 1)
          })
          // One hash per set bit of the size: what chain_heads stores.
          expect(f.length).toBe(leaves.length.toString(2).replace(/0/g, '').length)
        },
      ),
    )
  })
})

// RFC 6962 / RFC 9162 Merkle tree over a tenant's leaf hashes, in seq order (leaf index = seq-1).
// Invariants: a leaf hash is SHA-256(0x00 || data) (core/integrity/chain.ts); an interior node
// is SHA-256(0x01 || left || right); the tree of n leaves splits at the largest power of two
// smaller than n. The frontier (roots of the perfect subtrees, largest first) is enough to
// append a leaf and to compute the root, so the consumer keeps only O(log n) hashes per tenant.
import { createHash } from 'node:crypto'
import { bytesToHex } from './chain'

const EMPTY_ROOT = createHash('sha256').digest('hex')
const NODE_PREFIX = new Uint8Array([1])

export function nodeHash(left: string, right: string): string {
  return createHash('sha256').update(NODE_PREFIX).update(left, 'hex').update(right, 'hex').digest('hex')
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** MTH(D[n]) over leaf hashes (hex). */
export function merkleRoot(leaves: string[]): string {
  if (leaves.length === 0) return EMPTY_ROOT
  if (leaves.length === 1) return leaves[0]!
  const k = largestPowerOfTwoBelow(leaves.length)
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)))
}

/** PATH(m, D[n]): the audit path of leaf m in the tree of the given leaves. */
export function inclusionProof(m: number, leaves: string[]): string[] {
  const n = leaves.length
  if (m < 0 || m >= n) throw new RangeError(`leaf ${m} is outside a tree of ${n}`)
  if (n === 1) return []
  const k = largestPowerOfTwoBelow(n)
  return m < k
    ? [...inclusionProof(m, leaves.slice(0, k)), merkleRoot(leaves.slice(k))]
    : [...inclusionProof(m - k, leaves.slice(k)), merkleRoot(leaves.slice(0, k))]
}

/** RFC 9162 2.1.3.2: does `proof` place `leaf` at `index` of the tree of `size` with `root`? */
export function verifyInclusion(
  leaf: string,
  index: number,
  size: number,
  proof: string[],
  root: string,
): boolean {
  if (index >= size || index < 0) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && r === root
}

/** Perfect subtrees of the tree so far, largest (leftmost) first. */
export type Frontier = { size: number; hash: string }[]

export function appendLeaf(frontier: Frontier, leaf: string): Frontier {
  const out = [...frontier, { size: 1, hash: leaf }]
  while (out.length >= 2 && out[out.length - 1]!.size === out[out.length - 2]!.size) {
    const right = out.pop()!
    const left = out.pop()!
    out.push({ size: left.size * 2, hash: nodeHash(left.hash, right.hash) })
  }
  return out
}

export function frontierRoot(frontier: Frontier): string {
  if (frontier.length === 0) return EMPTY_ROOT
  let h = frontier[frontier.length - 1]!.hash
  for (let i = frontier.length - 2; i >= 0; i--) h = nodeHash(frontier[i]!.hash, h)
  return h
}

export function frontierSize(frontier: Frontier): number {
  return frontier.reduce((n, f) => n + f.size, 0)
}

export { bytesToHex }

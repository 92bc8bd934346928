// RFC 6962 / RFC 9162 Merkle tree over a tenant's leaf hashes, in seq order (leaf index = seq-1).
// Invariants: a leaf hash is SHA-256(0x00 || data) (core/integrity/chain.ts); an interior node
// is SHA-256(0x01 || left || right); the tree of n leaves splits at the largest power of two
// smaller than n. The frontier (roots of the perfect subtrees, largest first) is enough to
// append a leaf and to compute the root, so the consumer keeps only O(log n) hashes per tenant.
// Sizes and indexes are plain numbers: safe up to 2^53, so no bitwise operators (32-bit) here.
import { binaryOfHex, hexOfBinary, isHexHash, putBinary, sha256Binary } from './sha256'

const EMPTY_ROOT = hexOfBinary(sha256Binary(new Uint8Array(0)))

/** 0x01 || left || right: the one preimage every interior node is hashed from. */
const NODE = Buffer.alloc(65, 1)

/** An interior node of two hashes given as binary strings (core/integrity/sha256.ts). */
function nodeOf(left: string, right: string): string {
  putBinary(NODE, left, 1)
  putBinary(NODE, right, 33)
  return sha256Binary(NODE)
}

/** An interior node of two hex hashes. */
export function nodeHash(left: string, right: string): string {
  return hexOfBinary(nodeOf(binaryOfHex(left), binaryOfHex(right)))
}

export function largestPowerOfTwoBelow(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

export function isPowerOfTwo(n: number): boolean {
  let k = 1
  while (k < n) k *= 2
  return k === n
}
const half = (n: number) => Math.floor(n / 2)
const odd = (n: number) => n % 2 === 1

/** MTH(D[start:end]) over leaf hashes (hex). */
function rangeRoot(leaves: readonly string[], start: number, end: number): string {
  const n = end - start
  if (n === 0) return EMPTY_ROOT
  if (n === 1) return leaves[start]!
  const k = largestPowerOfTwoBelow(n)
  return nodeHash(rangeRoot(leaves, start, start + k), rangeRoot(leaves, start + k, end))
}

/** MTH(D[n]) over leaf hashes (hex). */
export function merkleRoot(leaves: readonly string[]): string {
  return rangeRoot(leaves, 0, leaves.length)
}

function checkSize(leaves: readonly string[], size: number) {
  if (!Number.isSafeInteger(size) || size < 0 || size > leaves.length)
    throw new RangeError(`tree size ${size} is outside 0..${leaves.length}`)
}

/** MTH(D[start:end]) from wherever the tree is kept (an array of leaves, stored subtree roots). */
export type RangeRoot = (start: number, end: number) => string

/** PATH(m, D[size]) (RFC 9162 2.1.3.1): the audit path of leaf m in the tree of the first `size` leaves. */
export function inclusionProof(m: number, leaves: readonly string[], size = leaves.length): string[] {
  checkSize(leaves, size)
  return inclusionPath(m, size, (a, b) => rangeRoot(leaves, a, b))
}

/** PATH(m, D[size]) with range roots from `rr`. */
export function inclusionPath(m: number, size: number, rr: RangeRoot): string[] {
  if (!Number.isSafeInteger(m) || m < 0 || m >= size)
    throw new RangeError(`leaf ${m} is outside a tree of ${size}`)
  const path: string[] = []
  let start = 0
  let end = size
  // Walk down from the root; sibling roots are collected top-down, the proof lists them bottom-up.
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start)
    if (m < start + k) {
      path.push(rr(start + k, end))
      end = start + k
    } else {
      path.push(rr(start, start + k))
      start += k
    }
  }
  return path.reverse()
}

/** PROOF(m, D[size]) (RFC 9162 2.1.4.1): shows the tree of m leaves is a prefix of the tree of `size`. */
export function consistencyProof(m: number, leaves: readonly string[], size = leaves.length): string[] {
  checkSize(leaves, size)
  return consistencyPath(m, size, (a, b) => rangeRoot(leaves, a, b))
}

/** PROOF(m, D[size]) with range roots from `rr`. */
export function consistencyPath(m: number, size: number, rr: RangeRoot): string[] {
  if (!Number.isSafeInteger(m) || m < 0 || m > size)
    throw new RangeError(`old size ${m} is outside 0..${size}`)
  if (m === 0 || m === size) return []
  const proof: string[] = []
  let start = 0
  let end = size
  let known = true // SUBPROOF's b: the verifier already holds MTH(D[start:start+m]).
  let mm = m
  for (;;) {
    const n = end - start
    if (mm === n) {
      if (!known) proof.push(rr(start, end))
      break
    }
    const k = largestPowerOfTwoBelow(n)
    if (mm <= k) {
      proof.push(rr(start + k, end))
      end = start + k
    } else {
      proof.push(rr(start, start + k))
      start += k
      mm -= k
      known = false
    }
  }
  return proof.reverse()
}

/** RFC 9162 2.1.3.2: does `proof` place `leaf` at `index` of the tree of `size` with `root`? */
export function verifyInclusion(
  leaf: string,
  index: number,
  size: number,
  proof: readonly string[],
  root: string,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false
  if (!isHexHash(leaf) || !isHexHash(root) || !proof.every(isHexHash)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && r === root
}

/** RFC 9162 2.1.4.2: is the tree of size1 with root1 a prefix of the tree of size2 with root2? */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly string[],
  root1: string,
  root2: string,
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2) return false
  if (!isHexHash(root1) || !isHexHash(root2) || !proof.every(isHexHash)) return false
  if (size1 === size2) return proof.length === 0 && root1 === root2
  if (size1 === 0) return proof.length === 0
  if (proof.length === 0) return false
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof]
  let fn = size1 - 1
  let sn = size2 - 1
  while (odd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (!odd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && fr === root1 && sr === root2
}

/** Perfect subtrees of the tree so far, largest (leftmost) first. */
export type Frontier = { size: number; hash: string }[]

/** Called for every interior node completed: the perfect subtree of `size` leaves from `start`. */
export type OnNode = (start: number, size: number, hash: string) => void

/**
 * The frontier, as the one running accumulator the consumer and the verifier append to: hashes
 * kept as binary strings and combined in the one preallocated node preimage, so a reader appending
 * millions of leaves makes no buffer or hex per leaf; `frontier()` gives the stored (hex) form.
 */
export class MerkleAccumulator {
  private readonly hashes: string[] = []
  private readonly sizes: number[] = []
  private total = 0

  constructor(frontier: Frontier = []) {
    for (const f of frontier) {
      this.hashes.push(binaryOfHex(f.hash))
      this.sizes.push(f.size)
      this.total += f.size
    }
  }

  /** Appends a leaf hash (32 bytes). */
  append(leaf: Uint8Array, onNode?: OnNode): void {
    if (leaf.length !== 32) throw new RangeError('a leaf hash is 32 bytes')
    this.appendBinary(Buffer.from(leaf.buffer, leaf.byteOffset, 32).toString('latin1'), onNode)
  }

  /** Appends a leaf hash given as a binary string (sha256Binary). */
  appendBinary(leaf: string, onNode?: OnNode): void {
    this.total++
    let h = leaf
    let size = 1
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === size) {
      h = nodeOf(this.hashes.pop()!, h)
      size += this.sizes.pop()!
      onNode?.(this.total - size, size, hexOfBinary(h))
    }
    this.hashes.push(h)
    this.sizes.push(size)
  }

  root(): string {
    const n = this.hashes.length
    if (n === 0) return EMPTY_ROOT
    let h = this.hashes[n - 1]!
    for (let i = n - 2; i >= 0; i--) h = nodeOf(this.hashes[i]!, h)
    return hexOfBinary(h)
  }

  frontier(): Frontier {
    return this.hashes.map((h, i) => ({ size: this.sizes[i]!, hash: hexOfBinary(h) }))
  }
}

export function appendLeaf(frontier: Frontier, leaf: string, onNode?: OnNode): Frontier {
  const acc = new MerkleAccumulator(frontier)
  acc.append(Buffer.from(leaf, 'hex'), onNode)
  return acc.frontier()
}

export function frontierRoot(frontier: Frontier): string {
  return new MerkleAccumulator(frontier).root()
}

export function frontierSize(frontier: Frontier): number {
  return frontier.reduce((n, f) => n + f.size, 0)
}

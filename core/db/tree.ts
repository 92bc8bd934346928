// A tenant's Merkle tree as D1 keeps it, for proofs that do not read every leaf.
// chain_leaves rows hold the leaf hashes of each committed run, and (`nodes`) the root of every
// aligned perfect subtree of at least STORED_SUBTREE leaves whose last leaf is in the row. Every
// range an RFC 9162 proof needs splits into such subtrees plus short runs of leaves (at most a
// subtree's worth around the proven leaf and at the tree's right edge), so a proof reads
// O(log n) subtree roots and O(STORED_SUBTREE) leaves however long the chain. Rows written before
// subtree roots were kept have none: their ranges are read as leaves, as before.
import { and, desc, eq, sql } from 'drizzle-orm'
import {
  type Frontier,
  isPowerOfTwo,
  largestPowerOfTwoBelow,
  MerkleAccumulator,
  nodeHash,
  type RangeRoot,
} from '../integrity/merkle'
import type { Db } from './client'
import { chainLeaves } from './schema'

export const STORED_SUBTREE = 256
/** Leaves per chain_leaves row at most: 5,000 hashes (320 KB of hex), well under D1's row limit. */
export const LEAVES_PER_ROW = 5000

export type LeafRow = { firstSeq: number; leaves: string; nodes: string | null }

/**
 * Appends a committed run's leaves (hex, seqs from `firstSeq`) to the tree after `prev`: the new
 * frontier, and the chain_leaves rows that hold them, each with the subtree roots of at least
 * STORED_SUBTREE leaves that its leaves complete.
 */
export function appendToStoredTree(
  prev: Frontier | undefined,
  firstSeq: number,
  leaves: readonly string[],
): { frontier: Frontier; rows: LeafRow[] } {
  const tree = new MerkleAccumulator(prev)
  const rowNodes: Record<string, string>[] = []
  for (const [i, leaf] of leaves.entries()) {
    tree.append(Buffer.from(leaf, 'hex'), (start, size, hash) => {
      if (size < STORED_SUBTREE) return
      const row = Math.floor(i / LEAVES_PER_ROW)
      rowNodes[row] ??= {}
      rowNodes[row][`${start}:${size}`] = hash
    })
  }
  const rows: LeafRow[] = []
  for (let i = 0; i < leaves.length; i += LEAVES_PER_ROW) {
    const nodes = rowNodes[i / LEAVES_PER_ROW]
    rows.push({
      firstSeq: firstSeq + i,
      leaves: leaves.slice(i, i + LEAVES_PER_ROW).join(''),
      nodes: nodes ? JSON.stringify(nodes) : null,
    })
  }
  return { frontier: tree.frontier(), rows }
}

type Needs = { nodes: Map<string, { start: number; size: number }>; leaves: [number, number][] }

function plan(start: number, end: number, needs: Needs) {
  const n = end - start
  if (n <= 0) return
  if (n >= STORED_SUBTREE && isPowerOfTwo(n) && start % n === 0) {
    needs.nodes.set(`${start}:${n}`, { start, size: n })
    return
  }
  if (n <= STORED_SUBTREE) {
    needs.leaves.push([start, end])
    return
  }
  const k = largestPowerOfTwoBelow(n)
  plan(start, start + k, needs)
  plan(start + k, end, needs)
}

/** Merges overlapping or touching [start, end) ranges. */
function merged(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = []
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1]
    if (last && a <= last[1]) last[1] = Math.max(last[1], b)
    else out.push([a, b])
  }
  return out
}

/**
 * Range roots of a tenant's tree for `compute`, which is run twice: once to learn which ranges
 * it asks for, then with the roots read from D1. Returns what the second run returns. Throws if
 * the tree does not hold a leaf the computation needs (the caller checks sizes first).
 */
export async function withStoredTree<T>(db: Db, tenant: string, compute: (rr: RangeRoot) => T): Promise<T> {
  const needs: Needs = { nodes: new Map(), leaves: [] }
  compute((a, b) => {
    plan(a, b, needs)
    return ''
  })
  const nodes = new Map<string, string>()
  const wanted = [...needs.nodes.values()]
  if (wanted.length > 0) {
    // The row holding a subtree's last leaf (seq start + size) is the last one starting at or before it.
    const [first, ...rest] = wanted.map((w) =>
      db
        .select({ nodes: chainLeaves.nodes })
        .from(chainLeaves)
        .where(and(eq(chainLeaves.tenant, tenant), sql`${chainLeaves.firstSeq} <= ${w.start + w.size}`))
        .orderBy(desc(chainLeaves.firstSeq))
        .limit(1),
    )
    const rows = await db.batch([first!, ...rest])
    for (const [i, w] of wanted.entries()) {
      const row = rows[i]?.[0]
      const hash = row?.nodes
        ? (JSON.parse(row.nodes) as Record<string, string>)[`${w.start}:${w.size}`]
        : undefined
      if (hash) nodes.set(`${w.start}:${w.size}`, hash)
      else needs.leaves.push([w.start, w.start + w.size])
    }
  }
  const leaves = new Map<number, string>()
  for (const [a, b] of merged(needs.leaves)) {
    // Leaf index i is seq i + 1; a row holding seq a + 1 starts no earlier than a + 2 - LEAVES_PER_ROW.
    const rows = await db
      .select({ firstSeq: chainLeaves.firstSeq, leaves: chainLeaves.leaves })
      .from(chainLeaves)
      .where(
        and(
          eq(chainLeaves.tenant, tenant),
          sql`${chainLeaves.firstSeq} BETWEEN ${a + 2 - LEAVES_PER_ROW} AND ${b}`,
        ),
      )
      .orderBy(chainLeaves.firstSeq)
      .all()
    for (const r of rows) {
      const first = r.firstSeq - 1
      for (let i = Math.max(a, first); i < b && (i - first) * 64 < r.leaves.length; i++)
        leaves.set(i, r.leaves.slice((i - first) * 64, (i - first) * 64 + 64))
    }
  }
  const rr: RangeRoot = (a, b) => {
    const n = b - a
    if (n === 1) {
      const leaf = leaves.get(a)
      if (leaf === undefined) throw new Error(`the stored tree of ${tenant} has no leaf ${a}`)
      return leaf
    }
    const node = nodes.get(`${a}:${n}`)
    if (node) return node
    const k = largestPowerOfTwoBelow(n)
    return nodeHash(rr(a, a + k), rr(a + k, b))
  }
  return compute(rr)
}

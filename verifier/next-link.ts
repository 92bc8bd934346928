// Taking the next link of a tenant's chain: on the byte path (a line the consumer wrote, checked
// without parsing: verifier/fast-line.ts), or the slow way (parsed, schema-checked, re-hashed),
// which accepts the line or names the break. The byte path takes a line only when it is the
// expected seq, inside its file's range and covered by a checkpoint; anything else goes slow.

import { utcDate } from '../core/archive/layout'
import { hashedContent, leafHashSync, linkHashSync } from '../core/integrity/chain'
import type { MerkleAccumulator } from '../core/integrity/merkle'
import type { Tombstone } from '../core/retention/tombstone'
import { type Break, ChainBreak } from './breaks'
import { acceptChainedLine, type ChainState } from './fast-line'
import { advanceSync, type Cursor, parseLine } from './file-cursor'

/** The running state of a tenant's chain as the verifier takes its lines. */
export type Run = {
  tenant: string
  /** The seq the chain expects next. */
  expected: number
  /** A run on the byte path ends once the chain reaches this seq (a checkpoint to settle, a file to open). */
  stop: number
  /** The newest checkpoint's seq: lines past it are left to the slow path. */
  attested: number
  chain: ChainState
  tree: MerkleAccumulator
  /** The tenant's tail of a chained line (tenantSuffix). */
  suffix: Buffer
  /** Tombstones taken so far, per retention class. */
  expired: Record<string, number>
}

/**
 * Takes the cursor's line the slow way as the next link (parsed, schema-checked, re-hashed),
 * or throws the break it is; on success the chain and the tree move past it.
 */
export function checkParsedLine(c: Cursor, run: Run): void {
  const { tenant, chain, expected } = run
  const cur = c.current!
  const prevHash = chain.prevHash
  if (cur.tombstone) {
    checkTombstone(c, run, cur.tombstone)
    return
  }
  const e = cur.event ?? parseLine(c, tenant, cur.bytes)
  const at = { tenant, file: c.file.rel, line: cur.line, seq: e.seq }
  const fail = (kind: Break['kind'], want: string | number, found: string | number, message: string) =>
    new ChainBreak({ ...at, kind, expected: want, found, message })
  if (e.tenant !== tenant) throw fail('wrong_tenant', tenant, e.tenant, 'event of another tenant')
  if (utcDate(e.occurred_at) !== c.file.dt)
    throw fail('wrong_partition', utcDate(e.occurred_at), c.file.dt, 'event in the wrong dt partition')
  if (e.seq < c.file.first || e.seq > c.file.last)
    throw fail('outside_file_range', `${c.file.first}-${c.file.last}`, e.seq, 'seq outside its file name')
  if (e.seq !== expected) throw fail('seq_mismatch', expected, e.seq, `expected seq ${expected}`)
  if (e.prev_hash !== prevHash)
    throw fail('prev_hash_mismatch', prevHash, e.prev_hash, 'prev_hash does not link to the previous event')
  const leaf = leafHashSync(hashedContent(e))
  const hash = linkHashSync(prevHash, leaf)
  if (hash !== e.hash) throw fail('hash_mismatch', hash, e.hash, 'event content does not match its hash')
  run.tree.append(Buffer.from(leaf, 'hex'))
  chain.prevHash = hash
  run.expected++
}

/**
 * Takes a tombstone as the next link: it must sit in its day's partition and its file's range, be
 * the expected seq, and link its leaf to the previous hash; its leaf joins the tree like the
 * event's did. Anything else is the break it names.
 */
function checkTombstone(c: Cursor, run: Run, t: Tombstone): void {
  const { tenant, chain, expected } = run
  const prevHash = chain.prevHash
  const at = { tenant, file: c.file.rel, line: c.current!.line, seq: t.seq }
  const fail = (kind: Break['kind'], want: string | number, found: string | number, message: string) =>
    new ChainBreak({ ...at, kind, expected: want, found, message })
  if (t.dt !== c.file.dt)
    throw fail('wrong_partition', t.dt, c.file.dt, 'tombstone in the wrong dt partition')
  if (t.seq < c.file.first || t.seq > c.file.last)
    throw fail('outside_file_range', `${c.file.first}-${c.file.last}`, t.seq, 'seq outside its file name')
  if (t.seq !== expected) throw fail('seq_mismatch', expected, t.seq, `expected seq ${expected}`)
  if (t.prev_hash !== prevHash)
    throw fail('prev_hash_mismatch', prevHash, t.prev_hash, 'prev_hash does not link to the previous event')
  const hash = linkHashSync(prevHash, t.leaf)
  if (hash !== t.hash) throw fail('hash_mismatch', hash, t.hash, 'tombstone leaf does not link to its hash')
  run.tree.append(Buffer.from(t.leaf, 'hex'))
  chain.prevHash = hash
  run.expected++
  run.expired[t.retention] = (run.expired[t.retention] ?? 0) + 1
}

/**
 * Takes the cursor's current line on the byte path when it is the expected seq, inside its file's
 * range, covered by a checkpoint and accepted from its bytes; false leaves it to the slow path.
 */
export function takeOnBytes(c: Cursor, run: Run): boolean {
  const cur = c.current
  const f = cur?.fast
  if (
    f === undefined ||
    c.dt === undefined ||
    f.seq !== run.expected ||
    f.seq > run.attested ||
    f.seq < c.file.first ||
    f.seq > c.file.last ||
    !acceptChainedLine(cur!.bytes, f, c.dt, run.chain)
  )
    return false
  run.tree.appendBinary(run.chain.leaf)
  run.expected++
  return true
}

/**
 * Takes the cursor's lines on the byte path one after another, in one synchronous loop. Returns
 * 'left' when the cursor holds a line the byte path left for the slow path (or the file ended),
 * 'taken' when it stopped just after taking a line, the cursor still on it: more must be
 * decompressed, or the chain reached `run.stop`.
 */
export function takeRun(c: Cursor, run: Run): 'left' | 'taken' {
  while (takeOnBytes(c, run)) {
    if (run.expected >= run.stop || !advanceSync(c, run.tenant, run.suffix)) return 'taken'
  }
  return 'left'
}

// Tombstones: what stays of an event once its retention class period has ended. Invariants:
// - A tombstone keeps exactly what the chain, the Merkle tree and proofs need: its seq, its class,
//   its leaf hash (the Merkle leaf), its chain hash and the previous one, its day; nothing of the
//   event's content. It continues the chain: hash = SHA-256(0x02 || prev_hash || leaf)
//   (core/integrity/chain.ts), which the verifier checks like any link.
// - Its archive line is the JSON object below, members in this order; tombstones of one expired
//   object sit in one object of the same partition (core/archive/layout.ts, tombstoneObjectKey).
import { z } from 'zod'
import { linkHashSync } from '../integrity/chain'
import { hexHash } from '../integrity/sha256'
import { checkStoredLine } from '../integrity/verified-read'
import { classNameSchema, storedClassOf } from './classes'

export const tombstoneSchema = z
  .object({
    hash: hexHash,
    prev_hash: hexHash,
    seq: z.number().int().positive(),
    retention: classNameSchema,
    leaf: hexHash,
    dt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    expired_at: z.iso.datetime({ offset: false, precision: 3 }),
  })
  .strict()
export type Tombstone = z.infer<typeof tombstoneSchema>

/** The archive line of a tombstone (fixed member order). */
export function tombstoneLine(t: Tombstone): string {
  return JSON.stringify({
    hash: t.hash,
    prev_hash: t.prev_hash,
    seq: t.seq,
    retention: t.retention,
    leaf: t.leaf,
    dt: t.dt,
    expired_at: t.expired_at,
  })
}

/** A parsed tombstone line, or null when the line is not one (an event line, say). */
export function parseTombstoneLine(line: string): Tombstone | null {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return null
  }
  const r = tombstoneSchema.safeParse(raw)
  return r.success ? r.data : null
}

/** True when the tombstone links its leaf to its previous hash. */
export function tombstoneLinks(t: Pick<Tombstone, 'hash' | 'prev_hash' | 'leaf'>): boolean {
  return linkHashSync(t.prev_hash, t.leaf) === t.hash
}

/**
 * The tombstone of a stored event's line: its leaf re-computed from the line (a line that fails its
 * check is never turned into a tombstone: that would launder a tampered event).
 */
export function tombstoneOfLine(line: string, dt: string, expiredAt: string): Tombstone {
  const check = checkStoredLine(line)
  if (!check.ok) throw new Error(`an archived line fails its check and is not expired: ${check.reason}`)
  const e = JSON.parse(line) as { seq: number; prev_hash: string; retention?: string }
  return {
    hash: check.hash,
    prev_hash: e.prev_hash,
    seq: e.seq,
    retention: storedClassOf(e),
    leaf: check.leaf,
    dt,
    expired_at: expiredAt,
  }
}

/** The first day (UTC, YYYY-MM-DD) on which events of day `dt` in a class of `days` days have expired. */
export function expiryDay(dt: string, days: number): string {
  return new Date(Date.parse(`${dt}T00:00:00.000Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

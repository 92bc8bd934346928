// Checks a receipt offline: the document GET /v1/events/:id/proof returned, with nothing but the
// published public keys. Invariants, all of which must hold for the event to be proven:
// - the record is a stored event; its leaf is SHA-256(0x00 || JCS(record without hash, prev_hash))
//   and its hash is the chain link SHA-256(0x02 || prev_hash || leaf) (core/integrity/chain.ts);
// - the checkpoint is signed by a published key valid at its time, of the record's tenant;
// - the proof places that leaf at index seq - 1 of the tree of checkpoint.seq leaves, and folds
//   up to the checkpoint's root (RFC 9162 2.1.3.2); at the checkpoint's own seq the record's hash
//   is the checkpoint's chain hash.
// The first that fails is named, with what was expected and what the document holds.
// checkConsistency does the same for two checkpoints a client holds and the answer of
// GET /v1/integrity/consistency between their sizes: both signed, of one tenant, the answer's
// sizes and roots theirs, and the RFC 9162 2.1.4.2 proof showing the older tree is a prefix of
// the newer (no event before the older checkpoint was changed, dropped or reordered since).
import { z } from 'zod'
import { issuesText } from '../core/errors'
import { type StoredEvent, storedEventSchema } from '../core/ingest/stored-event'
import { hashedContent, leafHashSync, linkHashSync } from '../core/integrity/chain'
import {
  checkCheckpoint,
  type PublicKeyDocument,
  type SignedCheckpoint,
  signedCheckpointSchema,
} from '../core/integrity/checkpoint'
import { verifyConsistency, verifyInclusion } from '../core/integrity/merkle'
import { hexHash } from '../core/integrity/sha256'

export const proofDocumentSchema = z.object({
  record: z.record(z.string(), z.unknown()),
  checkpoint: z.record(z.string(), z.unknown()),
  inclusion_proof: z
    .object({
      leaf_index: z.number().int().nonnegative(),
      tree_size: z.number().int().positive(),
      hashes: z.array(hexHash).max(64),
    })
    .strict(),
  event: z.object({ leaf_hash: hexHash.optional() }).passthrough().optional(),
})

export type ProofProblemKind =
  | 'malformed'
  | 'leaf_mismatch'
  | 'hash_mismatch'
  | 'checkpoint_invalid'
  | 'wrong_tenant'
  | 'wrong_position'
  | 'checkpoint_mismatch'
  | 'not_included'
  | 'wrong_size'
  | 'wrong_root'
  | 'inconsistent'

export type ProofProblem = { kind: ProofProblemKind; message: string; expected?: string; found?: string }

export const consistencyAnswerSchema = z.object({
  from_size: z.number().int().positive(),
  to_size: z.number().int().positive(),
  from_root: hexHash,
  to_root: hexHash,
  proof: z.array(hexHash).max(128),
})

export type ProofResult =
  | {
      ok: true
      id: string
      tenant: string
      seq: number
      leaf: string
      checkpoint: { seq: number; time: string; key_id: string }
    }
  | { ok: false; problem: ProofProblem }

const fail = (
  kind: ProofProblemKind,
  message: string,
  expected?: string | number,
  found?: string | number,
) => ({
  ok: false as const,
  problem: {
    kind,
    message,
    ...(expected === undefined ? {} : { expected: String(expected) }),
    ...(found === undefined ? {} : { found: String(found) }),
  },
})

/** Checks a proof document (GET /v1/events/:id/proof) against the published keys. */
export async function checkProof(doc: unknown, keys: PublicKeyDocument): Promise<ProofResult> {
  const parsed = proofDocumentSchema.safeParse(doc)
  if (!parsed.success) return fail('malformed', `not a proof document: ${issuesText(parsed.error.issues, 1)}`)
  const { inclusion_proof: proof, event } = parsed.data
  const record = storedEventSchema.safeParse(parsed.data.record)
  if (!record.success)
    return fail('malformed', `record is not a stored event: ${issuesText(record.error.issues, 1)}`)
  const checkpoint = signedCheckpointSchema.safeParse(parsed.data.checkpoint)
  if (!checkpoint.success)
    return fail('malformed', `checkpoint is not one: ${issuesText(checkpoint.error.issues, 1)}`)
  // The hashes cover the record as it was sent, not the schema's normalised copy.
  const r = parsed.data.record as StoredEvent
  const cp = checkpoint.data

  const leaf = leafHashSync(hashedContent(r))
  if (event?.leaf_hash !== undefined && event.leaf_hash !== leaf)
    return fail('leaf_mismatch', 'the record does not hash to the stated leaf', leaf, event.leaf_hash)
  const link = linkHashSync(r.prev_hash, leaf)
  if (link !== r.hash) return fail('hash_mismatch', 'the record does not match its chain hash', link, r.hash)
  const problem = await checkCheckpoint(cp, keys)
  if (problem) return fail('checkpoint_invalid', `the checkpoint does not verify: ${problem}`)
  if (cp.tenant !== r.tenant)
    return fail('wrong_tenant', 'the checkpoint is of another tenant', r.tenant, cp.tenant)
  if (r.seq > cp.seq)
    return fail('wrong_position', 'the checkpoint does not cover the record', `seq >= ${r.seq}`, cp.seq)
  if (proof.leaf_index !== r.seq - 1)
    return fail(
      'wrong_position',
      'the proof is for another position than seq - 1',
      r.seq - 1,
      proof.leaf_index,
    )
  if (proof.tree_size !== cp.seq)
    return fail(
      'wrong_position',
      "the proof is for another tree than the checkpoint's",
      cp.seq,
      proof.tree_size,
    )
  if (r.seq === cp.seq && r.hash !== cp.hash)
    return fail(
      'checkpoint_mismatch',
      "the checkpoint's chain hash at this seq is not the record's",
      r.hash,
      cp.hash,
    )
  if (!verifyInclusion(leaf, proof.leaf_index, proof.tree_size, proof.hashes, cp.root))
    return fail('not_included', "the audit path does not lead to the checkpoint's root", cp.root)
  return {
    ok: true,
    id: r.id,
    tenant: r.tenant,
    seq: r.seq,
    leaf,
    checkpoint: { seq: cp.seq, time: cp.time, key_id: cp.key_id },
  }
}

export type ConsistencyResult =
  | { ok: true; tenant: string; from: { seq: number; time: string }; to: { seq: number; time: string } }
  | { ok: false; problem: ProofProblem }

/**
 * Checks that the newer of two signed checkpoints extends the older, with the answer of
 * GET /v1/integrity/consistency?from=<older seq>&to=<newer seq>.
 */
export async function checkConsistency(
  answer: unknown,
  older: unknown,
  newer: unknown,
  keys: PublicKeyDocument,
): Promise<ConsistencyResult> {
  const a = consistencyAnswerSchema.safeParse(answer)
  if (!a.success) return fail('malformed', `not a consistency answer: ${issuesText(a.error.issues, 1)}`)
  const checkpoints = []
  for (const [name, cp] of [
    ['older', older],
    ['newer', newer],
  ] as const) {
    const problem = await checkCheckpoint(cp, keys)
    if (problem) return fail('checkpoint_invalid', `the ${name} checkpoint does not verify: ${problem}`)
    checkpoints.push(signedCheckpointSchema.parse(cp))
  }
  const [from, to] = checkpoints as [SignedCheckpoint, SignedCheckpoint]
  if (from.tenant !== to.tenant)
    return fail('wrong_tenant', 'the checkpoints are of two tenants', from.tenant, to.tenant)
  if (from.seq > to.seq)
    return fail('wrong_size', 'the older checkpoint is the longer one', `<= ${to.seq}`, from.seq)
  const { from_size, to_size, from_root, to_root, proof } = a.data
  if (from_size !== from.seq)
    return fail(
      'wrong_size',
      "the answer starts at another size than the older checkpoint's",
      from.seq,
      from_size,
    )
  if (to_size !== to.seq)
    return fail('wrong_size', "the answer ends at another size than the newer checkpoint's", to.seq, to_size)
  if (from_root !== from.root)
    return fail('wrong_root', "the answer's older root is not the older checkpoint's", from.root, from_root)
  if (to_root !== to.root)
    return fail('wrong_root', "the answer's newer root is not the newer checkpoint's", to.root, to_root)
  if (from.seq === to.seq && from.hash !== to.hash)
    return fail('inconsistent', 'two checkpoints of one size sign different chains', from.hash, to.hash)
  if (!verifyConsistency(from.seq, to.seq, proof, from.root, to.root))
    return fail('inconsistent', 'the newer tree does not extend the older: history was changed in between')
  return {
    ok: true,
    tenant: from.tenant,
    from: { seq: from.seq, time: from.time },
    to: { seq: to.seq, time: to.time },
  }
}

// Proofs served to clients, built from the stored tree (core/db/tree.ts) and checked before they
// leave: an inclusion proof is verified against the checkpoint it names, a consistency proof
// against the two roots it joins, so a stored tree that does not prove what it claims is never
// handed out as a receipt.

import { checkpointCovering, listCheckpoints } from '../db/checkpoints'
import type { Db } from '../db/client'
import { getChainHead } from '../db/events'
import { withStoredTree } from '../db/tree'
import { type Env, settings } from '../env'
import { DomainError, integrityViolation, notFound } from '../errors'
import { readEventById } from '../search/event-by-id'
import { issueCheckpoint } from './issue-checkpoint'
import { consistencyPath, inclusionPath, verifyConsistency, verifyInclusion } from './merkle'

/**
 * The receipt of one stored event, at any age: its leaf, the exact record (D1's row or, once
 * retention released its day, the archived line; re-hashed either way), a checkpoint and the audit
 * path from the stored tree, which is never deleted.
 */
export async function inclusionProofOf(env: Env, db: Db, tenant: string, id: string) {
  const { event, leaf } = await readEventById(db, env.ARCHIVE, tenant, id)
  const checkpoint =
    (await checkpointCovering(db, tenant, event.seq)) ?? (await issueOnDemand(env, db, tenant))
  if (!checkpoint || checkpoint.seq < event.seq) throw new Error(`no checkpoint covers seq ${event.seq}`)
  const m = event.seq - 1
  const { hashes, stored } = await withStoredTree(db, tenant, (rr) => ({
    hashes: inclusionPath(m, checkpoint.seq, rr),
    stored: rr(m, m + 1),
  }))
  if (stored !== leaf) {
    throw integrityViolation(
      `The stored record of event "${id}" is not the leaf the chain holds at seq ${event.seq}.`,
      {
        event_id: id,
        seq: event.seq,
        expected: stored,
        computed: leaf,
      },
    )
  }
  if (!verifyInclusion(leaf, m, checkpoint.seq, hashes, checkpoint.root)) {
    throw new Error(`stored tree of ${tenant} does not prove seq ${event.seq}`)
  }
  return {
    event: { id, seq: event.seq, leaf_hash: leaf, hash: event.hash, prev_hash: event.prev_hash },
    // The exact stored record (as archived), which is what the leaf hash covers.
    record: event,
    checkpoint,
    inclusion_proof: { leaf_index: m, tree_size: checkpoint.seq, hashes },
  }
}

/**
 * A checkpoint for a proof whose event none covers yet: at most one per tenant per
 * PROOF_CHECKPOINT_INTERVAL_SECONDS (the cron issues one every tick anyway), so proof requests
 * cannot make the service sign without bound. Within the interval the answer is 503 with the
 * seconds until the next one may be issued.
 */
async function issueOnDemand(env: Env, db: Db, tenant: string) {
  const [newest] = await listCheckpoints(db, tenant, 1)
  const age = newest ? Date.now() - Date.parse(newest.time) : Number.POSITIVE_INFINITY
  const interval = settings(env).proofCheckpointIntervalSeconds * 1000
  if (age < interval) {
    const wait = Math.max(1, Math.ceil((interval - age) / 1000))
    throw new DomainError(
      'unavailable',
      `No signed checkpoint covers this event yet; the next one can be issued in ${wait} s.`,
      undefined,
      { retry_after: wait },
    )
  }
  return issueCheckpoint(env, tenant)
}

/** RFC 9162 consistency proof between the tenant's trees of `from` and `to` leaves. */
export async function consistencyProofOf(db: Db, tenant: string, from: number, to: number) {
  const length = (await getChainHead(db, tenant))?.seq ?? 0
  if (length < to) throw notFound(`The chain of this tenant has ${length} events, fewer than ${to}.`)
  const { proof, fromRoot, toRoot } = await withStoredTree(db, tenant, (rr) => ({
    proof: consistencyPath(from, to, rr),
    fromRoot: rr(0, from),
    toRoot: rr(0, to),
  }))
  if (!verifyConsistency(from, to, proof, fromRoot, toRoot))
    throw new Error(`stored tree of ${tenant} is inconsistent`)
  return { from_size: from, to_size: to, from_root: fromRoot, to_root: toRoot, proof }
}

// Proofs served to clients, built from the stored tree (core/db/tree.ts) and checked before they
// leave: an inclusion proof is verified against the checkpoint it names, a consistency proof
// against the two roots it joins, so a stored tree that does not prove what it claims is never
// handed out as a receipt.

import { checkpointCovering } from '../db/checkpoints'
import type { Db } from '../db/client'
import { getChainHead, getEventBody } from '../db/events'
import { withStoredTree } from '../db/tree'
import type { Env } from '../env'
import { notFound } from '../errors'
import type { StoredEvent } from '../ingest/stored-event'
import { hashedContent, leafHash } from './chain'
import { issueCheckpoint } from './issue-checkpoint'
import { consistencyPath, inclusionPath, verifyConsistency, verifyInclusion } from './merkle'

/** The receipt of one stored event: its leaf, the exact record, a checkpoint and the audit path. */
export async function inclusionProofOf(env: Env, db: Db, tenant: string, id: string) {
  const body = await getEventBody(db, tenant, id)
  if (!body) throw notFound(`No event "${id}".`)
  const event = JSON.parse(body) as StoredEvent
  const leaf = await leafHash(hashedContent(event))
  const checkpoint = (await checkpointCovering(db, tenant, event.seq)) ?? (await issueCheckpoint(env, tenant))
  if (!checkpoint || checkpoint.seq < event.seq) throw new Error(`no checkpoint covers seq ${event.seq}`)
  const m = event.seq - 1
  const { hashes, stored } = await withStoredTree(db, tenant, (rr) => ({
    hashes: inclusionPath(m, checkpoint.seq, rr),
    stored: rr(m, m + 1),
  }))
  if (stored !== leaf || !verifyInclusion(leaf, m, checkpoint.seq, hashes, checkpoint.root)) {
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

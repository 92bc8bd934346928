// Checkpoint issuance: signs the tenant's chain head (seq, hash, Merkle root) with the active
// key, and publishes it both in R2 (`checkpoints/`, core/archive/layout.ts) and in D1. The cron
// issues one for every tenant on every tick (cron/checkpoints.ts); proofs issue one on demand
// when none covers a newer event yet.
import { checkpointObjectKey } from '../archive/layout'
import { insertCheckpoint } from '../db/checkpoints'
import type { Db } from '../db/client'
import { getChainHead } from '../db/events'
import { tenantWriteDb } from '../db/shards'
import type { Env } from '../env'
import { type SignedCheckpoint, signCheckpoint } from './checkpoint'
import { frontierRoot } from './merkle'
import { activeKey, loadKeyRing } from './signing-keys'

export async function keyRing(env: Env) {
  return loadKeyRing(env.SIGNING_KEYS)
}

/** Signs the tenant's head; `db` is the tenant's shard (default: looked up, refused mid-move). */
export async function issueCheckpoint(env: Env, tenant: string, db?: Db): Promise<SignedCheckpoint | null> {
  db ??= await tenantWriteDb(env, tenant)
  const head = await getChainHead(db, tenant)
  if (!head) return null
  const time = new Date().toISOString()
  const key = activeKey(await keyRing(env), time)
  const cp = await signCheckpoint(
    { tenant, seq: head.seq, hash: head.hash, root: frontierRoot(head.frontier), time, key_id: key.spec.id },
    key.privateKey,
  )
  await env.ARCHIVE.put(checkpointObjectKey(cp), JSON.stringify(cp), {
    httpMetadata: { contentType: 'application/json' },
  })
  await insertCheckpoint(db, cp)
  return cp
}

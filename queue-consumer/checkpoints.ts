// Checkpoint issuance: on every cron tick for every tenant with a chain (even when nothing new
// arrived), and on demand when a proof needs a checkpoint that covers a newer event.

import { checkpointObjectKey } from '../core/archive/layout'
import { insertCheckpoint, tenantsWithChains } from '../core/db/checkpoints'
import { database } from '../core/db/client'
import { getChainHead } from '../core/db/events'
import type { Env } from '../core/env'
import { type SignedCheckpoint, signCheckpoint } from '../core/integrity/checkpoint'
import { frontierRoot } from '../core/integrity/merkle'
import { activeKey, loadKeyRing } from '../core/integrity/signing-keys'

export async function keyRing(env: Env) {
  return loadKeyRing(env.SIGNING_KEYS, env.ADMIN_TOKEN)
}

export async function issueCheckpoint(env: Env, tenant: string): Promise<SignedCheckpoint | null> {
  const db = database(env.DB)
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

export async function issueAllCheckpoints(env: Env): Promise<number> {
  const db = database(env.DB)
  let n = 0
  let after = ''
  for (;;) {
    const tenants = await tenantsWithChains(db, after)
    if (tenants.length === 0) return n
    for (const t of tenants) if (await issueCheckpoint(env, t)) n++
    after = tenants[tenants.length - 1]!
  }
}

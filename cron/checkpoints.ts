// The checkpoint job: on every tick, a signed checkpoint for every tenant with a chain, even when
// nothing new arrived (a fresh signature over the same head is what bounds how stale a
// client's view can be).
import { tenantsWithChains } from '../core/db/checkpoints'
import { database } from '../core/db/client'
import type { Env } from '../core/env'
import { issueCheckpoint } from '../core/integrity/issue-checkpoint'

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

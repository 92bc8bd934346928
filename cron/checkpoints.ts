// The checkpoint job: on every tick, a signed checkpoint for every tenant with a chain, even when
// nothing new arrived (a fresh signature over the same head is what bounds how stale a
// client's view can be). Every shard's tenants, each on its own shard.
import { tenantsWithChains } from '../core/db/checkpoints'
import { forEachShard } from '../core/db/shards'
import type { Env } from '../core/env'
import { issueCheckpoint, keyRing } from '../core/integrity/issue-checkpoint'
import { NO_SIGNING_KEYS } from '../core/integrity/signing-keys'

export async function issueAllCheckpoints(env: Env): Promise<number | { skipped: string }> {
  // A deployment without signing keys signs nothing; /healthz?deep=1 reports it.
  if ((await keyRing(env)).length === 0) return { skipped: NO_SIGNING_KEYS }
  let n = 0
  await forEachShard(env, async ({ db }, owns) => {
    let after = ''
    for (;;) {
      const tenants = await tenantsWithChains(db, after)
      if (tenants.length === 0) return
      for (const t of tenants) if (owns(t) && (await issueCheckpoint(env, t, db))) n++
      after = tenants[tenants.length - 1]!
    }
  })
  return n
}

import { and, desc, eq, gte, sql } from 'drizzle-orm'
import type { SignedCheckpoint } from '../integrity/checkpoint'
import type { Db } from './client'
import { chainHeads, checkpoints } from './schema'

export async function insertCheckpoint(db: Db, cp: SignedCheckpoint) {
  await db
    .insert(checkpoints)
    .values({ tenant: cp.tenant, issuedAt: cp.time, seq: cp.seq, body: JSON.stringify(cp) })
    .onConflictDoNothing()
    .run()
}

export async function listCheckpoints(db: Db, tenant: string, limit: number): Promise<SignedCheckpoint[]> {
  const rows = await db
    .select({ body: checkpoints.body })
    .from(checkpoints)
    .where(eq(checkpoints.tenant, tenant))
    .orderBy(desc(checkpoints.issuedAt))
    .limit(limit)
    .all()
  return rows.map((r) => JSON.parse(r.body) as SignedCheckpoint)
}

/** The newest checkpoint whose tree includes `seq`. */
export async function checkpointCovering(
  db: Db,
  tenant: string,
  seq: number,
): Promise<SignedCheckpoint | null> {
  const row = await db
    .select({ body: checkpoints.body })
    .from(checkpoints)
    .where(and(eq(checkpoints.tenant, tenant), gte(checkpoints.seq, seq)))
    .orderBy(desc(checkpoints.issuedAt))
    .limit(1)
    .get()
  return row ? (JSON.parse(row.body) as SignedCheckpoint) : null
}

export async function tenantsWithChains(db: Db, afterTenant = '', limit = 500): Promise<string[]> {
  const rows = await db
    .select({ tenant: chainHeads.tenant })
    .from(chainHeads)
    .where(sql`${chainHeads.tenant} > ${afterTenant}`)
    .orderBy(chainHeads.tenant)
    .limit(limit)
    .all()
  return rows.map((r) => r.tenant)
}

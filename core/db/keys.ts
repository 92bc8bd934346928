// API keys. Only the SHA-256 of a key is stored; the key itself is shown once, at creation.
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm'
import type { Db } from './client'
import { apiKeys } from './schema'

export const SCOPES = ['events:write', 'events:read', 'admin', 'pii:read'] as const
export type Scope = (typeof SCOPES)[number]

/** `created_by` / `revoked_by` of what the operator's admin token did. */
export const ADMIN_TOKEN_ACTOR = 'admin-token'

export type ApiKeyRecord = {
  id: string
  tenant: string
  name: string | null
  scopes: Scope[]
  prefix: string
  createdAt: string
  revokedAt: string | null
  createdBy: string | null
  expiresAt: string | null
  revokedBy: string | null
}

function toRecord(row: typeof apiKeys.$inferSelect): ApiKeyRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    prefix: row.prefix,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    createdBy: row.createdBy,
    expiresAt: row.expiresAt,
    revokedBy: row.revokedBy,
  }
}

/** Whether a key has expired at `now` (ISO strings of one format compare as instants). */
export function isExpired(k: { expiresAt: string | null }, now = new Date()): boolean {
  return k.expiresAt !== null && k.expiresAt <= now.toISOString()
}

export type NewKey = {
  id: string
  tenant: string
  name?: string
  scopes: Scope[]
  keyHash: string
  prefix: string
  createdBy: string
  expiresAt?: string | null
  createdAt?: string
}

/**
 * Stores a key. With `activeCreator`, the row is written only if that key (of the same tenant)
 * is neither revoked nor expired at the moment of the write, in the same statement: a key
 * minted by a key being revoked either exists before the revocation walks its descendants or
 * is not written at all. Returns null when it was not written.
 */
export async function insertKey(
  db: Db,
  k: NewKey,
  opts: { activeCreator?: string } = {},
): Promise<ApiKeyRecord | null> {
  const row = {
    id: k.id,
    tenant: k.tenant,
    name: k.name ?? null,
    scopes: JSON.stringify(k.scopes),
    keyHash: k.keyHash,
    prefix: k.prefix,
    createdAt: k.createdAt ?? new Date().toISOString(),
    revokedAt: null,
    createdBy: k.createdBy,
    expiresAt: k.expiresAt ?? null,
    revokedBy: null,
    revocationEvent: null,
  }
  if (opts.activeCreator === undefined) {
    await db.insert(apiKeys).values(row)
    return toRecord(row)
  }
  const res = await db.run(sql`
    INSERT INTO api_keys (id, tenant, name, scopes, key_hash, prefix, created_at, created_by, expires_at)
    SELECT ${row.id}, ${row.tenant}, ${row.name}, ${row.scopes}, ${row.keyHash}, ${row.prefix},
           ${row.createdAt}, ${row.createdBy}, ${row.expiresAt}
    WHERE EXISTS (
      SELECT 1 FROM api_keys
      WHERE id = ${opts.activeCreator} AND tenant = ${row.tenant} AND revoked_at IS NULL
        AND (expires_at IS NULL OR expires_at > ${new Date().toISOString()})
    )`)
  return (res.meta.changes ?? 0) > 0 ? toRecord(row) : null
}

export async function findKeyByHash(
  db: Db,
  keyHash: string,
): Promise<(ApiKeyRecord & { keyHash: string }) | null> {
  const row = await db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).get()
  return row ? { ...toRecord(row), keyHash: row.keyHash } : null
}

export async function listKeys(db: Db, tenant?: string): Promise<ApiKeyRecord[]> {
  const q = db.select().from(apiKeys)
  const rows = await (tenant ? q.where(eq(apiKeys.tenant, tenant)) : q).orderBy(desc(apiKeys.createdAt)).all()
  return rows.map(toRecord)
}

export async function getKey(db: Db, id: string): Promise<ApiKeyRecord | null> {
  const row = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get()
  return row ? toRecord(row) : null
}

export type Revocation = { id: string; revokedAt: string; revokedBy: string; event: string }

/**
 * Marks keys revoked in one transaction, each with the audit event that records it. A key
 * already revoked keeps its first revocation (and event). Returns the ids this call revoked.
 */
export async function revokeKeys(db: Db, revocations: Revocation[]): Promise<string[]> {
  if (revocations.length === 0) return []
  const statements = revocations.map((r) =>
    db
      .update(apiKeys)
      .set({ revokedAt: r.revokedAt, revokedBy: r.revokedBy, revocationEvent: r.event })
      .where(and(eq(apiKeys.id, r.id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id }),
  )
  const results = await db.batch(statements as [(typeof statements)[number], ...typeof statements])
  return results.flat().map((r) => r.id)
}

/** The stored revocation events (JSON) of those of `ids` that are revoked, in `ids` order. */
export async function revocationEvents(db: Db, tenant: string, ids: string[]): Promise<string[]> {
  const byId = new Map<string, string>()
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db
      .select({ id: apiKeys.id, event: apiKeys.revocationEvent })
      .from(apiKeys)
      .where(and(eq(apiKeys.tenant, tenant), inArray(apiKeys.id, ids.slice(i, i + 90))))
      .all()
    for (const r of rows) if (r.event) byId.set(r.id, r.event)
  }
  return ids.flatMap((id) => byId.get(id) ?? [])
}

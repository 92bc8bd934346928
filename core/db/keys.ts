// API keys. Only the SHA-256 of a key is stored; the key itself is shown once, at creation.
import { and, desc, eq, isNull } from 'drizzle-orm'
import type { Db } from './client'
import { apiKeys } from './schema'

export const SCOPES = ['events:write', 'events:read', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export type ApiKeyRecord = {
  id: string
  tenant: string
  name: string | null
  scopes: Scope[]
  prefix: string
  createdAt: string
  revokedAt: string | null
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
  }
}

export async function insertKey(
  db: Db,
  k: { id: string; tenant: string; name?: string; scopes: Scope[]; keyHash: string; prefix: string },
): Promise<ApiKeyRecord> {
  const row = {
    id: k.id,
    tenant: k.tenant,
    name: k.name ?? null,
    scopes: JSON.stringify(k.scopes),
    keyHash: k.keyHash,
    prefix: k.prefix,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  }
  await db.insert(apiKeys).values(row)
  return toRecord(row)
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

/** Marks a key revoked; returns false when it does not exist or was already revoked. */
export async function revokeKey(db: Db, id: string): Promise<boolean> {
  const res = await db
    .update(apiKeys)
    .set({ revokedAt: new Date().toISOString() })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .run()
  return (res.meta.changes ?? 0) > 0
}

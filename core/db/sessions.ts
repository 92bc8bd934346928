// Console sessions. Only the SHA-256 of a session token is stored; the token lives in the
// browser's HttpOnly cookie. A session made from an API key is written only while that key is
// active (in the same statement), and revoking a key deletes its sessions: a session never
// outlives its key's revocation by more than the per-isolate cache.
import { and, eq, inArray, lte, sql } from 'drizzle-orm'
import type { Db } from './client'
import { consoleSessions } from './schema'

export type SessionPrincipal = 'key' | 'admin-token' | 'access'

export type SessionRecord = {
  tokenHash: string
  principal: SessionPrincipal
  keyId: string | null
  tenant: string | null
  subject: string | null
  createdAt: string
  expiresAt: string
}

/** D1 binds at most 100 parameters per statement. */
const CHUNK = 90

/**
 * Stores a session. One made from a key (`principal: 'key'`) is written only if that key is, at
 * the moment of the write, neither revoked nor expired. Returns whether the row was written.
 */
export async function insertSession(db: Db, s: SessionRecord): Promise<boolean> {
  if (s.principal !== 'key') {
    await db.insert(consoleSessions).values(s).run()
    return true
  }
  const res = await db.run(sql`
    INSERT INTO console_sessions (token_hash, principal, key_id, tenant, subject, created_at, expires_at)
    SELECT ${s.tokenHash}, 'key', ${s.keyId}, ${s.tenant}, ${s.subject}, ${s.createdAt}, ${s.expiresAt}
    WHERE EXISTS (
      SELECT 1 FROM api_keys
      WHERE id = ${s.keyId} AND tenant = ${s.tenant} AND revoked_at IS NULL
        AND (expires_at IS NULL OR expires_at > ${s.createdAt})
    )`)
  return (res.meta.changes ?? 0) > 0
}

export async function findSession(db: Db, tokenHash: string): Promise<SessionRecord | null> {
  const row = await db.select().from(consoleSessions).where(eq(consoleSessions.tokenHash, tokenHash)).get()
  return row ?? null
}

export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.delete(consoleSessions).where(eq(consoleSessions.tokenHash, tokenHash)).run()
}

/** Deletes every session made from one of `keyIds` (revoked keys); returns how many. */
export async function deleteSessionsOfKeys(db: Db, keyIds: readonly string[]): Promise<number> {
  let n = 0
  for (let i = 0; i < keyIds.length; i += CHUNK) {
    const res = await db
      .delete(consoleSessions)
      .where(inArray(consoleSessions.keyId, keyIds.slice(i, i + CHUNK)))
      .run()
    n += res.meta.changes ?? 0
  }
  return n
}

/** Deletes sessions that expired at or before `now`, at most `limit` rows; returns how many. */
export async function purgeExpiredSessions(db: Db, now = new Date(), limit = 1000): Promise<number> {
  const expired = db
    .select({ tokenHash: consoleSessions.tokenHash })
    .from(consoleSessions)
    .where(lte(consoleSessions.expiresAt, now.toISOString()))
    .limit(limit)
  const res = await db.delete(consoleSessions).where(inArray(consoleSessions.tokenHash, expired)).run()
  return res.meta.changes ?? 0
}

/** Sessions of a tenant's key, newest expiry last (for tests and operators). */
export async function sessionsOfKey(db: Db, keyId: string): Promise<SessionRecord[]> {
  return db
    .select()
    .from(consoleSessions)
    .where(and(eq(consoleSessions.keyId, keyId), eq(consoleSessions.principal, 'key')))
    .orderBy(consoleSessions.expiresAt)
    .all()
}

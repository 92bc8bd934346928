// Console sessions: a sign-in exchanges a credential (an API key, the admin token or a Cloudflare
// Access identity) for a random 256-bit token, kept by the browser in an HttpOnly cookie and
// stored here only as its SHA-256 (core/db/sessions.ts).
// Invariants: a session lives at most SESSION_MAX_LIFETIME_MS and never past its credential's
// own expiry; a session made from a key acts as that key (its tenant and scopes are read from
// the key on every use) and ends when the key is revoked.
import type { Db } from '../db/client'
import { insertSession, type SessionPrincipal, type SessionRecord } from '../db/sessions'
import { unauthorized } from '../errors'
import { randomToken } from '../ids'
import { secretHash } from '../keys/api-keys'

export const SESSION_COOKIE = 'audit_session'
export const SESSION_MAX_LIFETIME_MS = 12 * 3_600_000

/** What a session is made from. */
export type SessionSource =
  | { principal: 'key'; keyId: string; tenant: string; expiresAt: string | null }
  | { principal: 'admin-token'; adminToken: string }
  | { principal: 'access'; email: string; tenant: string; expiresAt: string }

/** The earlier of now + the session lifetime and the credential's own expiry. */
export function sessionExpiry(now: Date, credentialExpiresAt: string | null): string {
  const cap = new Date(now.getTime() + SESSION_MAX_LIFETIME_MS).toISOString()
  return credentialExpiresAt !== null && credentialExpiresAt < cap ? credentialExpiresAt : cap
}

/** Seconds from `now` until `expiresAt`, rounded down (the cookie's Max-Age). */
export function secondsUntil(expiresAt: string, now: Date): number {
  return Math.max(0, Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000))
}

/**
 * Starts a session: returns the token (the only copy; it goes into the cookie) and the stored
 * record. A session of a key is stored only while the key is active, else 401.
 */
export async function startSession(
  db: Db,
  source: SessionSource,
  now = new Date(),
): Promise<{ token: string; record: SessionRecord }> {
  const token = randomToken(32)
  const base = { tokenHash: await secretHash(token), createdAt: now.toISOString() }
  let record: SessionRecord
  if (source.principal === 'key') {
    record = {
      ...base,
      principal: 'key',
      keyId: source.keyId,
      tenant: source.tenant,
      subject: null,
      expiresAt: sessionExpiry(now, source.expiresAt),
    }
  } else if (source.principal === 'admin-token') {
    record = {
      ...base,
      principal: 'admin-token',
      keyId: null,
      tenant: null,
      subject: await secretHash(source.adminToken),
      expiresAt: sessionExpiry(now, null),
    }
  } else {
    record = {
      ...base,
      principal: 'access',
      keyId: null,
      tenant: source.tenant,
      subject: source.email,
      expiresAt: sessionExpiry(now, source.expiresAt),
    }
  }
  if (record.expiresAt <= base.createdAt)
    throw unauthorized('The credential has expired; no session was made.')
  if (!(await insertSession(db, record)))
    throw unauthorized('The API key was revoked or expired while signing in; no session was made.')
  return { token, record }
}

export type { SessionPrincipal, SessionRecord }

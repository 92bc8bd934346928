// The credentials a request can carry, each checked against what it claims: the admin token, API
// keys and viewer tokens (bearer), console sessions (cookie) and Cloudflare Access identities.
// Keys and sessions are looked up by their SHA-256; the comparison of secrets is constant-time.
// Lookups are cached per isolate for KEY_CACHE_TTL_MS, which bounds how long a revoked key (or a
// session of one, or a viewer token it minted) keeps working elsewhere.
import {
  ACCESS_ROLE_SCOPES,
  accessConfig,
  accessPrincipal,
  verifyAccessAssertion,
} from '../../core/auth/access'
import { VIEWER_TOKEN_PREFIX, verifyViewerToken } from '../../core/auth/viewer-tokens'
import { database } from '../../core/db/client'
import { type ApiKeyRecord, findKeyByHash, getKey, isExpired } from '../../core/db/keys'
import { deleteSession, findSession, type SessionRecord } from '../../core/db/sessions'
import { settings } from '../../core/env'
import { DomainError, unauthorized } from '../../core/errors'
import { secretHash } from '../../core/keys/api-keys'
import type { AppEnv, Auth } from '../context'

export const KEY_CACHE_TTL_MS = 5_000
const MAX_CACHE = 10_000
type Cached<T> = Map<string, { rec: T | null; expires: number }>
const cache: Cached<ApiKeyRecord & { keyHash: string }> = new Map()
const byId: Cached<ApiKeyRecord> = new Map()
const sessions: Cached<SessionRecord> = new Map()

const enc = new TextEncoder()

function constantTimeEqual(a: string, b: string): boolean {
  const x = enc.encode(a)
  const y = enc.encode(b)
  if (x.length !== y.length) return false
  return crypto.subtle.timingSafeEqual(x, y)
}

let adminHash: { token: string; hash: string } | undefined
async function adminTokenHash(token: string): Promise<string> {
  if (adminHash?.token !== token) adminHash = { token, hash: await secretHash(token) }
  return adminHash.hash
}

/** Forgets cached lookups: one key's (by hash), or every key and session (after a revocation). */
export function forgetCachedKey(keyHash?: string) {
  if (keyHash) cache.delete(keyHash)
  else {
    cache.clear()
    byId.clear()
    sessions.clear()
  }
}

/** Forgets one cached session (after sign-out). */
export function forgetCachedSession(tokenHash: string) {
  sessions.delete(tokenHash)
}

async function cached<T>(map: Cached<T>, id: string, load: () => Promise<T | null>): Promise<T | null> {
  const now = Date.now()
  const hit = map.get(id)
  if (hit && hit.expires > now) return hit.rec
  const rec = await load()
  if (map.size >= MAX_CACHE) map.clear()
  map.set(id, { rec, expires: now + KEY_CACHE_TTL_MS })
  return rec
}

const lookup = (d1: D1Database, keyHash: string) =>
  cached(cache, keyHash, () => findKeyByHash(database(d1), keyHash))
const keyById = (d1: D1Database, id: string) => cached(byId, id, () => getKey(database(d1), id))

type Env = AppEnv['Bindings']

/** The admin token, a viewer token or an API key. */
export async function bearerAuth(env: Env, token: string): Promise<Auth> {
  const tokenHash = await secretHash(token)
  const admin = settings(env).adminToken
  if (admin && constantTimeEqual(tokenHash, await adminTokenHash(admin)))
    return { kind: 'admin-token', via: 'bearer' }
  if (token.startsWith(VIEWER_TOKEN_PREFIX)) return viewerAuth(env, token)
  const rec = await lookup(env.DB, tokenHash)
  if (!rec || !constantTimeEqual(rec.keyHash, tokenHash) || rec.revokedAt) {
    throw unauthorized('The API key is unknown or has been revoked.')
  }
  // Checked on every request, cached record or not: a key stops working the moment it expires.
  if (isExpired(rec)) throw unauthorized(`The API key expired at ${rec.expiresAt}.`)
  return {
    kind: 'key',
    keyId: rec.id,
    tenant: rec.tenant,
    scopes: rec.scopes,
    via: 'bearer',
    expiresAt: rec.expiresAt,
  }
}

/** The minting key of a viewer token or a session, if it is still active for `tenant`. */
async function activeKey(env: Env, id: string, tenant: string | null): Promise<ApiKeyRecord | null> {
  const rec = await keyById(env.DB, id)
  if (!rec || rec.tenant !== tenant || rec.revokedAt || isExpired(rec)) return null
  return rec
}

async function viewerAuth(env: Env, token: string): Promise<Auth> {
  const secret = settings(env).adminToken
  if (!secret)
    throw new DomainError('unavailable', 'Viewer tokens are unavailable: ADMIN_TOKEN is not configured.')
  const p = await verifyViewerToken(secret, token)
  const key = await activeKey(env, p.kid, p.tenant)
  if (!key || !key.scopes.includes('admin'))
    throw unauthorized('The key that minted this viewer token has been revoked or has expired.')
  const exp = new Date(p.exp * 1000).toISOString()
  return {
    kind: 'viewer',
    keyId: key.id,
    tenant: p.tenant,
    scopes: ['events:read'],
    scope: p.scope,
    tokenId: p.jti,
    expiresAt: key.expiresAt !== null && key.expiresAt < exp ? key.expiresAt : exp,
    via: 'bearer',
  }
}

const sessionEnded = () => unauthorized('The session has ended or expired; sign in again.')

export async function cookieAuth(env: Env, token: string): Promise<Auth> {
  const tokenHash = await secretHash(token)
  const rec = await cached(sessions, tokenHash, () => findSession(database(env.DB), tokenHash))
  if (!rec || !constantTimeEqual(rec.tokenHash, tokenHash)) throw sessionEnded()
  if (rec.expiresAt <= new Date().toISOString()) {
    sessions.delete(tokenHash)
    await deleteSession(database(env.DB), tokenHash)
    throw sessionEnded()
  }
  const session = { tokenHash, expiresAt: rec.expiresAt }
  if (rec.principal === 'key') {
    const key = rec.keyId ? await activeKey(env, rec.keyId, rec.tenant) : null
    if (!key) throw sessionEnded()
    return {
      kind: 'key',
      keyId: key.id,
      tenant: key.tenant,
      scopes: key.scopes,
      via: 'cookie',
      expiresAt: rec.expiresAt,
      session,
    }
  }
  if (rec.principal === 'admin-token') {
    const admin = settings(env).adminToken
    // A new ADMIN_TOKEN ends the sessions of the old one.
    if (!admin || !rec.subject || !constantTimeEqual(rec.subject, await adminTokenHash(admin)))
      throw sessionEnded()
    return { kind: 'admin-token', via: 'cookie', session }
  }
  // An Access session is mapped again on every use: a changed ACCESS_PRINCIPALS applies at once.
  const config = accessConfig(accessVars(env))
  const p = config && rec.subject ? accessPrincipal(config, rec.subject) : null
  if (!p || p.tenant !== rec.tenant) throw sessionEnded()
  return {
    kind: 'access',
    email: rec.subject!,
    tenant: p.tenant,
    scopes: ACCESS_ROLE_SCOPES[p.role],
    expiresAt: rec.expiresAt,
    via: 'cookie',
    session,
  }
}

const accessVars = (env: Env) => {
  const s = settings(env)
  return { teamDomain: s.accessTeamDomain, audience: s.accessAud, principals: s.accessPrincipals }
}

/** The Cloudflare Access identity of an assertion; null when Access sign-in is off. */
export async function accessAuth(env: Env, assertion: string): Promise<Auth | null> {
  const config = accessConfig(accessVars(env))
  if (!config) return null
  const id = await verifyAccessAssertion(config, assertion)
  return {
    kind: 'access',
    email: id.email,
    tenant: id.tenant,
    scopes: ACCESS_ROLE_SCOPES[id.role],
    expiresAt: id.expiresAt,
    via: 'access',
  }
}

// Bearer authentication: the admin token (secret ADMIN_TOKEN) or a tenant API key. Keys are
// looked up by their SHA-256; the comparison of secrets is constant-time. Lookups are cached
// per isolate for a few seconds, which bounds how long a revoked key keeps working.
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { database } from '../../core/db/client'
import { type ApiKeyRecord, findKeyByHash, isExpired, type Scope } from '../../core/db/keys'
import { settings } from '../../core/env'
import { DomainError, forbidden, unauthorized } from '../../core/errors'
import { secretHash } from '../../core/keys/api-keys'
import type { AppEnv, Auth } from '../context'
import { countAuthFailure, limitPrincipal, refuseLockedOut } from './rate-limit'

export const KEY_CACHE_TTL_MS = 5_000
const MAX_CACHE = 10_000
const cache = new Map<string, { rec: (ApiKeyRecord & { keyHash: string }) | null; expires: number }>()

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

export function forgetCachedKey(keyHash?: string) {
  if (keyHash) cache.delete(keyHash)
  else cache.clear()
}

async function lookup(d1: D1Database, keyHash: string) {
  const now = Date.now()
  const hit = cache.get(keyHash)
  if (hit && hit.expires > now) return hit.rec
  const rec = await findKeyByHash(database(d1), keyHash)
  if (cache.size >= MAX_CACHE) cache.clear()
  cache.set(keyHash, { rec, expires: now + KEY_CACHE_TTL_MS })
  return rec
}

async function resolve(c: {
  env: AppEnv['Bindings']
  req: { header(n: string): string | undefined }
}): Promise<Auth> {
  const header = c.req.header('authorization')
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  if (!m) throw unauthorized('Send an API key as "Authorization: Bearer <key>".')
  const token = m[1]!
  const tokenHash = await secretHash(token)
  const admin = settings(c.env).adminToken
  if (admin && constantTimeEqual(tokenHash, await adminTokenHash(admin))) return { kind: 'admin-token' }
  const rec = await lookup(c.env.DB, tokenHash)
  if (!rec || !constantTimeEqual(rec.keyHash, tokenHash) || rec.revokedAt) {
    throw unauthorized('The API key is unknown or has been revoked.')
  }
  // Checked on every request, cached record or not: a key stops working the moment it expires.
  if (isExpired(rec)) throw unauthorized(`The API key expired at ${rec.expiresAt}.`)
  return { kind: 'key', keyId: rec.id, tenant: rec.tenant, scopes: rec.scopes }
}

/**
 * resolve() under the abuse limits (./rate-limit.ts): a locked-out IP is refused before its
 * token is compared, a rejection is logged and counted per IP, and an accepted principal is
 * charged one request.
 */
async function authenticate(c: Context<AppEnv>): Promise<Auth> {
  refuseLockedOut(c)
  let auth: Auth
  try {
    auth = await resolve(c)
  } catch (err) {
    if (err instanceof DomainError && err.code === 'unauthorized') await countAuthFailure(c, err)
    throw err
  }
  await limitPrincipal(c, auth)
  // Valid credentials, whether or not they are allowed here (./rate-limit.ts tells them apart).
  c.set('auth', auth)
  return auth
}

/**
 * Requires a key with `scope` (a key with `admin` holds every scope of its tenant).
 * `allowAdminToken` lets the operator's admin token through as well.
 */
export function requireScope(scope: Scope, opts: { allowAdminToken?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = await authenticate(c)
    if (auth.kind === 'admin-token') {
      if (!opts.allowAdminToken) throw forbidden('The admin token manages keys; use a tenant API key here.')
    } else if (!auth.scopes.includes(scope) && !auth.scopes.includes('admin')) {
      throw forbidden(`This API key lacks the "${scope}" scope.`)
    }
    c.set('auth', auth)
    await next()
  })
}

/**
 * Operator routes span every tenant (dead letters, the archive as a whole): only the admin
 * token may call them, never a tenant's `admin` key.
 */
export function requireAdminToken() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = await authenticate(c)
    if (auth.kind !== 'admin-token')
      throw forbidden('This operation spans all tenants; it needs the admin token.')
    c.set('auth', auth)
    await next()
  })
}

/** The authenticated tenant key; routes that accept the admin token must not call it. */
export function keyOf(auth: Auth): Extract<Auth, { kind: 'key' }> {
  if (auth.kind !== 'key') throw new DomainError('forbidden', 'This operation needs a tenant API key.')
  return auth
}

/** The tenant of the authenticated key (see keyOf). */
export function tenantOf(auth: Auth): string {
  return keyOf(auth).tenant
}

// Authentication. A request proves who it is with, in this order:
// 1. `Authorization: Bearer <token>`: the admin token (secret ADMIN_TOKEN), a viewer token
//    (`avt_…`, core/auth/viewer-tokens.ts) or a tenant API key; a request with this header is
//    judged by it alone (any cookie is ignored);
// 2. the console's session cookie (core/auth/sessions.ts): it acts as the credential it was made
//    from (a key's tenant and scopes are read from the key on every use);
// 3. a Cloudflare Access assertion, when Access sign-in is configured (core/auth/access.ts).
// Each credential is checked in ./credentials.ts (constant-time comparisons, per-isolate caches
// bounded by KEY_CACHE_TTL_MS). Cookie and Access credentials are sent by browsers on their own,
// so unsafe methods authenticated by them must carry this origin's `Origin` (CSRF).
import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import { ACCESS_ASSERTION_HEADER } from '../../core/auth/access'
import { SESSION_COOKIE } from '../../core/auth/sessions'
import type { Scope } from '../../core/db/keys'
import { DomainError, forbidden, unauthorized } from '../../core/errors'
import type { AppEnv, Auth } from '../context'
import { accessAuth, bearerAuth, cookieAuth } from './credentials'
import { countAuthFailure, limitPrincipal, type Presented, refuseLockedOut } from './rate-limit'

export { forgetCachedKey, forgetCachedSession, KEY_CACHE_TTL_MS } from './credentials'

export const VIEWER_READ_ONLY =
  'Viewer tokens are read-only: they search and read events, their proofs, checkpoints and signing keys, within their scope; nothing else.'

const BEARER = /^Bearer\s+(\S+)\s*$/i

/** The credential a request presents, by the precedence above, for the abuse limits too. */
function presented(c: Context<AppEnv>): Presented | undefined {
  if (c.req.header('authorization') !== undefined) return undefined
  if (getCookie(c, SESSION_COOKIE) !== undefined) return { credential: 'session' }
  if (c.req.header(ACCESS_ASSERTION_HEADER) !== undefined) return { credential: 'access' }
  return undefined
}

/** The session cookie's Set-Cookie: HttpOnly, SameSite=Strict, whole origin, Secure over https. */
export function sessionCookie(c: Context<AppEnv>, value: string, maxAgeSeconds: number): string {
  const secure = new URL(c.req.url).protocol === 'https:' ? '; Secure' : ''
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`
}

/** A Set-Cookie that deletes the session cookie (same attributes as when it was set). */
export function clearedSessionCookie(c: Context<AppEnv>): string {
  return sessionCookie(c, '', 0)
}

async function resolve(c: Context<AppEnv>): Promise<Auth> {
  const header = c.req.header('authorization')
  if (header !== undefined) {
    const m = BEARER.exec(header)
    if (!m) throw unauthorized('Send an API key as "Authorization: Bearer <key>".')
    return bearerAuth(c.env, m[1]!)
  }
  const assertion = c.req.header(ACCESS_ASSERTION_HEADER)
  const cookie = getCookie(c, SESSION_COOKIE)
  if (cookie !== undefined) {
    try {
      return await cookieAuth(c.env, cookie)
    } catch (err) {
      // The browser should stop sending a cookie that no longer works.
      if (err instanceof DomainError && err.code === 'unauthorized')
        c.header('Set-Cookie', clearedSessionCookie(c))
      // Behind Access, the identity Access vouches for still signs the request in.
      const viaAccess = assertion !== undefined ? await accessAuth(c.env, assertion) : null
      if (viaAccess) return viaAccess
      throw err
    }
  }
  if (assertion !== undefined) {
    const viaAccess = await accessAuth(c.env, assertion)
    if (viaAccess) return viaAccess
  }
  throw unauthorized('Send an API key as "Authorization: Bearer <key>" (or sign in to the console).')
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Refuses an unsafe request signed in by an ambient credential (cookie, Access) from another origin. */
export function requireSameOrigin(c: Context<AppEnv>, via: Auth['via']) {
  if (via !== 'cookie' && via !== 'access') return
  if (SAFE_METHODS.has(c.req.method)) return
  const own = new URL(c.req.url).origin
  if (c.req.header('origin') !== own)
    throw forbidden(
      `A ${c.req.method} signed in by the console session or Cloudflare Access must come from this origin: send Origin: ${own}.`,
    )
}

/**
 * resolve() under the abuse limits (./rate-limit.ts): a locked-out IP is refused before its
 * token is compared, a rejection is logged and counted per IP, and an accepted principal is
 * charged one request.
 */
async function authenticate(c: Context<AppEnv>, opts: { allowViewer?: boolean } = {}): Promise<Auth> {
  refuseLockedOut(c)
  let auth: Auth
  try {
    auth = await resolve(c)
  } catch (err) {
    if (err instanceof DomainError && err.code === 'unauthorized')
      await countAuthFailure(c, err, presented(c))
    throw err
  }
  await limitPrincipal(c, auth)
  // Valid credentials, whether or not they are allowed here (./rate-limit.ts tells them apart).
  c.set('auth', auth)
  requireSameOrigin(c, auth.via)
  if (auth.kind === 'viewer' && !opts.allowViewer) throw forbidden(VIEWER_READ_ONLY)
  return auth
}

/**
 * Checks a credential presented in a request body (POST /v1/sessions) exactly as a bearer token
 * is checked, under the same abuse limits: the admin token or an API key.
 */
export async function authenticateCredential(c: Context<AppEnv>, token: string): Promise<Auth> {
  refuseLockedOut(c, token)
  let auth: Auth
  try {
    auth = await bearerAuth(c.env, token)
  } catch (err) {
    if (err instanceof DomainError && err.code === 'unauthorized') await countAuthFailure(c, err, { token })
    throw err
  }
  await limitPrincipal(c, auth)
  c.set('auth', auth)
  return auth
}

/** The Cloudflare Access identity of this request's assertion (POST /v1/sessions with no credential). */
export async function authenticateAccess(c: Context<AppEnv>): Promise<Auth | null> {
  const assertion = c.req.header(ACCESS_ASSERTION_HEADER)
  if (assertion === undefined) return null
  let auth: Auth | null
  try {
    auth = await accessAuth(c.env, assertion)
  } catch (err) {
    if (err instanceof DomainError && err.code === 'unauthorized')
      await countAuthFailure(c, err, { credential: 'access' })
    throw err
  }
  if (!auth) return null
  await limitPrincipal(c, auth)
  c.set('auth', auth)
  return auth
}

/**
 * Requires a key with `scope` (a key with `admin` holds every scope of its tenant).
 * `allowAdminToken` lets the operator's admin token through as well; `allowViewer` viewer
 * tokens (read routes within their scope only).
 */
export function requireScope(scope: Scope, opts: { allowAdminToken?: boolean; allowViewer?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = await authenticate(c, opts)
    if (auth.kind === 'admin-token') {
      if (!opts.allowAdminToken) throw forbidden('The admin token manages keys; use a tenant API key here.')
    } else if (!auth.scopes.includes(scope) && !auth.scopes.includes('admin')) {
      throw forbidden(
        auth.kind === 'access'
          ? `This Cloudflare Access identity's role lacks the "${scope}" scope.`
          : `This API key lacks the "${scope}" scope.`,
      )
    }
    c.set('auth', auth)
    await next()
  })
}

/** Any valid credential (the sessions routes); viewer tokens only with `allowViewer`. */
export function requireCredential(opts: { allowViewer?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await authenticate(c, opts)
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

/** The tenant of the authenticated principal: a key (or a session of one), a viewer token, an Access identity. */
export function tenantOf(auth: Auth): string {
  if (auth.kind === 'admin-token')
    throw new DomainError('forbidden', 'This operation needs a tenant API key.')
  return auth.tenant
}

/** The tenant a principal is confined to; undefined only for the operator's admin token (every tenant). */
export function tenantScopeOf(auth: Auth): string | undefined {
  return auth.kind === 'admin-token' ? undefined : auth.tenant
}

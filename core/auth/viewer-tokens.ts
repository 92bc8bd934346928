// Viewer tokens: short-lived, read-only, signed tokens for embedding a tenant's events.
//
//   avt_<base64url(JSON payload)>.<base64url(HMAC-SHA-256(key, "avt_" + base64url(payload)))>
//
// Invariants:
// - The MAC key is derived with HKDF-SHA-256 from the ADMIN_TOKEN secret (info VIEWER_TOKEN_INFO),
//   so no other secret exists; a new ADMIN_TOKEN invalidates every viewer token.
// - A token is accepted only when its MAC checks (compared by crypto.subtle.verify), its payload
//   parses exactly (unknown fields refused), and now is within [iat - skew, exp). Anything else is
//   one answer: 401. Whether its minting key is still active is checked by the caller.
// - The scope (a tenant, optionally one target or one actor) is inside the MAC: it cannot be widened.
// - Minting is on record first: audit_log.viewer_token.created is queued before the token exists.
import { z } from 'zod'
import type { Db } from '../db/client'
import { getKey, isExpired } from '../db/keys'
import { DomainError, forbidden, unauthorized } from '../errors'
import { randomToken } from '../ids'
import { enqueueEvents } from '../ingest/enqueue'
import { serviceEvent } from '../ingest/service-events'
import { tenantSchema } from '../keys/api-keys'
import { scopeLabel } from './viewer-scope'

export const VIEWER_TOKEN_PREFIX = 'avt_'
export const VIEWER_TOKEN_INFO = 'audit-log viewer token v1'
export const VIEWER_TTL_MIN_S = 60
export const VIEWER_TTL_MAX_S = 86_400
export const VIEWER_TTL_DEFAULT_S = 3_600
/** Clock skew tolerated on `iat` between isolates. */
const IAT_SKEW_S = 60

export const viewerTargetSchema = z
  .object({ type: z.string().min(1).max(128), id: z.string().min(1).max(256) })
  .strict()

export const viewerScopeSchema = z
  .object({ target: viewerTargetSchema.optional(), actor_id: z.string().min(1).max(256).optional() })
  .strict()
  .refine((s) => !(s.target && s.actor_id), 'a viewer token is scoped to one target or one actor, not both')

export type ViewerScope = z.infer<typeof viewerScopeSchema>

const payloadSchema = z
  .object({
    v: z.literal(1),
    /** The token's id (named in its audit event). */
    jti: z.string().regex(/^vt_[A-Za-z0-9_-]{16,64}$/),
    tenant: tenantSchema,
    /** The minting key: the token dies when that key is revoked or expires. */
    kid: z.string().min(1).max(64),
    scope: viewerScopeSchema,
    iat: z.number().int().positive(),
    exp: z.number().int().positive(),
  })
  .strict()
  .refine((p) => p.exp > p.iat && p.exp - p.iat <= VIEWER_TTL_MAX_S, 'lifetime out of range')

export type ViewerTokenPayload = z.infer<typeof payloadSchema>

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Strict base64url (no padding, nothing outside the alphabet); null when it is not. */
function fromB64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    // Only the one canonical spelling of these bytes is accepted.
    return b64url(out) === s ? out : null
  } catch {
    return null
  }
}

let derived: { secret: string; key: Promise<CryptoKey> } | undefined

/** The HMAC key derived from `secret` (the ADMIN_TOKEN), cached per isolate. */
export function viewerMacKey(secret: string): Promise<CryptoKey> {
  if (derived?.secret !== secret) {
    const key = crypto.subtle
      .importKey('raw', enc.encode(secret), 'HKDF', false, ['deriveKey'])
      .then((ikm) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode(VIEWER_TOKEN_INFO) },
          ikm,
          { name: 'HMAC', hash: 'SHA-256', length: 256 },
          false,
          ['sign', 'verify'],
        ),
      )
    derived = { secret, key }
  }
  return derived.key
}

/** Signs a payload into a token. */
export async function signViewerToken(secret: string, payload: ViewerTokenPayload): Promise<string> {
  const body = `${VIEWER_TOKEN_PREFIX}${b64url(enc.encode(JSON.stringify(payloadSchema.parse(payload))))}`
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await viewerMacKey(secret), enc.encode(body)))
  return `${body}.${b64url(mac)}`
}

/** Checks a token's MAC, payload and lifetime; the payload, or a 401 for anything else. */
export async function verifyViewerToken(
  secret: string,
  token: string,
  now = new Date(),
): Promise<ViewerTokenPayload> {
  const invalid = () => unauthorized('The viewer token is malformed, altered or not issued here.')
  if (!token.startsWith(VIEWER_TOKEN_PREFIX) || token.length > 2048) throw invalid()
  const dot = token.lastIndexOf('.')
  if (dot < 0) throw invalid()
  const body = token.slice(0, dot)
  const mac = fromB64url(token.slice(dot + 1))
  const raw = fromB64url(body.slice(VIEWER_TOKEN_PREFIX.length))
  if (!mac || mac.length !== 32 || !raw) throw invalid()
  const ok = await crypto.subtle.verify('HMAC', await viewerMacKey(secret), mac, enc.encode(body))
  if (!ok) throw invalid()
  let parsed: unknown
  try {
    parsed = JSON.parse(dec.decode(raw))
  } catch {
    throw invalid()
  }
  const p = payloadSchema.safeParse(parsed)
  if (!p.success) throw invalid()
  const t = Math.floor(now.getTime() / 1000)
  if (t >= p.data.exp)
    throw unauthorized(`The viewer token expired at ${new Date(p.data.exp * 1000).toISOString()}.`)
  if (p.data.iat > t + IAT_SKEW_S) throw invalid()
  return p.data
}

/**
 * Mints a viewer token for an active tenant key holding `admin`, recording
 * audit_log.viewer_token.created in the tenant before the token exists (if that cannot be
 * recorded, no token is made: 503). The token never outlives its minting key.
 */
export async function mintViewerToken(
  db: Db,
  queue: Queue<unknown>,
  secret: string,
  o: { keyId: string; tenant: string; scope: ViewerScope; ttlSeconds: number },
  requestId: string,
  now = new Date(),
): Promise<{ token: string; payload: ViewerTokenPayload; expiresAt: string }> {
  const key = await getKey(db, o.keyId)
  if (!key || key.tenant !== o.tenant || key.revokedAt || isExpired(key, now))
    throw unauthorized('The API key is unknown, revoked or expired.')
  if (!key.scopes.includes('admin')) throw forbidden('Viewer tokens are minted by a key holding admin.')
  const iat = Math.floor(now.getTime() / 1000)
  const keyExp =
    key.expiresAt === null ? Number.POSITIVE_INFINITY : Math.floor(Date.parse(key.expiresAt) / 1000)
  const exp = Math.min(iat + o.ttlSeconds, keyExp)
  if (exp <= iat) throw unauthorized('The API key expires now; no viewer token was made.')
  const payload: ViewerTokenPayload = {
    v: 1,
    jti: `vt_${randomToken(16)}`,
    tenant: o.tenant,
    kid: key.id,
    scope: o.scope,
    iat,
    exp,
  }
  const expiresAt = new Date(exp * 1000).toISOString()
  const event = serviceEvent(
    o.tenant,
    {
      action: 'audit_log.viewer_token.created',
      actor: { type: 'api_key', id: key.id },
      target: { type: 'viewer_token', id: payload.jti },
      metadata: { scope: scopeLabel(o.scope), expires_at: expiresAt, ttl_seconds: exp - iat },
    },
    { keyId: key.id, requestId },
    now,
  )
  try {
    await enqueueEvents(queue, o.tenant, [event])
  } catch (err) {
    const retry = err instanceof DomainError ? err.extra?.retry_after : undefined
    throw new DomainError(
      'unavailable',
      'The event queue is unavailable, so the viewer token cannot be recorded; no token was made. Retry later.',
      undefined,
      { retry_after: retry ?? 5 },
    )
  }
  return { token: await signViewerToken(secret, payload), payload, expiresAt }
}

// Abuse limits, on Cloudflare's Rate Limiting bindings (wrangler.toml `[[ratelimits]]`):
//
// - RATE_LIMIT_KEY: every authenticated request, per principal (an API key by its id, or the
//   admin token), charged once the credentials check out (worker/middleware/auth.ts).
// - RATE_LIMIT_IP: every request without valid credentials, per client IP: anonymous requests
//   before they are handled; requests that carried credentials which were rejected, or which no
//   route checked (public pages, unknown paths), once answered.
// - RATE_LIMIT_AUTH_FAILURES: rejected credentials, per client IP. Each rejection is logged. Past
//   the limit a rejection is answered 429 instead of 401, and the IP is locked out of the admin
//   token for the period: any token that is not an API key is refused with 429 before it is
//   compared, the right one included, so a guesser learns nothing from the answers. API keys
//   (256 random bits, nothing to guess) keep working from a locked-out IP, so one
//   misconfigured client behind a shared address cannot lock out the services beside it.
//
// Counts are per Cloudflare location and approximate. The lockout is remembered by the isolate
// that saw the IP go over the limit; every other isolate compares at most one more token before
// it sees the same over-limit answer and locks out the IP too.
// `/healthz` without `deep` is exempt: it does no I/O and answers the same to everyone.
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { ACCESS_ASSERTION_HEADER } from '../../core/auth/access'
import { SESSION_COOKIE } from '../../core/auth/sessions'
import { VIEWER_TOKEN_PREFIX } from '../../core/auth/viewer-tokens'
import { DomainError } from '../../core/errors'
import type { AppEnv, Auth } from '../context'
import { standaloneProblem } from '../problem'

/** The `period` of every `[[ratelimits]]` binding in wrangler.toml, in seconds. */
export const RATE_LIMIT_PERIOD_S = 60

/**
 * How API keys (core/keys/api-keys.ts) and viewer tokens (core/auth/viewer-tokens.ts) begin; any
 * other bearer token is an admin-token attempt.
 */
const API_KEY_PREFIX = 'alk_'
/** As much of an API key as is stored in the clear beside its hash (core/keys/api-keys.ts). */
const KEY_PREFIX_LENGTH = 12

const MAX_LOCKOUTS = 10_000
const lockouts = new Map<string, number>()

/** Seconds until the current window of the limiters ends (their windows align to the period). */
function windowRemainingS(now = Date.now()): number {
  const s = Math.floor(now / 1000)
  return RATE_LIMIT_PERIOD_S - (s % RATE_LIMIT_PERIOD_S)
}

function rateLimited(detail: string, retryAfter: number): DomainError {
  return new DomainError('rate_limited', detail, undefined, { retry_after: Math.max(1, retryAfter) })
}

/**
 * The client address Cloudflare reports (CF-Connecting-IP; `wrangler dev` sets it too), as a
 * limiter key: an IPv4 address as is, an IPv6 address by its /64 (one host usually holds a whole
 * /64). Without the header every such request shares one key.
 */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header('cf-connecting-ip')?.trim() || 'unknown'
}

export function ipBucket(ip: string): string {
  if (ip === 'unknown') return 'ip:unknown'
  if (!ip.includes(':')) return `ip4:${ip}`
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) return `ip4:${mapped[1]}`
  const [head = '', tail] = ip.split('%')[0]!.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return `ip6:${ip}`
  return `ip6:${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** Counts one request against `binding` under `key`; false once the key is over its limit. */
async function allowed(binding: RateLimit | undefined, key: string): Promise<boolean> {
  // A deployment without the binding is not limited; an unreachable limiter never blocks traffic.
  if (!binding) return true
  try {
    return (await binding.limit({ key })).success
  } catch (err) {
    console.error(
      JSON.stringify({ level: 'error', msg: 'rate limiter unavailable', key, error: String(err) }),
    )
    return true
  }
}

function bearerToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('authorization')
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined
}

/** Whether a bearer token can only be meant as the admin token. */
function isAdminTokenAttempt(c: Context<AppEnv>, token: string): boolean {
  const looksIssued = (t: string) => t.startsWith(API_KEY_PREFIX) || t.startsWith(VIEWER_TOKEN_PREFIX)
  return !looksIssued(token) || looksIssued(c.env.ADMIN_TOKEN ?? '')
}

/** Whether a request carries credentials: an Authorization header, a session cookie or an Access assertion. */
function carriesCredentials(c: Context<AppEnv>): boolean {
  return (
    c.req.header('authorization') !== undefined ||
    c.req.header(ACCESS_ASSERTION_HEADER) !== undefined ||
    getCookie(c, SESSION_COOKIE) !== undefined
  )
}

function isCheapHealthCheck(c: Context<AppEnv>): boolean {
  return c.req.path === '/healthz' && c.req.query('deep') === undefined
}

/**
 * The per-IP limit for traffic without valid credentials. Requests without an Authorization
 * header are counted before they are handled; those with one once answered, if their credentials
 * were rejected or no route checked them (accepted ones are charged to their principal instead).
 */
export function limitAnonymous(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isCheapHealthCheck(c)) return next()
    const bucket = ipBucket(clientIp(c))
    if (!carriesCredentials(c)) {
      if (!(await allowed(c.env.RATE_LIMIT_IP, bucket)))
        throw rateLimited('Too many requests from this address; retry later.', windowRemainingS())
      return next()
    }
    await next()
    if (c.get('auth') === undefined && !(await allowed(c.env.RATE_LIMIT_IP, bucket))) {
      const limited = standaloneProblem(
        c,
        rateLimited('Too many requests from this address; retry later.', windowRemainingS()),
      )
      await c.res.body?.cancel()
      // Cleared first, so that none of the replaced answer's headers carry over.
      c.res = undefined
      c.res = limited
    }
  }
}

/**
 * Refuses an admin-token attempt from an IP that is locked out (before the token is compared):
 * the bearer token, or `token` when the credential comes in a body (POST /v1/sessions).
 */
export function refuseLockedOut(c: Context<AppEnv>, token = bearerToken(c)): void {
  if (token === undefined || !isAdminTokenAttempt(c, token)) return
  const bucket = ipBucket(clientIp(c))
  const until = lockouts.get(bucket)
  if (until === undefined) return
  const now = Date.now()
  if (until <= now) {
    lockouts.delete(bucket)
    return
  }
  logAuthFailure(c, 'admin_token', 'locked_out', true, token)
  throw rateLimited(
    'Too many rejected credentials from this address: the admin token is refused from it for now.',
    Math.ceil((until - now) / 1000),
  )
}

type Credential = 'none' | 'malformed' | 'api_key' | 'admin_token' | 'viewer_token' | 'session' | 'access'

/**
 * A credential that does not come as a bearer token: one in a body (POST /v1/sessions), or the
 * session cookie or Access assertion (256 random bits and a signed JWT: nothing to guess, so they
 * are counted like API keys and never lock out the admin token).
 */
export type Presented = { token: string } | { credential: 'session' | 'access' }

function logAuthFailure(
  c: Context<AppEnv>,
  credential: Credential,
  reason: string,
  throttled: boolean,
  token = bearerToken(c),
) {
  console.warn(
    JSON.stringify({
      level: 'warn',
      msg: 'authentication failed',
      kind: 'auth_failure',
      credential,
      reason,
      client_ip: clientIp(c),
      // An API key's public prefix (what GET /v1/keys lists); never any part of another token,
      // which may be a near miss of the admin token.
      key_prefix: credential === 'api_key' && token ? token.slice(0, KEY_PREFIX_LENGTH) : null,
      method: c.req.method,
      path: c.req.path,
      request_id: c.get('requestId'),
      throttled,
    }),
  )
}

/**
 * Logs and counts rejected credentials (`err`, a 401). Returns when the rejection should be
 * answered as it is; throws a 429 once the IP is over its limit of rejections.
 */
export async function countAuthFailure(
  c: Context<AppEnv>,
  err: DomainError,
  presented?: Presented,
): Promise<void> {
  const header = c.req.header('authorization')
  const token = presented === undefined ? bearerToken(c) : 'token' in presented ? presented.token : undefined
  const credential: Credential =
    presented !== undefined && 'credential' in presented
      ? presented.credential
      : presented === undefined && header === undefined
        ? 'none'
        : token === undefined
          ? 'malformed'
          : isAdminTokenAttempt(c, token)
            ? 'admin_token'
            : token.startsWith(VIEWER_TOKEN_PREFIX)
              ? 'viewer_token'
              : 'api_key'
  // A request without credentials is anonymous traffic, already counted per IP.
  if (credential === 'none') {
    logAuthFailure(c, credential, err.message, false, token)
    return
  }
  const bucket = ipBucket(clientIp(c))
  if (await allowed(c.env.RATE_LIMIT_AUTH_FAILURES, bucket)) {
    logAuthFailure(c, credential, err.message, false, token)
    return
  }
  const retryAfter = windowRemainingS()
  const locks = credential === 'admin_token' || credential === 'malformed'
  if (locks) {
    if (lockouts.size >= MAX_LOCKOUTS) lockouts.clear()
    lockouts.set(bucket, Date.now() + RATE_LIMIT_PERIOD_S * 1000)
  }
  logAuthFailure(c, credential, err.message, true, token)
  throw rateLimited(
    'Too many rejected credentials from this address; retry later.',
    locks ? RATE_LIMIT_PERIOD_S : retryAfter,
  )
}

/** The RATE_LIMIT_KEY key of a principal. */
export function principalKey(auth: Auth): string {
  // A session counts as the key it was made from; viewer tokens share a budget per minting key.
  if (auth.kind === 'key') return `key:${auth.keyId}`
  if (auth.kind === 'viewer') return `viewer:${auth.keyId}`
  if (auth.kind === 'access') return `access:${auth.email.toLowerCase()}`
  return 'admin-token'
}

/** Charges an authenticated request to its principal; a 429 once the principal is over its limit. */
export async function limitPrincipal(c: Context<AppEnv>, auth: Auth): Promise<void> {
  if (!(await allowed(c.env.RATE_LIMIT_KEY, principalKey(auth))))
    throw rateLimited(
      auth.kind === 'admin-token'
        ? 'The admin token is over its request rate; retry later.'
        : auth.kind === 'key'
          ? 'This API key is over its request rate; retry later.'
          : auth.kind === 'viewer'
            ? 'The viewer tokens of this key are over their request rate; retry later.'
            : 'This Cloudflare Access identity is over its request rate; retry later.',
      windowRemainingS(),
    )
}

// Cloudflare Access sign-in (optional). With ACCESS_TEAM_DOMAIN and ACCESS_AUD set, Access puts a
// signed JWT in `Cf-Access-Jwt-Assertion` on every request it lets through; a valid one (RS256,
// iss = the team domain, aud = ACCESS_AUD, exp and nbf checked, signed by a key of
// <team>/cdn-cgi/access/certs) authenticates its e-mail, which ACCESS_PRINCIPALS maps to a tenant
// and a role. Verification is jose's; the team's key set is fetched once and cached per isolate.
import { createRemoteJWKSet, errors, jwtVerify } from 'jose'
import { z } from 'zod'
import type { Scope } from '../db/keys'
import { DomainError, forbidden, issuesText, unauthorized } from '../errors'
import { tenantSchema } from '../keys/api-keys'

export const ACCESS_ASSERTION_HEADER = 'cf-access-jwt-assertion'
export const ACCESS_ROLES = ['viewer', 'admin'] as const
export type AccessRole = (typeof ACCESS_ROLES)[number]

/** What each role may do: a viewer reads its tenant's events, an admin holds every scope. */
export const ACCESS_ROLE_SCOPES: Record<AccessRole, Scope[]> = {
  viewer: ['events:read'],
  admin: ['admin'],
}

const principalSchema = z.object({ tenant: tenantSchema, role: z.enum(ACCESS_ROLES) }).strict()
const principalsSchema = z.record(z.string(), principalSchema)
const PRINCIPAL_KEY = /^(\*|[^\s@*]+)@[^\s@*]+\.[^\s@*]+$/

export type AccessConfig = {
  /** The team domain's origin, e.g. https://team.cloudflareaccess.com: the expected `iss`. */
  issuer: string
  audience: string
  principals: Map<string, z.infer<typeof principalSchema>>
}

export type AccessIdentity = { email: string; tenant: string; role: AccessRole; expiresAt: string }

function misconfigured(detail: string): DomainError {
  return new DomainError('unavailable', `Cloudflare Access sign-in is misconfigured: ${detail}`, undefined, {
    retry_after: 60,
  })
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

function teamIssuer(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw misconfigured('ACCESS_TEAM_DOMAIN is not a URL (e.g. https://team.cloudflareaccess.com).')
  }
  // Plain http only for a team domain on this machine (tests run a key server on 127.0.0.1).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)))
    throw misconfigured('ACCESS_TEAM_DOMAIN must be an https URL.')
  if (url.pathname !== '/' || url.search || url.hash)
    throw misconfigured('ACCESS_TEAM_DOMAIN must be the team origin alone, without a path.')
  return url.origin
}

const configs = new Map<string, AccessConfig>()

/**
 * The Access configuration of these vars: null when Access sign-in is off (neither
 * ACCESS_TEAM_DOMAIN nor ACCESS_AUD is set); a 503 naming the problem when it is set but invalid.
 */
export function accessConfig(vars: {
  teamDomain?: string
  audience?: string
  principals?: string
}): AccessConfig | null {
  if (!vars.teamDomain && !vars.audience) return null
  const id = JSON.stringify([vars.teamDomain, vars.audience, vars.principals])
  const hit = configs.get(id)
  if (hit) return hit
  if (!vars.teamDomain) throw misconfigured('ACCESS_AUD is set but ACCESS_TEAM_DOMAIN is not.')
  if (!vars.audience) throw misconfigured('ACCESS_TEAM_DOMAIN is set but ACCESS_AUD is not.')
  const issuer = teamIssuer(vars.teamDomain)
  let json: unknown
  try {
    json = JSON.parse(vars.principals || '{}')
  } catch {
    throw misconfigured('ACCESS_PRINCIPALS is not JSON.')
  }
  const parsed = principalsSchema.safeParse(json)
  if (!parsed.success) throw misconfigured(`ACCESS_PRINCIPALS: ${issuesText(parsed.error.issues, 3)}.`)
  const bad = Object.keys(parsed.data).find((k) => !PRINCIPAL_KEY.test(k))
  if (bad !== undefined)
    throw misconfigured(`ACCESS_PRINCIPALS: "${bad}" must be an e-mail address or *@domain.`)
  const principals = new Map(Object.entries(parsed.data).map(([k, v]) => [k.toLowerCase(), v]))
  const config = { issuer, audience: vars.audience, principals }
  if (configs.size > 16) configs.clear()
  configs.set(id, config)
  return config
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()

/** The team's key set, one per issuer per isolate (jose caches the keys and refetches on an unknown kid). */
function keySet(issuer: string) {
  let set = keySets.get(issuer)
  if (!set) {
    set = createRemoteJWKSet(new URL(`${issuer}/cdn-cgi/access/certs`), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    })
    keySets.set(issuer, set)
  }
  return set
}

/** The tenant and role of an e-mail: its own entry, else its domain's `*@domain` entry; null when unmapped. */
export function accessPrincipal(config: AccessConfig, email: string) {
  const e = email.toLowerCase()
  return config.principals.get(e) ?? config.principals.get(`*@${e.slice(e.lastIndexOf('@') + 1)}`) ?? null
}

/**
 * Verifies an assertion and maps its e-mail: the identity, a 401 for an assertion that does not
 * verify, a 403 for a valid one whose e-mail is not mapped, a 503 when the keys cannot be fetched.
 */
export async function verifyAccessAssertion(config: AccessConfig, jwt: string): Promise<AccessIdentity> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
  try {
    ;({ payload } = await jwtVerify(jwt, keySet(config.issuer), {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
    }))
  } catch (err) {
    throw assertionError(err)
  }
  const email = typeof payload.email === 'string' ? payload.email : undefined
  if (!email)
    throw forbidden('The Cloudflare Access identity has no e-mail (a service token?); it is not mapped here.')
  const p = accessPrincipal(config, email)
  if (!p)
    throw forbidden(`The Cloudflare Access identity ${email} is not mapped to a tenant (ACCESS_PRINCIPALS).`)
  return { email, tenant: p.tenant, role: p.role, expiresAt: new Date(payload.exp! * 1000).toISOString() }
}

function assertionError(err: unknown): DomainError {
  if (err instanceof errors.JWTExpired) return unauthorized('The Cloudflare Access assertion has expired.')
  if (err instanceof errors.JWTClaimValidationFailed)
    return unauthorized(
      `The Cloudflare Access assertion's "${err.claim}" claim is not accepted here (${err.reason}).`,
    )
  // The key set could not be fetched or read (network, status, JSON, shape): not the caller's fault.
  const keysUnavailable =
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC') ||
    !(err instanceof errors.JOSEError)
  if (keysUnavailable) {
    console.error(JSON.stringify({ msg: 'cloudflare access keys unavailable', error: String(err) }))
    return new DomainError(
      'unavailable',
      "The Cloudflare Access team's keys cannot be fetched now.",
      undefined,
      {
        retry_after: 30,
      },
    )
  }
  return unauthorized("The Cloudflare Access assertion does not verify against the team's keys.")
}

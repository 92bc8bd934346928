// The PII policy: which fields of an event are personal data and how each is stored.
//   hash  - keyed HMAC-SHA-256 under the tenant's secret: equal values stay equal (searchable),
//           the value itself is never stored.
//   seal  - AES-GCM under the subject's own data key (the subject is the event's actor.id):
//           readable by pii:read readers until the subject is erased (crypto-shredding).
//   plain - stored as sent (a tenant override that turns a default off).
// Defined once, in the `privacy` section of retention.config.json (bundled into the Worker),
// with per-tenant overrides there and, optionally, in the PRIVACY_TENANTS var. A key of
// `tenants` ending in `*` matches every tenant with that prefix; an exact name wins over a
// prefix, a longer prefix over a shorter one.
import { z } from 'zod'
import config from '../../retention.config.json'
import { DomainError, issuesText } from '../errors'
import { LIMITS } from '../limits'

export const PRIVACY_MODES = ['hash', 'seal', 'plain'] as const
export type PrivacyMode = (typeof PRIVACY_MODES)[number]

/** The fields a policy may name; metadata.<key> names one metadata key. */
export const FIXED_PATHS = ['actor.email', 'actor.name', 'context.ip', 'context.user_agent'] as const
export type FixedPath = (typeof FIXED_PATHS)[number]
export type PrivacyPath = FixedPath | `metadata.${string}`

export const DEFAULT_FIELDS: Record<FixedPath, PrivacyMode> = {
  'actor.email': 'seal',
  'actor.name': 'seal',
  'context.ip': 'seal',
  'context.user_agent': 'seal',
}

const isPath = (p: string) =>
  (FIXED_PATHS as readonly string[]).includes(p) ||
  (p.startsWith('metadata.') && p.length > 9 && p.length - 9 <= LIMITS.metadataMaxKeyLength)

const modeSchema = z.enum(PRIVACY_MODES, {
  error: (i) => `"${String(i.input)}" is not a privacy mode: use ${PRIVACY_MODES.join(', ')}`,
})

// Keys are checked by refinements (a record's key schema reports only "Invalid key").
export const fieldPolicySchema = z.record(z.string(), modeSchema).superRefine((m, ctx) => {
  for (const p of Object.keys(m))
    if (!isPath(p))
      ctx.addIssue({
        code: 'custom',
        path: [p],
        message: `"${p}" is not a field the policy can name: use ${FIXED_PATHS.join(', ')} or metadata.<key> (1-${LIMITS.metadataMaxKeyLength} characters)`,
      })
})

const TENANT_KEY = /^[A-Za-z0-9._:-]{1,128}\*?$/

export const tenantOverridesSchema = z.record(z.string(), fieldPolicySchema).superRefine((m, ctx) => {
  for (const k of Object.keys(m))
    if (!TENANT_KEY.test(k))
      ctx.addIssue({
        code: 'custom',
        path: [k],
        message: `"${k}" must be a tenant name, or a tenant prefix ending in *`,
      })
})

export const privacyConfigSchema = z
  .object({
    fields: fieldPolicySchema.default(DEFAULT_FIELDS),
    tenants: tenantOverridesSchema.default({}),
  })
  .strict()
export type PrivacyConfig = z.infer<typeof privacyConfigSchema>

/** One tenant's policy: every path with a mode other than plain. */
export type TenantPolicy = ReadonlyMap<PrivacyPath, Exclude<PrivacyMode, 'plain'>>

/** Parses a privacy section; the message names each bad path or mode. */
export function parsePrivacyConfig(raw: unknown, source = 'privacy'): PrivacyConfig {
  const r = privacyConfigSchema.safeParse(raw ?? {})
  if (!r.success) throw new Error(`${source} is invalid: ${issuesText(r.error.issues)}`)
  return r.data
}

/** Parses the PRIVACY_TENANTS var (JSON of per-tenant overrides, as in `privacy.tenants`). */
export function parseTenantOverrides(text: string | undefined): PrivacyConfig['tenants'] {
  if (!text?.trim()) return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new DomainError(
      'unavailable',
      'PRIVACY_TENANTS is not JSON: expected {"<tenant or prefix*>": {"<field>": "hash|seal|plain"}}',
    )
  }
  const r = tenantOverridesSchema.safeParse(json)
  if (!r.success)
    throw new DomainError('unavailable', `PRIVACY_TENANTS is invalid: ${issuesText(r.error.issues)}`)
  return r.data
}

function overrideFor(tenants: PrivacyConfig['tenants'], tenant: string) {
  if (tenants[tenant]) return tenants[tenant]
  let best: { len: number; policy: PrivacyConfig['tenants'][string] } | undefined
  for (const [k, policy] of Object.entries(tenants)) {
    if (!k.endsWith('*')) continue
    const prefix = k.slice(0, -1)
    if (tenant.startsWith(prefix) && (!best || prefix.length > best.len))
      best = { len: prefix.length, policy }
  }
  return best?.policy
}

/** The policy of one tenant: the fields, then the config's override, then the var's. */
export function tenantPolicy(
  cfg: PrivacyConfig,
  tenant: string,
  extra: PrivacyConfig['tenants'] = {},
): TenantPolicy {
  const merged: Record<string, PrivacyMode> = {
    ...cfg.fields,
    ...overrideFor(cfg.tenants, tenant),
    ...overrideFor(extra, tenant),
  }
  const out = new Map<PrivacyPath, Exclude<PrivacyMode, 'plain'>>()
  for (const [path, mode] of Object.entries(merged)) if (mode !== 'plain') out.set(path as PrivacyPath, mode)
  return out
}

/** The bundled configuration's privacy section, validated once per isolate. */
let bundled: PrivacyConfig | undefined
export function bundledPrivacyConfig(): PrivacyConfig {
  bundled ??= parsePrivacyConfig((config as { privacy?: unknown }).privacy, 'retention.config.json privacy')
  return bundled
}

const varCache = new Map<string, PrivacyConfig['tenants']>()
/** The policy of a tenant in this deployment (bundled config plus PRIVACY_TENANTS). */
export function policyOf(env: { PRIVACY_TENANTS?: string }, tenant: string): TenantPolicy {
  const text = env.PRIVACY_TENANTS ?? ''
  let extra = varCache.get(text)
  if (!extra) {
    extra = parseTenantOverrides(text)
    varCache.set(text, extra)
  }
  return tenantPolicy(bundledPrivacyConfig(), tenant, extra)
}

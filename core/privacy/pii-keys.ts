// The PII key ring. The secret PII_KEYS is a JSON array of {id, secret (32 random bytes,
// base64url), not_before}. From each ring key, per tenant (HKDF-SHA-256, the tenant in `info`):
//   - a wrapping key (AES-256-GCM) for the tenant's subject data keys: the newest key whose
//     not_before has passed wraps new data keys, every key of the ring unwraps (rotation: add a
//     key; data keys wrapped by an older one are re-wrapped by the newest as they are used);
//   - from the oldest key only, the tenant's HMAC key for hashed fields: a hash must never
//     change, so the oldest key stays in the ring for as long as hashed values are kept.
// Without PII_KEYS nothing is sealed or hashed: ingest of an event with a protected field
// answers 503 (never storing the plaintext), and pii:read readers get 503 for sealed values.
import { z } from 'zod'
import { DomainError, issuesText } from '../errors'

const keyId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters [A-Za-z0-9_-]')
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString())

const ringSchema = z
  .array(
    z
      .object({
        id: keyId,
        secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 random bytes, base64url'),
        not_before: instant,
      })
      .strict(),
  )
  .min(1)
  .refine((ks) => new Set(ks.map((k) => k.id)).size === ks.length, 'key ids must be unique')
export type PiiKeySpec = z.infer<typeof ringSchema>[number]

export const NO_PII_KEYS =
  'This deployment has no PII keys (the PII_KEYS secret is unset), so it cannot protect personal data fields and stores none in plaintext. Set PII_KEYS (npm start writes one locally; npm run deploy creates one).'

export function parsePiiKeys(text: string): PiiKeySpec[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new DomainError('unavailable', 'PII_KEYS is not JSON: expected [{"id", "secret", "not_before"}]')
  }
  const r = ringSchema.safeParse(json)
  if (!r.success) throw new DomainError('unavailable', `PII_KEYS is invalid: ${issuesText(r.error.issues)}`)
  return r.data.sort((a, b) => (a.not_before < b.not_before ? -1 : a.not_before > b.not_before ? 1 : 0))
}

export function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

const enc = new TextEncoder()
const SALT = enc.encode('audit-log pii v1')

async function hkdf(
  secret: Uint8Array,
  info: string,
  algo: SubtleCryptoImportKeyAlgorithm,
  usages: string[],
) {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: enc.encode(info) },
    base,
    algo,
    false,
    usages,
  )
}

/** One tenant's keys from the ring: wrapping keys by ring id, the newest id, the HMAC key. */
export type TenantKeys = {
  tenant: string
  wrapping: Map<string, CryptoKey>
  activeId: string
  hmac: CryptoKey
}

/** The ring loaded for use: tenant keys are derived once per isolate. */
export type PiiKeyRing = { specs: PiiKeySpec[]; tenants: Map<string, Promise<TenantKeys>> }

const rings = new Map<string, PiiKeyRing>()

/** The ring PII_KEYS holds, or undefined when it is unset. */
export function loadPiiKeys(text: string | undefined): PiiKeyRing | undefined {
  if (!text) return undefined
  let ring = rings.get(text)
  if (!ring) {
    ring = { specs: parsePiiKeys(text), tenants: new Map() }
    rings.set(text, ring)
  }
  return ring
}

export function requireRing(ring: PiiKeyRing | undefined): PiiKeyRing {
  if (!ring) throw new DomainError('unavailable', NO_PII_KEYS, undefined, { retry_after: 3600 })
  return ring
}

async function deriveTenant(ring: PiiKeyRing, tenant: string, now: string): Promise<TenantKeys> {
  const wrapping = new Map<string, CryptoKey>()
  for (const k of ring.specs)
    wrapping.set(
      k.id,
      await hkdf(fromB64url(k.secret), `wrap:${tenant}`, { name: 'AES-GCM', length: 256 }, [
        'encrypt',
        'decrypt',
      ]),
    )
  const usable = ring.specs.filter((k) => k.not_before <= now)
  const active = usable[usable.length - 1] ?? ring.specs[0]!
  const oldest = ring.specs[0]!
  const hmac = await hkdf(
    fromB64url(oldest.secret),
    `hmac:${tenant}`,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    ['sign'],
  )
  return { tenant, wrapping, activeId: active.id, hmac }
}

/** The tenant's keys (cached per isolate and ring; the active key is chosen when first derived). */
export function tenantKeys(ring: PiiKeyRing, tenant: string): Promise<TenantKeys> {
  let p = ring.tenants.get(tenant)
  if (!p) {
    p = deriveTenant(ring, tenant, new Date().toISOString())
    if (ring.tenants.size >= 10_000) ring.tenants.clear()
    ring.tenants.set(tenant, p)
  }
  return p
}

/** The tenant's HMAC key as raw bytes (base64url), for clients that hash query values (Athena). */
export async function exportHashKey(secret: string, tenant: string): Promise<string> {
  const base = await crypto.subtle.importKey('raw', fromB64url(secret), 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: enc.encode(`hmac:${tenant}`) },
    base,
    256,
  )
  return b64url(new Uint8Array(bits))
}

/** A new random ring entry, as npm start and npm run deploy write it. */
export function newPiiKeyEntry(id: string, now = new Date()): PiiKeySpec {
  return { id, secret: b64url(crypto.getRandomValues(new Uint8Array(32))), not_before: now.toISOString() }
}

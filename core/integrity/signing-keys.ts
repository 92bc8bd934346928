// The signing key ring. Production: the secret SIGNING_KEYS, a JSON array of
// {id, seed (32 random bytes, base64url), not_before, not_after?}; the newest key whose window
// holds `now` signs, and every key is published (public half only) so old checkpoints stay
// verifiable after a rotation. A retired key can drop its private half: an entry
// {id, public_key, not_before, not_after} is published but can never sign. Keys are never derived
// from another secret: without SIGNING_KEYS nothing signs (issuing a checkpoint or a proof answers
// 503 saying why). Keys whose id starts with `dev-` are development keys (the first `npm start`
// writes one); a document of only such keys is marked `development: true`, and so is an archive
// they signed, for as long as their public halves are published.
import { z } from 'zod'
import { DomainError, issuesText } from '../errors'
import { fromB64url, type PublicKeyDocument, type PublicKeyEntry } from './checkpoint'

// Any RFC 3339 time is accepted and stored as UTC with milliseconds, the form checkpoints use,
// so validity windows compare as plain strings.
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString())

const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters [A-Za-z0-9._-]')
const key32 = (message: string) => z.string().refine((s) => /^[A-Za-z0-9_-]{43}$/.test(s), message)

const keySpec = z.union(
  [
    z
      .object({
        id: keyId,
        seed: key32('must be 32 random bytes, base64url'),
        not_before: instant,
        not_after: instant.optional(),
      })
      .strict(),
    // A retired key: published so the checkpoints it signed still verify, its private half gone.
    z
      .object({
        id: keyId,
        public_key: key32('must be an Ed25519 public key: 32 bytes, base64url'),
        not_before: instant,
        not_after: instant,
      })
      .strict(),
  ],
  {
    error:
      'needs "id", "not_before" and either "seed" (a signing key) or "public_key" and "not_after" (a retired key), nothing else',
  },
)
export const signingKeysSchema = z
  .array(keySpec)
  .min(1)
  .refine((ks) => new Set(ks.map((k) => k.id)).size === ks.length, 'key ids must be unique')
type KeySpec = z.infer<typeof keySpec>

// PKCS #8 wrapper of a raw Ed25519 private key (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

/** A key of the ring; `privateKey` only for keys that can still sign. */
export type SigningKey = { spec: KeySpec; privateKey?: CryptoKey; publicKey: string }
export type Signer = SigningKey & { privateKey: CryptoKey }

async function load(spec: KeySpec): Promise<SigningKey> {
  if (!('seed' in spec)) {
    try {
      await crypto.subtle.importKey('raw', fromB64url(spec.public_key), { name: 'Ed25519' }, true, ['verify'])
    } catch {
      throw new Error(`SIGNING_KEYS is invalid: key ${spec.id}: public_key is not an Ed25519 public key`)
    }
    return { spec, publicKey: spec.public_key }
  }
  const pkcs8 = new Uint8Array(48)
  pkcs8.set(PKCS8_PREFIX)
  pkcs8.set(fromB64url(spec.seed), 16)
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign'])
  const jwk = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey
  return { spec, privateKey, publicKey: jwk.x! }
}

/** Parses the SIGNING_KEYS secret; the error names what is wrong, never a key's value. */
export function parseSigningKeys(text: string): KeySpec[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(
      'SIGNING_KEYS is not JSON: expected [{"id", "seed", "not_before", "not_after"?}] (retired keys: {"id", "public_key", "not_before", "not_after"})',
    )
  }
  const r = signingKeysSchema.safeParse(json)
  if (!r.success) {
    throw new Error(`SIGNING_KEYS is invalid: ${issuesText(r.error.issues)}`)
  }
  return r.data
}

const cache = new Map<string, SigningKey[]>()

/** The ring SIGNING_KEYS holds; empty when it is unset (then nothing can sign). */
export async function loadKeyRing(signingKeys: string | undefined): Promise<SigningKey[]> {
  if (!signingKeys) return []
  const hit = cache.get(signingKeys)
  if (hit) return hit
  const ring = await Promise.all(parseSigningKeys(signingKeys).map(load))
  cache.set(signingKeys, ring)
  return ring
}

export const NO_SIGNING_KEYS =
  'This deployment has no signing keys (the SIGNING_KEYS secret is unset), so it issues no checkpoints and no proofs. Set it with `wrangler secret put SIGNING_KEYS` (npm run keys:new makes an entry).'

export function activeKey(ring: SigningKey[], now: string): Signer {
  const valid = ring
    .filter((k): k is Signer => k.privateKey !== undefined)
    .filter((k) => k.spec.not_before <= now && (k.spec.not_after === undefined || now <= k.spec.not_after))
    .sort((a, b) => (a.spec.not_before < b.spec.not_before ? 1 : -1))
  const key = valid[0]
  if (ring.length === 0)
    throw new DomainError('unavailable', NO_SIGNING_KEYS, undefined, { retry_after: 3600 })
  if (!key)
    throw new DomainError(
      'unavailable',
      'There is no signing key with a seed valid now: every key of SIGNING_KEYS is outside its window or retired.',
      undefined,
      { retry_after: 3600 },
    )
  return key
}

export function publicKeyDocument(ring: SigningKey[]): PublicKeyDocument & { development?: boolean } {
  const keys: PublicKeyEntry[] = ring.map((k) => ({
    id: k.spec.id,
    algorithm: 'Ed25519',
    public_key: k.publicKey,
    not_before: k.spec.not_before,
    ...(k.spec.not_after ? { not_after: k.spec.not_after } : {}),
  }))
  return ring.length > 0 && ring.every(isDevelopmentKey) ? { keys, development: true } : { keys }
}

export function isDevelopmentKey(k: SigningKey): boolean {
  return k.spec.id.startsWith('dev-')
}

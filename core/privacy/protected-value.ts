// The stored forms of protected values. Each keeps the field's JSON type, string, and says what
// it is:
//   hmac:v1:<64 hex>                            HMAC-SHA-256 of the value's JSON text, tenant key
//   sealed:v1:<data key id>:<base64url iv|ct>   AES-256-GCM of the value's JSON text
// Invariants:
// - Sealing is deterministic: the IVs of an event's sealed fields come from one HMAC, under a key
//   derived from the data key, of the tenant, the event id and every (path, plaintext) sealed in
//   it, sorted by path (a synthetic IV), with the field's index folded into the last bytes. An
//   identical retry of an event seals to the same bytes, so its content hash is unchanged (no
//   false id conflict); any other content gives unrelated 96-bit IVs.
// - The associated data binds tenant, event id and field path: a sealed value moved to another
//   event or field does not open.
import { z } from 'zod'
import { b64url, fromB64url } from './pii-keys'

export const HMAC_PREFIX = 'hmac:v1:'
export const SEALED_PREFIX = 'sealed:v1:'
export const HMAC_RE = /^hmac:v1:[0-9a-f]{64}$/
export const SEALED_RE = /^sealed:v1:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{38,})$/

/** What readers without pii:read see for a sealed value, and everyone once its subject is erased. */
export const SEALED_MASK = '[sealed]'
export const ERASED_MASK = '[erased]'

export const hashedValueSchema = z.string().regex(HMAC_RE)
export const sealedValueSchema = z.string().regex(SEALED_RE)
/** A value as the store holds a protected field. */
export const protectedValueSchema = z.union([hashedValueSchema, sealedValueSchema])
/** A protected value as the API may show it (a hash, or a mask). */
export const shownProtectedSchema = z.union([hashedValueSchema, z.enum([SEALED_MASK, ERASED_MASK])])

export function isProtected(v: unknown): v is string {
  return typeof v === 'string' && (v.startsWith(HMAC_PREFIX) || v.startsWith(SEALED_PREFIX))
}

const enc = new TextEncoder()
const dec = new TextDecoder()

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The hashed form of a value (its JSON text, so 1 and "1" differ). */
export async function hashValue(hmacKey: CryptoKey, value: unknown): Promise<string> {
  return HMAC_PREFIX + hex(await crypto.subtle.sign('HMAC', hmacKey, enc.encode(JSON.stringify(value))))
}

/** The associated data of a sealed field. */
export function sealedAd(tenant: string, eventId: string, path: string): Uint8Array {
  return enc.encode(JSON.stringify(['audit-log sealed v1', tenant, eventId, path]))
}

/** A subject's data key, ready to seal and open. */
export type DataKey = { id: string; enc: CryptoKey; iv: CryptoKey }

/** The two working keys of a data key's 32 raw bytes (HKDF, distinct info). */
export async function importDataKey(id: string, raw: Uint8Array): Promise<DataKey> {
  const base = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey'])
  const derive = (info: string, algo: SubtleCryptoImportKeyAlgorithm, usages: string[]) =>
    crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode(info) },
      base,
      algo,
      false,
      usages,
    )
  return {
    id,
    enc: await derive('enc', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    iv: await derive('iv', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign']),
  }
}

/**
 * Seals the given fields of one event under the subject's key: one HMAC for the IVs, one
 * AES-GCM encryption per field. Returns the sealed values in the order given.
 */
export async function sealFields(
  key: DataKey,
  tenant: string,
  eventId: string,
  fields: [path: string, value: unknown][],
): Promise<string[]> {
  const texts = fields.map(([path, v]) => [path, JSON.stringify(v)] as [string, string])
  const sorted = [...texts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const base = new Uint8Array(
    await crypto.subtle.sign(
      'HMAC',
      key.iv,
      enc.encode(JSON.stringify(['audit-log iv v1', tenant, eventId, sorted])),
    ),
  )
  const index = new Map(sorted.map(([path], i) => [path, i]))
  return Promise.all(
    texts.map(async ([path, text]) => {
      const iv = base.slice(0, 12)
      const i = index.get(path) ?? 0
      iv[8] = (iv[8] ?? 0) ^ ((i >>> 24) & 0xff)
      iv[9] = (iv[9] ?? 0) ^ ((i >>> 16) & 0xff)
      iv[10] = (iv[10] ?? 0) ^ ((i >>> 8) & 0xff)
      iv[11] = (iv[11] ?? 0) ^ (i & 0xff)
      const ad = sealedAd(tenant, eventId, path)
      const ct = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: ad }, key.enc, enc.encode(text)),
      )
      const out = new Uint8Array(12 + ct.length)
      out.set(iv)
      out.set(ct, 12)
      return `${SEALED_PREFIX}${key.id}:${b64url(out)}`
    }),
  )
}

/** Seals one field of an event (sealFields with one field). */
export async function sealValue(
  key: DataKey,
  tenant: string,
  eventId: string,
  path: string,
  value: unknown,
): Promise<string> {
  return (await sealFields(key, tenant, eventId, [[path, value]]))[0]!
}

/** The data key id a sealed value names, or undefined for anything else. */
export function sealedKeyId(v: unknown): string | undefined {
  return typeof v === 'string' ? SEALED_RE.exec(v)?.[1] : undefined
}

/** Opens a sealed value; throws when the key, the associated data or the bytes do not match. */
export async function openValue(key: DataKey, ad: Uint8Array, sealed: string): Promise<unknown> {
  const m = SEALED_RE.exec(sealed)
  if (!m || m[1] !== key.id) throw new Error('not a value sealed under this key')
  const bytes = fromB64url(m[2]!)
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: ad },
    key.enc,
    bytes.slice(12),
  )
  return JSON.parse(dec.decode(pt)) as unknown
}

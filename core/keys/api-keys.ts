// API keys: `alk_` + 256 random bits, shown once at creation. Only the key's SHA-256 is stored
// (core/db/keys.ts); the Worker looks keys up by that hash. Tenant names follow one rule.
import { z } from 'zod'
import type { Db } from '../db/client'
import { insertKey, type Scope } from '../db/keys'
import { randomToken } from '../ids'

export const tenantSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'must be 1-128 characters of A-Z a-z 0-9 . _ - (starting alphanumeric)',
  )

const enc = new TextEncoder()

/** SHA-256 of a secret as lower-case hex: what is stored and compared for keys and the admin token. */
export async function secretHash(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)))
  let out = ''
  for (const b of d) out += b.toString(16).padStart(2, '0')
  return out
}

/** Mints a key for a tenant and stores its hash; the returned `key` is the only copy of the secret. */
export async function mintApiKey(db: Db, o: { tenant: string; scopes: Scope[]; name?: string }) {
  const key = `alk_${randomToken(32)}`
  const record = await insertKey(db, {
    id: `key_${randomToken(12)}`,
    tenant: o.tenant,
    name: o.name,
    scopes: [...new Set(o.scopes)],
    keyHash: await secretHash(key),
    prefix: key.slice(0, 12),
  })
  return { record, key }
}

// API keys: `alk_` + 256 random bits, shown once at creation. Only the key's SHA-256 is stored
// (core/db/keys.ts); the Worker looks keys up by that hash. Tenant names follow one rule.
//
// The key lifecycle is audited in the key's own tenant, through the events queue like any event:
// - audit_log.key.created is accepted by the queue BEFORE the key row is written, and the secret
//   is handed out only after both. Every stored key therefore has its creation on record; if the
//   queue refuses, nothing is created (503). The one gap left is the reverse: the row write fails
//   after the event was queued, leaving a creation event for a key that never existed (and whose
//   secret nobody received).
// - audit_log.key.revoked: revocation never waits for the queue (a leaked key must stop working
//   even when the queue is down). The event is built first and stored with the revoked row in
//   the same statement, then sent; a repeated DELETE re-sends the stored event, whose fixed id
//   the consumer dedupes, so every revocation gets on record exactly once.
import { z } from 'zod'
import type { Db } from '../db/client'
import {
  ADMIN_TOKEN_ACTOR,
  type ApiKeyRecord,
  getKey,
  insertKey,
  isExpired,
  listKeys,
  type Revocation,
  revocationEvents,
  revokeKeys,
  type Scope,
} from '../db/keys'
import { deleteSessionsOfKeys } from '../db/sessions'
import { DomainError, forbidden, notFound, unauthorized } from '../errors'
import { randomToken } from '../ids'
import { enqueueEvents } from '../ingest/enqueue'
import { type ServiceEvent, serviceEvent } from '../ingest/service-events'
import type { PendingEvent } from '../ingest/stored-event'

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

/** The longest a key may live: `expires_at` is at most this far ahead. */
export const KEY_MAX_LIFETIME_DAYS = 730
export const KEY_MAX_LIFETIME_MS = KEY_MAX_LIFETIME_DAYS * 86_400_000

/** Who acts on keys: the operator's admin token, a tenant key holding `admin`, or an Access admin. */
export type KeyManager =
  | { kind: 'admin-token' }
  | { kind: 'key'; keyId: string; tenant: string }
  /** A Cloudflare Access identity with the admin role (core/auth/access.ts), own tenant only. */
  | { kind: 'access'; email: string; tenant: string; scopes: Scope[] }

const managerId = (by: KeyManager) =>
  by.kind === 'key' ? by.keyId : by.kind === 'access' ? `access:${by.email}` : ADMIN_TOKEN_ACTOR

function managerActor(by: KeyManager): ServiceEvent['actor'] {
  if (by.kind === 'access') return { type: 'user', id: by.email }
  return by.kind === 'key'
    ? { type: 'api_key', id: by.keyId }
    : { type: 'system', id: ADMIN_TOKEN_ACTOR, name: 'admin token' }
}

/** Whether a key holding `held` may hand out `wanted`: `admin` holds every scope of its tenant. */
export function scopesWithin(held: readonly Scope[], wanted: readonly Scope[]): boolean {
  return held.includes('admin') || wanted.every((s) => held.includes(s))
}

function keyMetadata(k: {
  scopes: Scope[]
  expiresAt: string | null
  prefix: string
  createdBy: string | null
}) {
  // Scopes as one space-separated string (the OAuth convention), so metadata stays flat.
  return { scopes: k.scopes.join(' '), expires_at: k.expiresAt, prefix: k.prefix, created_by: k.createdBy }
}

function keyTarget(k: { id: string; name: string | null }): ServiceEvent['target'] {
  return { type: 'api_key', id: k.id, ...(k.name ? { name: k.name } : {}) }
}

function queueDown(err: unknown, detail: string, extra: Record<string, unknown> = {}): never {
  const retry = err instanceof DomainError ? err.extra?.retry_after : undefined
  throw new DomainError('unavailable', detail, undefined, { retry_after: retry ?? 5, ...extra })
}

/**
 * The managing key as D1 holds it now, not as the isolate's auth cache last saw it: a key revoked
 * or expired a moment ago manages no keys.
 */
async function activeManager(db: Db, by: Extract<KeyManager, { kind: 'key' }>, now = new Date()) {
  const manager = await getKey(db, by.keyId)
  if (!manager || manager.tenant !== by.tenant || manager.revokedAt || isExpired(manager, now))
    throw unauthorized('The API key is unknown, revoked or expired.')
  return manager
}

/**
 * Mints a key: checks what the manager may hand out, records audit_log.key.created, then stores
 * the key. The returned `key` is the only copy of the secret.
 *
 * A tenant key mints only for its own tenant, never a scope it does not hold, and never a key
 * that outlives it: without `expiresAt` the new key inherits the manager's expiry. The manager
 * is re-read from D1 (not the auth cache), and the row is written only while it is still active.
 */
export async function mintApiKey(
  db: Db,
  queue: Queue<unknown>,
  o: { tenant: string; scopes: Scope[]; name?: string; expiresAt?: string },
  by: KeyManager,
  requestId: string,
): Promise<{ record: ApiKeyRecord; key: string }> {
  const now = new Date()
  const scopes = [...new Set(o.scopes)]
  let expiresAt = o.expiresAt ?? null
  if (by.kind === 'access') {
    if (by.tenant !== o.tenant)
      throw forbidden('A Cloudflare Access identity mints keys for its own tenant only.')
    if (!scopesWithin(by.scopes, scopes))
      throw forbidden('A Cloudflare Access identity cannot hand out scopes its role lacks.')
  }
  if (by.kind === 'key') {
    if (by.tenant !== o.tenant) throw forbidden('A tenant admin key can only mint keys for its own tenant.')
    const manager = await activeManager(db, by, now)
    if (!scopesWithin(manager.scopes, scopes))
      throw new DomainError('forbidden', 'A key cannot hand out scopes it does not hold.', [
        { path: 'scopes', message: `must be within the minting key's scopes (${manager.scopes.join(', ')})` },
      ])
    if (manager.expiresAt) {
      if (expiresAt === null) expiresAt = manager.expiresAt
      else if (expiresAt > manager.expiresAt)
        throw new DomainError('forbidden', 'A key cannot outlive the key that mints it.', [
          {
            path: 'expires_at',
            message: `must be at or before ${manager.expiresAt}, when the minting key expires`,
          },
        ])
    }
  }
  const key = `alk_${randomToken(32)}`
  const k = {
    id: `key_${randomToken(12)}`,
    tenant: o.tenant,
    name: o.name,
    scopes,
    keyHash: await secretHash(key),
    prefix: key.slice(0, 12),
    createdBy: managerId(by),
    expiresAt,
    createdAt: now.toISOString(),
  }
  const created = serviceEvent(
    o.tenant,
    {
      action: 'audit_log.key.created',
      actor: managerActor(by),
      target: keyTarget({ id: k.id, name: k.name ?? null }),
      metadata: keyMetadata(k),
    },
    { keyId: managerId(by), requestId },
    now,
  )
  try {
    await enqueueEvents(queue, o.tenant, [created])
  } catch (err) {
    queueDown(
      err,
      'The event queue is unavailable, so the key creation cannot be recorded; no key was created. Retry later.',
    )
  }
  const record = await insertKey(db, k, by.kind === 'key' ? { activeCreator: by.keyId } : {})
  if (!record) throw unauthorized('The minting key was revoked or expired while minting; no key was created.')
  return { record, key }
}

/** A key and, recursively, every key it minted (root first, breadth first). */
export function descendants(keys: ApiKeyRecord[], rootId: string): ApiKeyRecord[] {
  const children = new Map<string, ApiKeyRecord[]>()
  for (const k of keys) {
    if (!k.createdBy) continue
    const list = children.get(k.createdBy) ?? []
    list.push(k)
    children.set(k.createdBy, list)
  }
  const root = keys.find((k) => k.id === rootId)
  if (!root) return []
  const out = [root]
  const seen = new Set([rootId])
  for (let i = 0; i < out.length; i++) {
    for (const c of children.get(out[i]!.id) ?? []) {
      if (seen.has(c.id)) continue
      seen.add(c.id)
      out.push(c)
    }
  }
  return out
}

/**
 * Revokes a key of `tenant` (with `cascade`, also every key it minted, recursively), recording
 * one audit_log.key.revoked per revoked key. Keys already revoked stay as they were; their
 * stored revocation events are sent again (deduped by id), so repeating the call after a 503
 * completes the record. Returns the key after revocation and the ids this call revoked.
 */
export async function revokeApiKey(
  db: Db,
  queue: Queue<unknown>,
  o: { tenant?: string; id: string; cascade: boolean },
  by: KeyManager,
  requestId: string,
): Promise<{ record: ApiKeyRecord; revoked: string[] }> {
  if (by.kind === 'key') await activeManager(db, by)
  const first = await getKey(db, o.id)
  if (!first || (o.tenant !== undefined && first.tenant !== o.tenant)) throw notFound(`No API key "${o.id}".`)
  const tenant = first.tenant
  const revoked: string[] = []
  let tree: ApiKeyRecord[] = [first]
  // A key minted while the walk runs is either seen by the next pass or refused at its write
  // (its creator is already revoked): repeat until a pass revokes nothing.
  for (let pass = 0; pass < 10; pass++) {
    const keys = await listKeys(db, tenant)
    tree = o.cascade ? descendants(keys, o.id) : keys.filter((k) => k.id === o.id)
    const now = new Date()
    const pending: Revocation[] = tree
      .filter((k) => !k.revokedAt)
      .map((k) => {
        const cascadeFrom: Record<string, string> = k.id === o.id ? {} : { cascade_from: o.id }
        const event: PendingEvent = serviceEvent(
          tenant,
          {
            action: 'audit_log.key.revoked',
            actor: managerActor(by),
            target: keyTarget(k),
            metadata: { ...keyMetadata(k), ...cascadeFrom },
          },
          { keyId: managerId(by), requestId },
          now,
        )
        return {
          id: k.id,
          revokedAt: now.toISOString(),
          revokedBy: managerId(by),
          event: JSON.stringify(event),
        }
      })
    if (pending.length === 0) break
    revoked.push(...(await revokeKeys(db, pending)))
  }
  // A revoked key's console sessions end now, before anything that may fail (the queue below).
  await deleteSessionsOfKeys(
    db,
    tree.map((k) => k.id),
  )
  const stored = (
    await revocationEvents(
      db,
      tenant,
      tree.map((k) => k.id),
    )
  ).map((e) => JSON.parse(e) as PendingEvent)
  try {
    if (stored.length > 0) await enqueueEvents(queue, tenant, stored)
  } catch (err) {
    queueDown(
      err,
      'The key is revoked, but the event queue is unavailable, so the revocation is not yet on record. Repeat the request to record it.',
      { revoked },
    )
  }
  const record = (await getKey(db, o.id)) ?? first
  return { record, revoked }
}

// Subject data keys: random AES-256 keys, one per (tenant, subject) until the subject is erased,
// stored wrapped by the tenant's wrapping key (core/privacy/pii-keys.ts) in D1
// (core/db/subject-keys.ts). Unwrapped keys are cached per isolate for DATA_KEY_CACHE_TTL_MS:
// erasure evicts them here at once; in other isolates a key stays usable for at most that long
// after its erasure (the bound stated in docs/privacy.md).
import type { Db } from '../db/client'
import { insertKeysIfAbsent, keysOfSubjects, rewrapKey, type SubjectKeyRow } from '../db/subject-keys'
import { DomainError } from '../errors'
import { b64url, fromB64url, type PiiKeyRing, tenantKeys } from './pii-keys'
import { type DataKey, importDataKey } from './protected-value'

export const DATA_KEY_CACHE_TTL_MS = 60_000
const MAX_CACHE = 10_000

type Entry = { key: DataKey | 'erased'; expires: number }
/** By tenant, subject and key id. */
const byId = new Map<string, Entry>()
/** The subject's unerased key (what ingest seals with), by tenant and subject. */
const active = new Map<string, { key: DataKey; expires: number }>()
/** Lookups in progress in this isolate, by tenant and subject: concurrent misses share one. */
const inflight = new Map<string, Promise<DataKey>>()

const idKey = (tenant: string, subject: string, keyId: string) => JSON.stringify([tenant, subject, keyId])
const subjectKey = (tenant: string, subject: string) => JSON.stringify([tenant, subject])

function remember<V>(m: Map<string, V>, k: string, v: V) {
  if (m.size >= MAX_CACHE) m.clear()
  m.set(k, v)
}

/** Forgets every cached key of a subject (erasure), or all of them. */
export function evictSubjectKeys(tenant?: string, subject?: string) {
  if (tenant === undefined || subject === undefined) {
    byId.clear()
    active.clear()
    inflight.clear()
    return
  }
  active.delete(subjectKey(tenant, subject))
  inflight.delete(subjectKey(tenant, subject))
  const prefix = JSON.stringify([tenant, subject]).slice(0, -1)
  for (const k of byId.keys()) if (k.startsWith(prefix)) byId.delete(k)
}

const enc = new TextEncoder()
const wrapAd = (tenant: string, subject: string, keyId: string) =>
  enc.encode(JSON.stringify(['audit-log subject key v1', tenant, subject, keyId]))

async function wrap(ring: PiiKeyRing, tenant: string, subject: string, keyId: string, raw: Uint8Array) {
  const t = await tenantKeys(ring, tenant)
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: wrapAd(tenant, subject, keyId) },
      t.wrapping.get(t.activeId)!,
      raw as Uint8Array,
    ),
  )
  const out = new Uint8Array(12 + ct.length)
  out.set(iv)
  out.set(ct, 12)
  return { wrappedKey: b64url(out), wrappedBy: t.activeId }
}

/** Unwraps a stored key; a key wrapped by an older ring key is re-wrapped by the newest. */
async function unwrap(db: Db, ring: PiiKeyRing, row: SubjectKeyRow): Promise<DataKey> {
  const t = await tenantKeys(ring, row.tenant)
  const by = row.wrappedBy ? t.wrapping.get(row.wrappedBy) : undefined
  if (!by)
    throw new DomainError(
      'unavailable',
      `A subject key is wrapped by PII key "${row.wrappedBy}", which PII_KEYS no longer holds: restore that entry to the ring.`,
      undefined,
      { retry_after: 3600 },
    )
  const bytes = fromB64url(row.wrappedKey!)
  const raw = new Uint8Array(
    await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: wrapAd(row.tenant, row.subject, row.keyId) },
      by,
      bytes.slice(12),
    ),
  )
  if (row.wrappedBy !== t.activeId) {
    const next = await wrap(ring, row.tenant, row.subject, row.keyId, raw)
    await rewrapKey(db, { ...row, from: row.wrappedBy!, ...next } as Parameters<typeof rewrapKey>[1])
  }
  return importDataKey(row.keyId, raw)
}

/**
 * The unerased data key of each subject, created when a subject has none. Concurrent requests
 * converge: each inserts its candidate only if no unerased key exists, then reads back the one
 * stored; within an isolate, concurrent requests for a subject share one lookup.
 */
export async function activeDataKeys(
  db: Db,
  ring: PiiKeyRing,
  tenant: string,
  subjects: string[],
  /** Where a new key is written (default `db`): the tenant's shard, refused while it moves. */
  writeDb?: () => Promise<Db>,
): Promise<Map<string, DataKey>> {
  const now = Date.now()
  const out = new Map<string, DataKey>()
  const waits: [string, Promise<DataKey>][] = []
  const misses: string[] = []
  for (const s of new Set(subjects)) {
    const hit = active.get(subjectKey(tenant, s))
    const pending = inflight.get(subjectKey(tenant, s))
    if (hit && hit.expires > now) out.set(s, hit.key)
    else if (pending) waits.push([s, pending])
    else misses.push(s)
  }
  if (misses.length > 0) {
    const loading = loadActiveKeys(db, ring, tenant, misses, now, writeDb)
    for (const s of misses) {
      const k = subjectKey(tenant, s)
      const one = loading.then((m) => m.get(s)!)
      // The caller sees failures through `loading`; this copy only serves concurrent waiters.
      one.catch(() => {})
      inflight.set(k, one)
      waits.push([s, one])
    }
    loading.then(
      () => {
        for (const s of misses) inflight.delete(subjectKey(tenant, s))
      },
      () => {
        for (const s of misses) inflight.delete(subjectKey(tenant, s))
      },
    )
    await loading
  }
  for (const [s, p] of waits) out.set(s, await p)
  return out
}

async function loadActiveKeys(
  db: Db,
  ring: PiiKeyRing,
  tenant: string,
  misses: string[],
  now: number,
  writeDb?: () => Promise<Db>,
): Promise<Map<string, DataKey>> {
  const out = new Map<string, DataKey>()
  const live = (rows: SubjectKeyRow[]) =>
    new Map(rows.filter((r) => r.erasedAt === null && r.wrappedKey !== null).map((r) => [r.subject, r]))
  let rows = live(await keysOfSubjects(db, tenant, misses))
  const absent = misses.filter((s) => !rows.has(s))
  if (absent.length > 0) {
    const createdAt = new Date(now).toISOString()
    const candidates = await Promise.all(
      absent.map(async (subject) => {
        const keyId = b64url(crypto.getRandomValues(new Uint8Array(12)))
        const raw = crypto.getRandomValues(new Uint8Array(32))
        return { tenant, subject, keyId, createdAt, ...(await wrap(ring, tenant, subject, keyId, raw)) }
      }),
    )
    const w = writeDb ? await writeDb() : db
    await insertKeysIfAbsent(w, candidates)
    rows = live(await keysOfSubjects(w, tenant, misses))
  }
  for (const s of misses) {
    const row = rows.get(s)
    if (!row) throw new Error(`no data key could be stored for a subject of tenant ${tenant}`)
    const key = await unwrap(db, ring, row)
    remember(active, subjectKey(tenant, s), { key, expires: now + DATA_KEY_CACHE_TTL_MS })
    remember(byId, idKey(tenant, s, key.id), { key, expires: now + DATA_KEY_CACHE_TTL_MS })
    out.set(s, key)
  }
  return out
}

export type KeyRef = { subject: string; keyId: string }
/** A key as a reader finds it: usable, erased, or unknown (no such row). */
export type FoundKey = DataKey | 'erased' | 'unknown'

/**
 * The keys sealed values name. `ring` may be absent when the caller only needs to know which are
 * erased; then a live key is answered as 'unavailable' for the caller to refuse.
 */
export async function dataKeysFor(
  db: Db,
  ring: PiiKeyRing | undefined,
  tenant: string,
  refs: KeyRef[],
): Promise<Map<string, FoundKey | 'unavailable'>> {
  const now = Date.now()
  const out = new Map<string, FoundKey | 'unavailable'>()
  const missSubjects = new Set<string>()
  for (const r of refs) {
    const k = idKey(tenant, r.subject, r.keyId)
    const hit = byId.get(k)
    if (hit && hit.expires > now && (hit.key === 'erased' || ring)) out.set(k, hit.key)
    else missSubjects.add(r.subject)
  }
  if (missSubjects.size === 0) return out
  const rows = await keysOfSubjects(db, tenant, [...missSubjects])
  const found = new Map(rows.map((r) => [idKey(tenant, r.subject, r.keyId), r]))
  for (const r of refs) {
    const k = idKey(tenant, r.subject, r.keyId)
    if (out.has(k)) continue
    const row = found.get(k)
    if (!row) out.set(k, 'unknown')
    else if (row.erasedAt !== null || row.wrappedKey === null) {
      out.set(k, 'erased')
      remember(byId, k, { key: 'erased', expires: now + DATA_KEY_CACHE_TTL_MS })
    } else if (!ring) out.set(k, 'unavailable')
    else {
      const key = await unwrap(db, ring, row)
      remember(byId, k, { key, expires: now + DATA_KEY_CACHE_TTL_MS })
      out.set(k, key)
    }
  }
  return out
}

export { idKey as dataKeyRef }

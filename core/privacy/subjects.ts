// Data subjects (an events' actor.id within a tenant): erasure by crypto-shredding, and the
// report of what is held, for access requests.
// Invariants: erasure deletes the subject's wrapped data keys and nothing else, so every stored
// byte and every hash stays as it was (proofs and the verifier still pass) while every sealed
// value of the subject, wherever a copy of it lives, can no longer be opened. Repeating an
// erasure changes nothing; its audit event has an id derived from the erasure itself, so a
// repeat (or a retry after a failed send) is deduplicated by the consumer.
import type { Db } from '../db/client'
import { ERASURE_MARKER, eraseSubjectKeys, keysOfSubjects, subjectHoldings } from '../db/subject-keys'
import { recordServiceEvents } from '../ingest/service-events'
import { storedClassOf } from '../retention/classes'
import { evictSubjectKeys } from './subject-keys'

export type Erasure = { subject: string; erased_at: string; keys_erased: number; repeated: boolean }

async function erasureEventId(tenant: string, subject: string, at: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(JSON.stringify([tenant, subject, at])),
  )
  const hex = Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')
  return `subject-erasure-${hex}`
}

/** Erases a subject's data keys and records it (audit_log.subject.erased, by the key that asked). */
export async function eraseSubject(
  db: Db,
  queue: Queue<unknown>,
  a: { tenant: string; subject: string; keyId: string; requestId: string },
): Promise<Erasure> {
  const now = new Date().toISOString()
  const erasedNow = await eraseSubjectKeys(db, a.tenant, a.subject, a.keyId, now)
  evictSubjectKeys(a.tenant, a.subject)
  const rows = await keysOfSubjects(db, a.tenant, [a.subject])
  // The latest erasure: a subject that came back after one has a new key, erased by a later one.
  const at =
    rows
      .map((r) => r.erasedAt)
      .filter((t): t is string => t !== null)
      .sort()
      .at(-1) ?? now
  const keys = rows.filter((r) => r.erasedAt === at && r.keyId !== ERASURE_MARKER).length
  // The key that erased (a repeat by another key records the same event, so it dedupes).
  const by = rows.find((r) => r.erasedAt === at)?.erasedBy ?? a.keyId
  await recordServiceEvents(
    queue,
    a.tenant,
    [
      {
        id: await erasureEventId(a.tenant, a.subject, at),
        occurred_at: at,
        action: 'audit_log.subject.erased',
        actor: { type: 'api_key', id: by },
        target: { type: 'subject', id: a.subject },
        metadata: { keys_erased: keys },
        description: "The subject's data keys were destroyed: their sealed values can no longer be read.",
      },
    ],
    { keyId: a.keyId, requestId: a.requestId },
  )
  return {
    subject: a.subject,
    erased_at: at,
    keys_erased: keys,
    repeated: erasedNow.length === 0 && at !== now,
  }
}

/** What is held for a subject: events by retention class, protected fields, the keys and erasure. */
export async function subjectReport(db: Db, tenant: string, subject: string) {
  const [holdings, rows] = await Promise.all([
    subjectHoldings(db, tenant, subject),
    keysOfSubjects(db, tenant, [subject]),
  ])
  const byClass: Record<string, number> = {}
  for (const c of holdings.classes) {
    const name = storedClassOf(c.class === null ? {} : { retention: c.class })
    byClass[name] = (byClass[name] ?? 0) + c.count
  }
  const live = rows.filter((r) => r.erasedAt === null)
  const erasedAt =
    rows
      .map((r) => r.erasedAt)
      .filter((t): t is string => t !== null)
      .sort()
      .at(-1) ?? null
  return {
    subject,
    tenant,
    events: { total: Object.values(byClass).reduce((a, b) => a + b, 0), by_class: byClass },
    fields: holdings.fields,
    keys: rows
      .filter((r) => r.keyId !== ERASURE_MARKER)
      .sort((x, y) => (x.createdAt < y.createdAt ? -1 : 1))
      .map((r) => ({
        key_id: r.keyId,
        created_at: r.createdAt,
        erased_at: r.erasedAt,
        erased_by: r.erasedBy,
      })),
    erased: erasedAt !== null && live.length === 0,
    erased_at: erasedAt,
  }
}
export type SubjectReport = Awaited<ReturnType<typeof subjectReport>>

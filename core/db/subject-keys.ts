// Per-subject data keys (migrations/0008_subject_keys.sql). Keys are stored only wrapped; the
// unwrapping happens in core/privacy/subject-keys.ts. Erasure is an UPDATE that deletes the
// wrapped key and keeps the row.
import { and, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from './client'
import { subjectKeys } from './schema'

export type SubjectKeyRow = typeof subjectKeys.$inferSelect

// D1 binds at most 100 parameters per statement.
const IN_CHUNK = 90
const INSERT_CHUNK = 12 // 8 columns a row

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

/** Every key row (erased or not) of the given subjects of a tenant. */
export async function keysOfSubjects(db: Db, tenant: string, subjects: string[]): Promise<SubjectKeyRow[]> {
  const out: SubjectKeyRow[] = []
  for (const part of chunks([...new Set(subjects)], IN_CHUNK))
    out.push(
      ...(await db
        .select()
        .from(subjectKeys)
        .where(and(eq(subjectKeys.tenant, tenant), inArray(subjectKeys.subject, part)))),
    )
  return out
}

/**
 * Stores new keys unless the subject already has an unerased one (the partial unique index):
 * of two concurrent first events of a subject, one key is stored and both read it back.
 */
export async function insertKeysIfAbsent(db: Db, rows: (typeof subjectKeys.$inferInsert)[]): Promise<void> {
  const parts = chunks(rows, INSERT_CHUNK)
  if (parts.length === 0) return
  const [first, ...rest] = parts.map((p) => db.insert(subjectKeys).values(p).onConflictDoNothing())
  await db.batch([first!, ...rest])
}

/** Re-wraps a key by the newest ring key, if it is still wrapped by `from` and not erased. */
export async function rewrapKey(
  db: Db,
  k: { tenant: string; subject: string; keyId: string; from: string; wrappedKey: string; wrappedBy: string },
): Promise<void> {
  await db
    .update(subjectKeys)
    .set({ wrappedKey: k.wrappedKey, wrappedBy: k.wrappedBy })
    .where(
      and(
        eq(subjectKeys.tenant, k.tenant),
        eq(subjectKeys.subject, k.subject),
        eq(subjectKeys.keyId, k.keyId),
        eq(subjectKeys.wrappedBy, k.from),
        isNull(subjectKeys.erasedAt),
      ),
    )
}

/**
 * Erases every unerased key of a subject: the wrapped key is deleted, the row says when and by
 * whom. A subject without any key row gets one that says it is erased (`marker`), so the subject
 * report answers "erased" either way. Returns the keys erased now (none on a repeat).
 */
export async function eraseSubjectKeys(
  db: Db,
  tenant: string,
  subject: string,
  by: string,
  at: string,
): Promise<string[]> {
  const erased = await db
    .update(subjectKeys)
    .set({ wrappedKey: null, erasedAt: at, erasedBy: by })
    .where(
      and(eq(subjectKeys.tenant, tenant), eq(subjectKeys.subject, subject), isNull(subjectKeys.erasedAt)),
    )
    .returning({ keyId: subjectKeys.keyId })
  if (erased.length === 0) {
    const any = await db
      .select({ keyId: subjectKeys.keyId })
      .from(subjectKeys)
      .where(and(eq(subjectKeys.tenant, tenant), eq(subjectKeys.subject, subject)))
      .limit(1)
    if (any.length === 0)
      await db
        .insert(subjectKeys)
        .values({ tenant, subject, keyId: ERASURE_MARKER, createdAt: at, erasedAt: at, erasedBy: by })
        .onConflictDoNothing()
  }
  return erased.map((r) => r.keyId)
}

/** The key id of the row that records the erasure of a subject that had no key. */
export const ERASURE_MARKER = '-'

/** What D1 holds of a subject: events by retention class, and protected values by field. */
export async function subjectHoldings(db: Db, tenant: string, subject: string) {
  const [classes, fields] = await db.$client.batch<Record<string, unknown>>([
    db.$client
      .prepare(
        `SELECT json_extract(body, '$.retention') AS class, count(*) AS n FROM events
         WHERE tenant = ? AND actor_id = ? GROUP BY 1`,
      )
      .bind(tenant, subject),
    db.$client
      .prepare(
        `SELECT substr(j.value, 1, instr(j.value, ':') - 1) AS kind, substr(j.fullkey, 3) AS path, count(*) AS n
         FROM events, json_tree(events.body) AS j
         WHERE events.tenant = ? AND events.actor_id = ? AND j.type = 'text'
           AND (j.value LIKE 'sealed:v1:%' OR j.value LIKE 'hmac:v1:%')
           AND (j.fullkey LIKE '$.actor.%' OR j.fullkey LIKE '$.context.%' OR j.fullkey LIKE '$.metadata.%')
         GROUP BY 1, 2 ORDER BY 2`,
      )
      .bind(tenant, subject),
  ])
  return {
    classes: (classes?.results ?? []).map((r) => ({ class: r.class as string | null, count: Number(r.n) })),
    fields: (fields?.results ?? [])
      .map((r) => ({
        // json_tree quotes keys that are not plain identifiers: "user_agent".
        path: String(r.path).replace(/"((?:[^"\\]|\\.)*)"/g, (_, k: string) => k.replace(/\\(.)/g, '$1')),
        kind: r.kind === 'sealed' ? ('seal' as const) : ('hash' as const),
        count: Number(r.n),
      }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : 1)),
  }
}

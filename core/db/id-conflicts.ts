// Id conflicts: later posts of a stored id whose content differs from the stored copy (which
// wins, always). One row per (tenant, id, request, content), so recording the same conflict again
// (a redelivered message) changes nothing; never deleted.
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from './client'
import { idConflicts } from './schema'

export type IdConflictRow = typeof idConflicts.$inferInsert

export type ConflictSummary = { count: number; last_at: string }

const rowKey = (r: Pick<IdConflictRow, 'id' | 'requestId' | 'contentHash'>) =>
  JSON.stringify([r.id, r.requestId, r.contentHash])

/** Of `rows`, those not recorded yet (one query, keys as one JSON parameter). */
export async function unrecordedConflicts(db: Db, tenant: string, rows: IdConflictRow[]) {
  if (rows.length === 0) return []
  const keys = rows.map((r) => [r.id, r.requestId, r.contentHash])
  const found = await db
    .select({ id: idConflicts.id, requestId: idConflicts.requestId, contentHash: idConflicts.contentHash })
    .from(idConflicts)
    .where(
      and(
        eq(idConflicts.tenant, tenant),
        sql`(${idConflicts.id}, ${idConflicts.requestId}, ${idConflicts.contentHash}) IN (
          SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
          FROM json_each(${JSON.stringify(keys)}))`,
      ),
    )
    .all()
  const recorded = new Set(found.map(rowKey))
  return rows.filter((r) => !recorded.has(rowKey(r)))
}

/** Records conflicts; one already recorded is left as it is. Returns D1's rows written. */
export async function recordConflicts(db: Db, rows: IdConflictRow[]): Promise<number> {
  let written = 0
  // Five columns a row: 19 rows keep a statement under D1's 100 bound parameters.
  for (let i = 0; i < rows.length; i += 19) {
    const res = await db
      .insert(idConflicts)
      .values(rows.slice(i, i + 19))
      .onConflictDoNothing()
      .run()
    written += res.meta.rows_written ?? 0
  }
  return written
}

/** How many conflicting posts the id has had, and when the last one arrived (null: none). */
export function conflictSummaryQuery(db: Db, tenant: string, id: string) {
  return db
    .select({ count: sql<number>`count(*)`, last_at: sql<string | null>`max(${idConflicts.at})` })
    .from(idConflicts)
    .where(and(eq(idConflicts.tenant, tenant), eq(idConflicts.id, id)))
}

export function toConflictSummary(row: { count: number; last_at: string | null } | undefined) {
  return row && row.count > 0 && row.last_at ? { count: row.count, last_at: row.last_at } : null
}

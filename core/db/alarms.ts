// Alarm rows: inserted once (the id is derived from the finding), acknowledged once.
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from './client'
import { alarms } from './schema'

export type AlarmRow = typeof alarms.$inferSelect

/** Inserts the alarms not stored yet; returns the ids that are new. */
export async function insertAlarms(db: Db, rows: (typeof alarms.$inferInsert)[]): Promise<Set<string>> {
  const fresh = new Set<string>()
  for (const row of rows) {
    const res = await db.insert(alarms).values(row).onConflictDoNothing().run()
    if ((res.meta.changes ?? 0) > 0) fresh.add(row.id)
  }
  return fresh
}

/** Newest first: one tenant's, or every tenant's (the operator's view). */
export async function listAlarms(db: Db, tenant: string | undefined, limit: number): Promise<AlarmRow[]> {
  const q = db.select().from(alarms)
  return (tenant ? q.where(eq(alarms.tenant, tenant)) : q).orderBy(desc(alarms.raisedAt)).limit(limit).all()
}

export async function countOpenAlarms(db: Db, tenant: string | undefined): Promise<number> {
  const open = isNull(alarms.acknowledgedAt)
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(alarms)
    .where(tenant ? and(eq(alarms.tenant, tenant), open) : open)
    .get()
  return row?.n ?? 0
}

export async function getAlarm(db: Db, id: string): Promise<AlarmRow | undefined> {
  return db.select().from(alarms).where(eq(alarms.id, id)).get()
}

/** Sets the acknowledgement once; false when it was already acknowledged. */
export async function acknowledgeAlarm(db: Db, id: string, by: string, note: string | null, at: string) {
  const res = await db
    .update(alarms)
    .set({ acknowledgedAt: at, acknowledgedBy: by, ackNote: note })
    .where(and(eq(alarms.id, id), isNull(alarms.acknowledgedAt)))
    .run()
  return (res.meta.changes ?? 0) > 0
}

// What the integrity monitor (cron/monitor.ts) reads and keeps in D1: its sweep state per tenant,
// a tenant's rows in (occurred_at, id) order with every indexed column, and stored leaf rows.
import { and, asc, desc, eq, gte, lte, sql } from 'drizzle-orm'
import type { Db } from './client'
import { chainLeaves, events, monitorState } from './schema'

export type MonitorRow = typeof monitorState.$inferSelect

export async function monitorStateOf(db: Db, tenant: string): Promise<MonitorRow> {
  const row = await db.select().from(monitorState).where(eq(monitorState.tenant, tenant)).get()
  return row ?? { tenant, released: 0, sweep: null, sweeps: 0, lastSweepAt: null, updatedAt: null }
}

export async function saveMonitorState(db: Db, s: MonitorRow): Promise<void> {
  const { tenant, ...rest } = s
  await db
    .insert(monitorState)
    .values(s)
    .onConflictDoUpdate({
      target: monitorState.tenant,
      set: {
        sweep: rest.sweep,
        sweeps: rest.sweeps,
        lastSweepAt: rest.lastSweepAt,
        updatedAt: rest.updatedAt,
      },
    })
    .run()
}

/** Retention released `n` rows of the tenant from D1 (they stay in the archive). */
export async function countReleased(db: Db, tenant: string, n: number): Promise<void> {
  if (n === 0) return
  await db
    .insert(monitorState)
    .values({ tenant, released: n })
    .onConflictDoUpdate({
      target: monitorState.tenant,
      set: { released: sql`${monitorState.released} + ${n}` },
    })
    .run()
}

export async function monitorStates(db: Db, tenant?: string) {
  const q = db.select().from(monitorState)
  return tenant ? q.where(eq(monitorState.tenant, tenant)).all() : q.all()
}

/** Rows after (t, id) in reading order, with every column (core/db/events.ts, EVENT_COLUMNS). */
export function rowsAfter(db: Db, tenant: string, after: { t: string; id: string }, limit: number) {
  return db
    .select({
      seq: events.seq,
      id: events.id,
      occurred_at: events.occurredAt,
      received_at: events.receivedAt,
      action: events.action,
      actor_type: events.actorType,
      actor_id: events.actorId,
      target_type: events.targetType,
      target_id: events.targetId,
      parent_type: events.parentType,
      parent_id: events.parentId,
      source: events.source,
      outcome: events.outcome,
      correlation_id: events.correlationId,
      ip: events.ip,
      hash: events.hash,
      body: events.body,
    })
    .from(events)
    .where(
      and(eq(events.tenant, tenant), sql`(${events.occurredAt}, ${events.id}) > (${after.t}, ${after.id})`),
    )
    .orderBy(asc(events.occurredAt), asc(events.id))
    .limit(limit)
    .all()
}
export type StoredRow = Awaited<ReturnType<typeof rowsAfter>>[number]

/** Leaf rows from `firstSeq` on, in chain order. */
export function leafRowsFrom(db: Db, tenant: string, firstSeq: number, limit: number) {
  return db
    .select()
    .from(chainLeaves)
    .where(and(eq(chainLeaves.tenant, tenant), gte(chainLeaves.firstSeq, firstSeq)))
    .orderBy(asc(chainLeaves.firstSeq))
    .limit(limit)
    .all()
}

/** The leaf row holding `seq`. */
export function leafRowHolding(db: Db, tenant: string, seq: number) {
  return db
    .select({ firstSeq: chainLeaves.firstSeq, leaves: chainLeaves.leaves })
    .from(chainLeaves)
    .where(and(eq(chainLeaves.tenant, tenant), lte(chainLeaves.firstSeq, seq)))
    .orderBy(desc(chainLeaves.firstSeq))
    .limit(1)
    .get()
}

/** Leaf rows whose first seq lies in [from, to], in chain order. */
export function leafRowsBetween(db: Db, tenant: string, from: number, to: number) {
  return db
    .select({ firstSeq: chainLeaves.firstSeq, leaves: chainLeaves.leaves })
    .from(chainLeaves)
    .where(
      and(eq(chainLeaves.tenant, tenant), gte(chainLeaves.firstSeq, from), lte(chainLeaves.firstSeq, to)),
    )
    .orderBy(asc(chainLeaves.firstSeq))
    .all()
}

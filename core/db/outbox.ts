// The archive outbox: one archive_segments row per (tenant, day, committed run), written in the
// same D1 transaction as the run's events (core/db/events.ts, commitEvents), so an event that is
// in D1 always has a pending segment until its R2 object is written. The consumer writes pending
// segments and marks them written (queue-consumer/archive-writer.ts); retention releases a day
// only when none of its segments is pending (cron/retention.ts).
import { and, eq, sql } from 'drizzle-orm'
import { archiveObjectKey, utcDate } from '../archive/layout'
import type { StoredEvent } from '../ingest/stored-event'
import type { Db } from './client'
import { archiveSegments, events } from './schema'

export type SegmentRow = typeof archiveSegments.$inferInsert

/** Groups a committed run of one tenant's events into one segment per UTC day. */
export function segmentsFor(tenant: string, stored: StoredEvent[]): SegmentRow[] {
  const first = stored[0]
  const last = stored[stored.length - 1]
  if (!first || !last) return []
  const counts = new Map<string, number>()
  for (const e of stored) {
    const dt = utcDate(e.occurred_at)
    counts.set(dt, (counts.get(dt) ?? 0) + 1)
  }
  const now = new Date().toISOString()
  return [...counts].map(([dt, n]) => ({
    tenant,
    dt,
    firstSeq: first.seq,
    lastSeq: last.seq,
    objectKey: archiveObjectKey(tenant, dt, first.seq, last.seq),
    eventCount: n,
    status: 'pending' as const,
    createdAt: now,
  }))
}

export async function pendingSegments(db: Db, tenant: string, limit = 50) {
  return db
    .select()
    .from(archiveSegments)
    .where(and(eq(archiveSegments.status, 'pending'), eq(archiveSegments.tenant, tenant)))
    .limit(limit)
    .all()
}

export async function markSegmentWritten(db: Db, s: { tenant: string; dt: string; firstSeq: number }) {
  const res = await db
    .update(archiveSegments)
    .set({ status: 'written', writtenAt: new Date().toISOString() })
    .where(
      and(
        eq(archiveSegments.tenant, s.tenant),
        eq(archiveSegments.dt, s.dt),
        eq(archiveSegments.firstSeq, s.firstSeq),
      ),
    )
    .run()
  return res.meta.rows_written ?? 0
}

/** Bodies of a segment's events, in chain order, straight from D1. */
export async function segmentBodies(
  db: Db,
  s: { tenant: string; dt: string; firstSeq: number; lastSeq: number },
): Promise<string[]> {
  const rows = await db
    .select({ body: events.body })
    .from(events)
    .where(
      and(
        eq(events.tenant, s.tenant),
        // The day's range walks the time index; there is no index on seq alone.
        sql`${events.occurredAt} >= ${s.dt} AND ${events.occurredAt} < ${`${s.dt}T99`}`,
        sql`${events.seq} BETWEEN ${s.firstSeq} AND ${s.lastSeq}`,
      ),
    )
    .orderBy(events.seq)
    .all()
  return rows.map((r) => r.body)
}

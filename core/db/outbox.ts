// The archive outbox: one archive_segments row per (tenant, day, retention class, committed run), written in the
// same D1 transaction as the run's events (core/db/events.ts, commitEvents), so an event that is
// in D1 always has a pending segment until its R2 object is written. The consumer writes pending
// segments and marks them written (queue-consumer/archive-writer.ts); retention releases a day
// only when none of its segments is pending (cron/retention.ts).
import { and, eq, sql } from 'drizzle-orm'
import { archiveObjectKey, parseObjectName, utcDate } from '../archive/layout'
import type { StoredEvent } from '../ingest/stored-event'
import { bundledRetentionClasses, storedClassOf } from '../retention/classes'
import type { Db } from './client'
import { archiveSegments, events } from './schema'

export type SegmentRow = typeof archiveSegments.$inferInsert

/** One archive object of a committed run: its events' indexes in the run, in seq order. */
export type RunGroup = {
  dt: string
  retention: string
  key: string
  first: number
  last: number
  indexes: number[]
}

/**
 * Splits a committed run of one tenant's events into one archive object per (UTC day, retention
 * class), each named after the first and last seq it holds (core/archive/layout.ts), so a class's
 * objects can be deleted whole when its period ends.
 */
export function groupRun(tenant: string, stored: readonly StoredEvent[]): RunGroup[] {
  const defaultClass = bundledRetentionClasses().default_class
  const groups = new Map<string, RunGroup>()
  for (const [i, e] of stored.entries()) {
    const dt = utcDate(e.occurred_at)
    const retention = storedClassOf(e)
    const id = `${dt} ${retention}`
    const g = groups.get(id)
    if (g) {
      g.last = e.seq
      g.indexes.push(i)
    } else groups.set(id, { dt, retention, key: '', first: e.seq, last: e.seq, indexes: [i] })
  }
  for (const g of groups.values())
    g.key = archiveObjectKey(
      tenant,
      g.dt,
      g.first,
      g.last,
      g.retention === defaultClass ? undefined : g.retention,
    )
  return [...groups.values()]
}

/**
 * One outbox row per (day, class) group of a committed run (groupRun), with its lines' bytes; the
 * segment writer (core/archive/segment-writer.ts) joins a day's pending rows into one object.
 */
export function segmentsFor(tenant: string, stored: StoredEvent[], lines?: readonly string[]): SegmentRow[] {
  const now = new Date().toISOString()
  return groupRun(tenant, stored).map((g) => ({
    bytes: lines ? g.indexes.reduce((n, i) => n + lines[i]!.length + 1, 0) : 0,
    tenant,
    dt: g.dt,
    firstSeq: g.first,
    lastSeq: g.last,
    objectKey: g.key,
    eventCount: g.indexes.length,
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
  s: { tenant: string; dt: string; firstSeq: number; lastSeq: number; objectKey: string },
): Promise<string[]> {
  // The segment's class is in its object's name (none: the default class, as for events stored
  // before classes existed, which carry no field).
  const defaultClass = bundledRetentionClasses().default_class
  const retention =
    parseObjectName(s.objectKey.slice(s.objectKey.lastIndexOf('/') + 1))?.retention ?? defaultClass
  const rows = await db
    .select({ body: events.body })
    .from(events)
    .where(
      and(
        eq(events.tenant, s.tenant),
        // The day's range walks the time index; there is no index on seq alone.
        sql`${events.occurredAt} >= ${s.dt} AND ${events.occurredAt} < ${`${s.dt}T99`}`,
        sql`${events.seq} BETWEEN ${s.firstSeq} AND ${s.lastSeq}`,
        sql`coalesce(json_extract(${events.body}, '$.retention'), ${defaultClass}) = ${retention}`,
      ),
    )
    .orderBy(events.seq)
    .all()
  return rows.map((r) => r.body)
}

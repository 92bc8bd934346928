// Tombstones in D1 (core/retention/tombstone.ts). Invariant: an event's tombstone row is written in
// the same transaction that deletes its events row and counts that row as released for the
// integrity monitor (monitor_state.released, as the hot window's release does), so D1 always holds
// either the event or its tombstone, and the monitor's completeness check stays exact.
import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { Tombstone } from '../retention/tombstone'
import type { Db } from './client'
import { eventIds, tombstones } from './schema'

/** An expired event's events-row key, next to its tombstone. */
export type ExpiredRow = { occurred_at: string; id: string; seq: number }

const INSERT_SQL = `
  INSERT INTO tombstones (tenant, seq, retention, leaf, hash, prev_hash, dt, expired_at)
  SELECT ?1, json_extract(value, '$.seq'), json_extract(value, '$.retention'), json_extract(value, '$.leaf'),
    json_extract(value, '$.hash'), json_extract(value, '$.prev_hash'), json_extract(value, '$.dt'),
    json_extract(value, '$.expired_at')
  FROM json_each(?2) WHERE true
  ON CONFLICT (tenant, seq) DO NOTHING`

const DELETE_SQL = `
  DELETE FROM events WHERE tenant = ?1 AND (occurred_at, id, seq) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
    FROM json_each(?2))`

const RELEASED_SQL = `
  INSERT INTO monitor_state (tenant, released) VALUES (?1, changes())
  ON CONFLICT (tenant) DO UPDATE SET released = released + excluded.released`

const CHUNK = 500

/**
 * Writes the tombstones and deletes their events rows (those still in D1), chunk by chunk, each
 * chunk one transaction. Returns the events rows deleted.
 */
export async function expireEvents(
  db: Db,
  tenant: string,
  expired: readonly { tombstone: Tombstone; row: ExpiredRow }[],
): Promise<number> {
  let deleted = 0
  for (let i = 0; i < expired.length; i += CHUNK) {
    const part = expired.slice(i, i + CHUNK)
    const [, del] = await db.$client.batch([
      db.$client.prepare(INSERT_SQL).bind(tenant, JSON.stringify(part.map((x) => x.tombstone))),
      db.$client
        .prepare(DELETE_SQL)
        .bind(tenant, JSON.stringify(part.map((x) => [x.row.occurred_at, x.row.id, x.row.seq]))),
      db.$client.prepare(RELEASED_SQL).bind(tenant),
    ])
    deleted += del?.meta.changes ?? 0
  }
  return deleted
}

type TombstoneRow = typeof tombstones.$inferSelect

export function toTombstone(row: TombstoneRow): Tombstone {
  return {
    hash: row.hash,
    prev_hash: row.prevHash,
    seq: row.seq,
    retention: row.retention,
    leaf: row.leaf,
    dt: row.dt,
    expired_at: row.expiredAt,
  }
}

/** The tombstone of a stored id (through event_ids, which keeps every id), if it expired. */
export function tombstoneOfIdQuery(db: Db, tenant: string, id: string) {
  return db
    .select()
    .from(tombstones)
    .where(
      and(
        eq(tombstones.tenant, tenant),
        sql`${tombstones.seq} = (SELECT ${eventIds.seq} FROM ${eventIds} WHERE ${eventIds.tenant} = ${tenant} AND ${eventIds.id} = ${id})`,
      ),
    )
    .limit(1)
}

/** The tombstone of a tenant's seq, or null while the event is kept. */
export async function tombstoneAt(db: Db, tenant: string, seq: number): Promise<Tombstone | null> {
  const row = await db
    .select()
    .from(tombstones)
    .where(and(eq(tombstones.tenant, tenant), eq(tombstones.seq, seq)))
    .get()
  return row ? toTombstone(row) : null
}

/** A tenant's tombstones after `seq`, in seq order (the integrity monitor's sweep). */
export async function tombstonesAfter(
  db: Db,
  tenant: string,
  seq: number,
  limit: number,
): Promise<Tombstone[]> {
  const rows = await db
    .select()
    .from(tombstones)
    .where(and(eq(tombstones.tenant, tenant), gt(tombstones.seq, seq)))
    .orderBy(asc(tombstones.seq))
    .limit(limit)
    .all()
  return rows.map(toTombstone)
}

/** Tombstones per class of a tenant (or of every tenant). */
export async function tombstoneCounts(db: Db, tenant?: string) {
  const q = db
    .select({ tenant: tombstones.tenant, retention: tombstones.retention, n: sql<number>`count(*)` })
    .from(tombstones)
  return (tenant ? q.where(eq(tombstones.tenant, tenant)) : q)
    .groupBy(tombstones.tenant, tombstones.retention)
    .all()
}

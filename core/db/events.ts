// Event writes. Invariants:
// - A tenant's events are inserted in one D1 batch (one transaction) together with the new
//   chain head and their archive segments, so either all of them hold or none does.
// - The chain head moves only by a conditional update (tenant, seq, hash = what this writer
//   read); chain_guard's CHECK aborts the transaction when that update changed no row, so two
//   writers that read the same head cannot both commit. The loser re-reads and retries.
// - Each stored event's event_ids row (tenant, id) is inserted in the same transaction as its
//   events row, and event_ids is never deleted: an id is stored at most once, whatever the
//   redelivery and however long after retention released its day (a second insert of the id
//   fails the whole transaction, which the writer reads as a lost race).
// Rows travel as one JSON parameter per statement (json_each), which keeps every statement far
// under D1's 100-bound-parameter limit whatever the batch size.
import { and, eq, sql } from 'drizzle-orm'
import { contentHash } from '../ingest/content-hash'
import type { StoredEvent } from '../ingest/stored-event'
import type { Chained } from '../integrity/chain'
import type { Frontier } from '../integrity/merkle'
import type { Db } from './client'
import type { SegmentRow } from './outbox'
import { archiveSegments, chainHeads, chainLeaves, eventIds, events } from './schema'
import { appendToStoredTree } from './tree'

export type ChainHead = { seq: number; hash: string; frontier: Frontier }

/** Where a stored id is: its chain position, its time (the events key), its content hash. */
export type StoredId = { seq: number; occurredAt: string; contentHash: string | null }

/**
 * The ids among `ids` already stored for the tenant, at any age (event_ids, which retention never
 * deletes), with where they are. One query, ids as one JSON parameter.
 */
export async function findExistingIds(db: Db, tenant: string, ids: string[]): Promise<Map<string, StoredId>> {
  if (ids.length === 0) return new Map()
  const rows = await db
    .select({
      id: eventIds.id,
      seq: eventIds.seq,
      occurredAt: eventIds.occurredAt,
      contentHash: eventIds.contentHash,
    })
    .from(eventIds)
    .where(
      and(
        eq(eventIds.tenant, tenant),
        sql`${eventIds.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
      ),
    )
    .all()
  return new Map(rows.map(({ id, ...at }) => [id, at]))
}

/** Fills in the content hash of a row backfilled without one (migrations/0003); never overwrites. */
export async function setMissingContentHash(db: Db, tenant: string, id: string, contentHash: string) {
  await db
    .update(eventIds)
    .set({ contentHash })
    .where(and(eq(eventIds.tenant, tenant), eq(eventIds.id, id), sql`${eventIds.contentHash} IS NULL`))
    .run()
}

export async function getChainHead(db: Db, tenant: string): Promise<ChainHead | null> {
  const row = await db
    .select({ seq: chainHeads.seq, hash: chainHeads.hash, frontier: chainHeads.frontier })
    .from(chainHeads)
    .where(eq(chainHeads.tenant, tenant))
    .get()
  return row ? { ...row, frontier: JSON.parse(row.frontier) as Frontier } : null
}

const MAX_JSON_PARAM_BYTES = 900 * 1024

function chunkByBytes(items: string[]): string[][] {
  const out: string[][] = []
  let cur: string[] = []
  let bytes = 2
  for (const s of items) {
    if (cur.length > 0 && bytes + s.length + 1 > MAX_JSON_PARAM_BYTES) {
      out.push(cur)
      cur = []
      bytes = 2
    }
    cur.push(s)
    bytes += s.length + 1
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/**
 * Each column of `events` but `body`, and the stored event's field it holds. The key columns
 * (tenant, occurred_at, id) are filled from the body by the insert below; the others are generated
 * from the stored content (migrations/0011). The integrity monitor (cron/monitor.ts) checks every
 * one of them against the body.
 */
export const EVENT_COLUMNS = [
  ['tenant', ['tenant']],
  ['seq', ['seq']],
  ['id', ['id']],
  ['occurred_at', ['occurred_at']],
  ['received_at', ['received_at']],
  ['action', ['action']],
  ['actor_type', ['actor', 'type']],
  ['actor_id', ['actor', 'id']],
  ['target_type', ['target', 'type']],
  ['target_id', ['target', 'id']],
  ['parent_type', ['parent', 'type']],
  ['parent_id', ['parent', 'id']],
  ['source', ['source']],
  ['outcome', ['outcome', 'status']],
  ['correlation_id', ['context', 'correlation_id']],
  ['ip', ['context', 'ip']],
  ['hash', ['hash']],
] as const

/**
 * True in SQL when the line `v` is in the chained layout (core/integrity/chain.ts, chainedLine):
 * `{"hash":"<64 hex>","prev_hash":"<64 hex>",` and the content's members. Such a line is stored as
 * its two hashes (32 + 32 bytes) and its content; `body` rebuilds it byte for byte.
 */
export const chainedLayoutSql = (v: string) =>
  `(substr(${v}, 1, 9) = '{"hash":"' AND substr(${v}, 74, 15) = '","prev_hash":"' AND substr(${v}, 153, 2) = '",'` +
  ` AND length(${v}) >= 155 AND (substr(${v}, 10, 64) || substr(${v}, 89, 64)) NOT GLOB '*[^0-9a-f]*')`

/** Inserts stored events given as one JSON array of their lines (the rows' key, chain hashes, content). */
export const INSERT_EVENTS_SQL = `
  INSERT INTO events (tenant, occurred_at, id, chain, content)
  SELECT json_extract(value, '$.tenant'), json_extract(value, '$.occurred_at'), json_extract(value, '$.id'),
    iif(chained, unhex(substr(value, 10, 64) || substr(value, 89, 64)), NULL),
    iif(chained, '{' || substr(value, 155), value)
  FROM (SELECT value, ${chainedLayoutSql('value')} AS chained FROM json_each(?))`

/** A column's value as the body states it (SQL NULL for a field the body lacks). */
export function columnValueOf(body: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = body
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined
  return v ?? null
}

/** The id lookup rows of stored events: one JSON array [id, seq, occurred_at, content_hash] each. */
export const INSERT_EVENT_IDS_SQL = `
  INSERT INTO event_ids (tenant, id, seq, occurred_at, content_hash)
  SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
    json_extract(value, '$[3]')
  FROM json_each(?)`

/**
 * Id lookup rows rebuilt from archived lines (cron/event-ids-backfill.ts): a row is added, or
 * moved to an earlier seq (of an id the archive holds twice, the first stored copy wins), or given
 * its missing content hash; otherwise left as it is.
 */
export const UPSERT_ARCHIVED_EVENT_IDS_SQL = `
  INSERT INTO event_ids (tenant, id, seq, occurred_at, content_hash)
  SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
    json_extract(value, '$[3]')
  FROM json_each(?) WHERE true
  ON CONFLICT (tenant, id) DO UPDATE SET
    seq = excluded.seq, occurred_at = excluded.occurred_at, content_hash = excluded.content_hash
  WHERE excluded.seq < event_ids.seq
    OR (excluded.seq = event_ids.seq AND event_ids.content_hash IS NULL)`

/** A drizzle-built statement as a D1 prepared statement, so it can join a D1 batch. */
function prepared(db: Db, q: { toSQL(): { sql: string; params: unknown[] } }): D1PreparedStatement {
  const { sql: text, params } = q.toSQL()
  return db.$client.prepare(text).bind(...params)
}

/** The statements that insert stored events (given as their JSON lines): one JSON parameter each. */
export function eventInsertStatements(db: Db, lines: string[]): D1PreparedStatement[] {
  return chunkByBytes(lines).map((part) => db.$client.prepare(INSERT_EVENTS_SQL).bind(`[${part.join(',')}]`))
}

/** The statements that insert the id lookup rows of stored events (one JSON parameter each). */
export function eventIdInsertStatements(
  db: Db,
  tenant: string,
  stored: readonly Pick<StoredEvent, 'id' | 'seq' | 'occurred_at'>[],
  contentHashes: readonly string[],
  statement = INSERT_EVENT_IDS_SQL,
): D1PreparedStatement[] {
  const rows = stored.map((e, i) => JSON.stringify([e.id, e.seq, e.occurred_at, contentHashes[i]]))
  return chunkByBytes(rows).map((part) => db.$client.prepare(statement).bind(tenant, `[${part.join(',')}]`))
}

/**
 * Appends events after `prev` in one transaction: the rows, their id lookup rows, the new chain
 * head and the archive segments that must receive them. Throws on a lost race (see file comment).
 * `contentHashes` are the events' content hashes (core/ingest/content-hash.ts), computed here when
 * not given. Returns D1's rows written, the main running cost.
 */
export async function commitEvents(
  db: Db,
  tenant: string,
  prev: ChainHead | null,
  chained: Chained,
  segments: SegmentRow[],
  contentHashes: readonly string[] = chained.stored.map(contentHash),
): Promise<number> {
  const { stored, leaves, lines } = chained
  if (leaves.length !== stored.length || lines.length !== stored.length)
    throw new Error('every stored event needs its leaf hash and its line')
  if (contentHashes.length !== stored.length) throw new Error('every stored event needs its content hash')
  const last = stored[stored.length - 1]
  if (!last) return 0
  const now = new Date().toISOString()
  const tree = appendToStoredTree(prev?.frontier, stored[0]!.seq, leaves)
  const frontierJson = JSON.stringify(tree.frontier)
  const headWrite = prev
    ? db
        .update(chainHeads)
        .set({ seq: last.seq, hash: last.hash, frontier: frontierJson, updatedAt: now })
        .where(
          and(eq(chainHeads.tenant, tenant), eq(chainHeads.seq, prev.seq), eq(chainHeads.hash, prev.hash)),
        )
    : db
        .insert(chainHeads)
        .values({ tenant, seq: last.seq, hash: last.hash, frontier: frontierJson, updatedAt: now })
  const inserts = [
    ...eventInsertStatements(db, lines),
    ...eventIdInsertStatements(db, tenant, stored, contentHashes),
  ]
  const segmentInserts = segments.map((s) => prepared(db, db.insert(archiveSegments).values(s)))
  const leafInserts = tree.rows.map((row) => prepared(db, db.insert(chainLeaves).values({ tenant, ...row })))
  // One D1 batch is one transaction: head, rows, id lookup and outbox land together or not at all.
  const guard = prev
    ? [
        db.$client.prepare(
          'INSERT INTO chain_guard (id, applied) VALUES (1, changes()) ON CONFLICT(id) DO UPDATE SET applied = excluded.applied',
        ),
      ]
    : []
  const results = await db.$client.batch([
    prepared(db, headWrite),
    ...guard,
    ...inserts,
    ...segmentInserts,
    ...leafInserts,
  ])
  return results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0)
}

/** True when a D1 error means another writer got there first (retry after re-reading). */
export function isWriteConflict(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : ''
  return /UNIQUE constraint failed|PRIMARY KEY|constraint failed/i.test(msg)
}

/**
 * A stored id's place and, while its day is in D1, its row (body and indexed chain hash; null once
 * retention released the day: the line is then read from the archive). One query: the id lookup,
 * then the events key it gives.
 */
export function locateEventQuery(db: Db, tenant: string, id: string) {
  return db
    .select({
      seq: eventIds.seq,
      occurredAt: eventIds.occurredAt,
      contentHash: eventIds.contentHash,
      body: events.body,
      hash: events.hash,
    })
    .from(eventIds)
    .leftJoin(
      events,
      and(
        eq(events.tenant, eventIds.tenant),
        eq(events.occurredAt, eventIds.occurredAt),
        eq(events.id, eventIds.id),
        // Another copy of the id stored before event_ids existed may hold the same key.
        eq(events.seq, eventIds.seq),
      ),
    )
    .where(and(eq(eventIds.tenant, tenant), eq(eventIds.id, id)))
    .limit(1)
}

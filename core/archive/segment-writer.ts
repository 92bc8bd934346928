// Archive flushes by size and age. Each committed run inserts its archive segments (the outbox,
// core/db/outbox.ts) in the same D1 transaction as its events; D1 serves searches at once. A
// tenant's pending segments of one (UTC day, retention class) are written to R2 together, as ONE
// object, when their lines reach ARCHIVE_FLUSH_BYTES (default 1 MiB) or the oldest of them is
// ARCHIVE_FLUSH_SECONDS old (default 60): a low-rate tenant writes about one object a minute.
//
// Closing is race-safe and crash-safe. The segments to close are marked `closing` with the
// object's key in one D1 transaction that fails unless it changed exactly those rows (another
// consumer closing an overlapping set loses and leaves them alone). Only then is the object written
// (from the segments' rows in D1, in seq order) and the segments marked written. A crash in between
// leaves `closing` rows, which the next flush writes again under the same key with the same bytes.
// The age is enforced by a delayed flush message sent when a tenant's first pending segment opens,
// and by the cron tick (cron/index.ts), which flushes whatever is overdue on every shard.
import { and, asc, eq, ne, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { segmentBodies } from '../db/outbox'
import { archiveSegments } from '../db/schema'
import { bundledRetentionClasses } from '../retention/classes'
import { archiveObjectKey, parseObjectName, zoneMapKey } from './layout'
import { gzipLines } from './r2'
import { computeZoneMap } from './zone-map'

export type FlushPolicy = { maxBytes: number; maxAgeMs: number }

const DEFAULT_BYTES = 1024 * 1024
const DEFAULT_SECONDS = 60

/** The flush policy of the deployment (wrangler.toml ARCHIVE_FLUSH_BYTES, ARCHIVE_FLUSH_SECONDS). */
export function flushPolicy(env: {
  ARCHIVE_FLUSH_BYTES?: string
  ARCHIVE_FLUSH_SECONDS?: string
}): FlushPolicy {
  const bytes = Number(env.ARCHIVE_FLUSH_BYTES || DEFAULT_BYTES)
  const seconds = Number(env.ARCHIVE_FLUSH_SECONDS ?? DEFAULT_SECONDS)
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 64 * 1024 * 1024)
    throw new Error('ARCHIVE_FLUSH_BYTES must be an integer from 1 to 67108864')
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600)
    throw new Error('ARCHIVE_FLUSH_SECONDS must be from 0 to 3600')
  return { maxBytes: bytes, maxAgeMs: seconds * 1000 }
}

type Segment = typeof archiveSegments.$inferSelect

const classOf = (s: Segment) =>
  parseObjectName(s.objectKey.slice(s.objectKey.lastIndexOf('/') + 1))?.retention ?? null

/**
 * Marks the due groups of the tenant's pending segments `closing` under their object's key.
 * `slackMs` lets a delayed flush message that arrives a little early close what it was sent for.
 */
async function closeDue(
  db: Db,
  tenant: string,
  p: FlushPolicy,
  now: number,
  slackMs: number,
  force: boolean,
) {
  const pending = await db
    .select()
    .from(archiveSegments)
    .where(and(eq(archiveSegments.tenant, tenant), eq(archiveSegments.status, 'pending')))
    .orderBy(asc(archiveSegments.firstSeq))
    .limit(5000)
    .all()
  const groups = new Map<string, Segment[]>()
  for (const s of pending) {
    const g = `${s.dt}\n${classOf(s) ?? ''}`
    groups.set(g, [...(groups.get(g) ?? []), s])
  }
  const defaultClass = bundledRetentionClasses().default_class
  let closed = 0
  for (const segs of groups.values()) {
    const bytes = segs.reduce((n, s) => n + (s.bytes ?? 0), 0)
    const oldest = Math.min(...segs.map((s) => Date.parse(s.createdAt)))
    const due = force || bytes >= p.maxBytes || now - oldest >= p.maxAgeMs - slackMs
    if (!due) continue
    const first = segs[0]!
    const cls = classOf(first)
    const key = archiveObjectKey(
      tenant,
      first.dt,
      first.firstSeq,
      Math.max(...segs.map((s) => s.lastSeq)),
      cls === null || cls === defaultClass ? undefined : cls,
    )
    const seqs = JSON.stringify(segs.map((s) => s.firstSeq))
    try {
      await db.$client.batch([
        db.$client
          .prepare(
            `UPDATE archive_segments SET status = 'closing', object_key = ?1
             WHERE tenant = ?2 AND dt = ?3 AND status = 'pending' AND first_seq IN (SELECT value FROM json_each(?4))`,
          )
          .bind(key, tenant, first.dt, seqs),
        // Fails the transaction (chain_guard's CHECK) unless every one of them was still pending.
        db.$client
          .prepare(
            'INSERT INTO chain_guard (id, applied) VALUES (2, changes() = ?1) ON CONFLICT(id) DO UPDATE SET applied = excluded.applied',
          )
          .bind(segs.length),
      ])
      closed++
    } catch (err) {
      // Another writer closed some of them first: it writes them; this one leaves the group.
      if (!/CHECK constraint failed/i.test(String(err))) throw err
    }
  }
  return closed
}

async function putObject(bucket: R2Bucket, key: string, lines: string[]) {
  const body = await gzipLines(lines)
  await bucket.put(key, body, {
    httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
    customMetadata: { lines: String(lines.length) },
  })
  // After the object: a zone map never describes an object that is not there yet.
  const zone = computeZoneMap(lines, body.byteLength)
  if (zone)
    await bucket.put(zoneMapKey(key), JSON.stringify(zone), {
      httpMetadata: { contentType: 'application/json' },
    })
}

/** Writes every closing object of the tenant and marks its segments written. */
async function writeClosing(db: Db, bucket: R2Bucket, tenant: string) {
  const closing = await db
    .select()
    .from(archiveSegments)
    .where(and(eq(archiveSegments.tenant, tenant), eq(archiveSegments.status, 'closing')))
    .orderBy(asc(archiveSegments.firstSeq))
    .all()
  const byKey = new Map<string, Segment[]>()
  for (const s of closing) byKey.set(s.objectKey, [...(byKey.get(s.objectKey) ?? []), s])
  let objects = 0
  let rowsWritten = 0
  for (const [key, segs] of byKey) {
    const lines: string[] = []
    for (const s of segs) {
      const body = await segmentBodies(db, s)
      if (body.length !== s.eventCount)
        throw new Error(
          `segment ${s.dt}/${s.firstSeq} of ${key} expects ${s.eventCount} events, D1 holds ${body.length}`,
        )
      lines.push(...body)
    }
    await putObject(bucket, key, lines)
    const res = await db
      .update(archiveSegments)
      .set({ status: 'written', writtenAt: new Date().toISOString() })
      .where(
        and(
          eq(archiveSegments.tenant, tenant),
          eq(archiveSegments.status, 'closing'),
          eq(archiveSegments.objectKey, key),
        ),
      )
      .run()
    rowsWritten += res.meta.rows_written ?? 0
    objects++
  }
  return { objects, rowsWritten }
}

export type FlushResult = {
  objects: number
  rowsWritten: number
  pending: number
  oldestPendingAt: string | null
}

/**
 * Closes the tenant's due segment groups and writes every closing object; answers what is still
 * pending (the caller schedules a flush for it). `force` closes everything pending.
 */
export async function flushArchive(
  db: Db,
  bucket: R2Bucket,
  tenant: string,
  policy: FlushPolicy,
  o: { now?: number; slackMs?: number; force?: boolean } = {},
): Promise<FlushResult> {
  await closeDue(db, tenant, policy, o.now ?? Date.now(), o.slackMs ?? 0, o.force ?? false)
  const written = await writeClosing(db, bucket, tenant)
  const left = await db
    .select({ n: sql<number>`count(*)`, oldest: sql<string | null>`min(${archiveSegments.createdAt})` })
    .from(archiveSegments)
    .where(and(eq(archiveSegments.tenant, tenant), ne(archiveSegments.status, 'written')))
    .get()
  return { ...written, pending: left?.n ?? 0, oldestPendingAt: left?.oldest ?? null }
}

/** Tenants of a shard with segments not yet written (the cron's safety net walks them). */
export async function tenantsWithUnwritten(db: Db): Promise<string[]> {
  const rows = await db
    .selectDistinct({ tenant: archiveSegments.tenant })
    .from(archiveSegments)
    .where(ne(archiveSegments.status, 'written'))
    .limit(1000)
    .all()
  return rows.map((r) => r.tenant)
}

// Hot-window retention. Invariant: a day of a tenant's events leaves D1 only when every archive
// segment of that day is written to R2 and, when the S3 mirror is configured, S3 holds every
// object of the day's R2 partition with the same bytes. Searches read days before the cutoff from the
// archive (core/search/history.ts), so nothing disappears from an admin's view.
import { and, eq, lt, sql } from 'drizzle-orm'
import { partitionPrefix } from '../core/archive/layout'
import { isPrefixMirrored, type MirrorEnv, mirrorOf } from '../core/archive/mirror'
import type { Db } from '../core/db/client'
import { archiveSegments } from '../core/db/schema'

const DELETE_CHUNK = 500

/** On one shard; `owns` says which tenants found there are that shard's (core/db/shards.ts). */
export async function enforceRetention(
  db: Db,
  env: MirrorEnv,
  cutoff: string,
  maxDays = 50,
  owns: (tenant: string) => boolean = () => true,
) {
  const cutoffDay = cutoff.slice(0, 10)
  const days = await db
    .select({
      tenant: archiveSegments.tenant,
      dt: archiveSegments.dt,
      pending: sql<number>`sum(${archiveSegments.status} != 'written')`,
    })
    .from(archiveSegments)
    .where(lt(archiveSegments.dt, cutoffDay))
    .groupBy(archiveSegments.tenant, archiveSegments.dt)
    .limit(maxDays)
    .all()
  const mirrored = mirrorOf(env) !== null
  const released: { tenant: string; dt: string; deleted: number }[] = []
  const held: { tenant: string; dt: string; reason: string }[] = []
  for (const d of days) {
    if (!owns(d.tenant)) {
      held.push({ ...d, reason: 'the tenant is being moved, or is held by another shard' })
      continue
    }
    if (d.pending > 0) {
      held.push({ ...d, reason: 'archive segments still pending' })
      continue
    }
    if (mirrored && !(await isPrefixMirrored(env, partitionPrefix(d.tenant, d.dt)))) {
      held.push({ ...d, reason: 'not yet mirrored to S3' })
      continue
    }
    const next = new Date(Date.parse(`${d.dt}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10)
    let deleted = 0
    for (;;) {
      // The day's range is a range of the primary key (tenant, occurred_at, id). Only `events`
      // rows go: event_ids keeps every id's place, for deduplication and reads at any age.
      // The monitor expects D1 to hold the chain less what retention released: the count moves
      // in the same transaction as the delete (changes() is the delete's row count).
      const [res] = await db.$client.batch([
        db.$client
          .prepare(`DELETE FROM events WHERE (tenant, occurred_at, id) IN (
            SELECT tenant, occurred_at, id FROM events NOT INDEXED
            WHERE tenant = ?1 AND occurred_at >= ?2 AND occurred_at < ?3 LIMIT ?4)`)
          .bind(d.tenant, d.dt, next, DELETE_CHUNK),
        db.$client
          .prepare(`INSERT INTO monitor_state (tenant, released) VALUES (?1, changes())
            ON CONFLICT (tenant) DO UPDATE SET released = released + excluded.released`)
          .bind(d.tenant),
      ])
      const n = res?.meta.changes ?? 0
      deleted += n
      if (n < DELETE_CHUNK) break
    }
    await db
      .delete(archiveSegments)
      .where(and(eq(archiveSegments.tenant, d.tenant), eq(archiveSegments.dt, d.dt)))
      .run()
    released.push({ tenant: d.tenant, dt: d.dt, deleted })
  }
  return { released, held }
}

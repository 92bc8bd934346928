// Retention-class expiry (a cron job, after the mirror). Invariants:
// - An events object holds one class (core/archive/layout.ts). Once its class's period has ended
//   for its tenant and day (expiryDay), the object is expired whole, in this order, each step
//   idempotent: (1) its tombstones are written to R2 (and S3) in the same partition; (2) in D1 each
//   tombstone row is written in the transaction that deletes the event's row (core/db/tombstones.ts);
//   (3) the object leaves S3, then R2, and the partition's manifest stops naming it. A run cut
//   anywhere is finished by the next: the object is still there and its tombstones are reused.
// - Nothing of a longer class goes early: an object whose lines are not all of its class, or fail
//   their check, is refused (reported) and kept.
// - The hot window (cron/retention.ts) is a different thing: it releases D1 days that stay in the
//   archive; this job ends an event everywhere but its tombstone.
// - Bounded and resumable: it walks events/ from a cursor kept in R2 (`retention-state/`), a few
//   listing pages per tick; within a tenant, once a day is younger than the tenant's shortest
//   period, the walk skips to the next tenant (days are listed in order).

import { and, eq, ne, sql } from 'drizzle-orm'
import { visibleObjects } from '../core/archive/archive-reader'
import { readManifest } from '../core/archive/compaction'
import {
  ARCHIVE_PREFIX,
  manifestKey,
  parseArchiveKey,
  parseObjectName,
  RETENTION_STATE_KEY,
  tenantArchivePrefix,
  tombstoneObjectKey,
} from '../core/archive/layout'
import { gunzipLines, gzipLines, readJson } from '../core/archive/r2'
import { deleteS3, type MirrorEnv, mirrorOf, putS3 } from '../core/archive/s3-mirror'
import type { Db } from '../core/db/client'
import { archiveSegments } from '../core/db/schema'
import type { TenantDbs } from '../core/db/shards'
import { type ExpiredRow, expireEvents } from '../core/db/tombstones'
import {
  bundledRetentionClasses,
  daysOf,
  type RetentionClasses,
  shortestDays,
  storedClassOf,
} from '../core/retention/classes'
import {
  expiryDay,
  parseTombstoneLine,
  type Tombstone,
  tombstoneLine,
  tombstoneOfLine,
} from '../core/retention/tombstone'

type State = { after: string; sweeps: number; last_sweep_at: string | null }

export type ExpiryOptions = {
  now?: Date
  maxPages?: number
  /** Objects expired per run; the rest wait for the next tick. */
  maxObjects?: number
  pageSize?: number
  config?: RetentionClasses
}

export type ExpiredObject = {
  key: string
  tenant: string
  dt: string
  retention: string
  events: number
  deleted_rows: number
}

/** Whether every archive segment of a tenant's day is written (none still pending). */
async function segmentsSettled(db: Db, tenant: string, dt: string): Promise<boolean> {
  const row = await db
    .select({ pending: sql<number>`count(*)` })
    .from(archiveSegments)
    .where(
      and(
        eq(archiveSegments.tenant, tenant),
        eq(archiveSegments.dt, dt),
        ne(archiveSegments.status, 'written'),
      ),
    )
    .get()
  return (row?.pending ?? 0) === 0
}

/** `dbs`: each tenant's shard (core/db/shards.ts tenantDbs); a tenant being moved is skipped. */
export async function expireRetentionClasses(dbs: TenantDbs, env: MirrorEnv, o: ExpiryOptions = {}) {
  const bucket = env.ARCHIVE
  const now = o.now ?? new Date()
  const today = now.toISOString().slice(0, 10)
  const cfg = o.config ?? bundledRetentionClasses()
  const maxPages = o.maxPages ?? 10
  const maxObjects = o.maxObjects ?? 50
  const state = (await readJson<State>(bucket, RETENTION_STATE_KEY)) ?? {
    after: '',
    sweeps: 0,
    last_sweep_at: null,
  }
  const expired: ExpiredObject[] = []
  const refused: { key: string; error: string }[] = []
  const visible = new Map<string, Set<string>>()
  const settledDays = new Map<string, boolean>()
  let pages = 0
  let sweepFinished = false
  walk: while (pages < maxPages) {
    const page = await bucket.list({
      prefix: ARCHIVE_PREFIX,
      ...(state.after ? { startAfter: state.after } : {}),
      limit: o.pageSize ?? 1000,
    })
    pages++
    let skipping: string | undefined
    for (const obj of page.objects) {
      if (skipping && obj.key.startsWith(skipping)) continue
      if (expired.length + refused.length >= maxObjects) break walk
      const k = parseArchiveKey(obj.key)
      const name = k && parseObjectName(k.name)
      if (k && expiryDay(k.dt, shortestDays(cfg, k.tenant)) > today) {
        // This day and every later one of the tenant are too young for any of its classes: go on
        // after the tenant, in this page when it holds the next tenant, else by listing from there.
        skipping = tenantArchivePrefix(k.tenant)
        state.after = `${skipping}\uffff`
        if (page.truncated && page.objects.at(-1)!.key.startsWith(skipping)) continue walk
        continue
      }
      if (k && name) {
        const retention = name.retention ?? cfg.default_class
        const days = daysOf(cfg, k.tenant, retention)
        const due = days !== null && expiryDay(k.dt, days) <= today
        const db = due ? await dbs(k.tenant) : null
        if (due && db === null) {
          refused.push({ key: obj.key, error: 'its tenant is being moved to another shard' })
        } else if (due && db !== null) {
          const p = `${k.tenant}\n${k.dt}`
          if (!visible.has(p))
            visible.set(p, new Set((await visibleObjects(bucket, k.tenant, k.dt)).map((v) => v.key)))
          // A day whose archive segments are not all marked written is left alone, as retention
          // does: the consumer may still be between writing an object and marking its segment,
          // and its rows must still be in D1 when it does.
          if (!settledDays.has(p)) settledDays.set(p, await segmentsSettled(db, k.tenant, k.dt))
          // Superseded by compaction (its lines are in a part): compaction deletes it, not expiry.
          if (visible.get(p)!.has(obj.key) && !settledDays.get(p)) {
            refused.push({ key: obj.key, error: 'archive segments of its day are still pending' })
          } else if (visible.get(p)!.has(obj.key)) {
            try {
              expired.push(await expireObject(db, env, obj.key, k.tenant, k.dt, retention, now))
            } catch (err) {
              refused.push({ key: obj.key, error: err instanceof Error ? err.message : String(err) })
              console.error(
                JSON.stringify({
                  msg: 'archive object not expired',
                  key: obj.key,
                  error: refused.at(-1)!.error,
                }),
              )
            }
          }
        }
      }
      state.after = obj.key
    }
    if (!page.truncated) {
      state.after = ''
      state.sweeps++
      state.last_sweep_at = now.toISOString()
      sweepFinished = true
      break
    }
  }
  await bucket.put(RETENTION_STATE_KEY, JSON.stringify(state), {
    httpMetadata: { contentType: 'application/json' },
  })
  return { expired, refused, pages, sweep_finished: sweepFinished }
}

async function expireObject(
  db: Db,
  env: MirrorEnv,
  key: string,
  tenant: string,
  dt: string,
  retention: string,
  now: Date,
): Promise<ExpiredObject> {
  const bucket = env.ARCHIVE
  const obj = await bucket.get(key)
  if (!obj) throw new Error(`${key} disappeared before it expired; the next sweep looks again`)
  const lines = await gunzipLines(await obj.arrayBuffer())
  const rows: ExpiredRow[] = []
  for (const line of lines) {
    const e = JSON.parse(line) as {
      id: string
      seq: number
      occurred_at: string
      tenant: string
      retention?: string
    }
    if (e.tenant !== tenant) throw new Error(`${key} holds an event of another tenant`)
    if (storedClassOf(e) !== retention)
      throw new Error(`${key} holds seq ${e.seq} of class ${storedClassOf(e)}, not ${retention}`)
    rows.push({ occurred_at: e.occurred_at, id: e.id, seq: e.seq })
  }
  const tombKey = tombstoneObjectKey(key)
  // Tombstones written by an interrupted run are reused, so every copy states the same expiry time.
  const before = await bucket.get(tombKey)
  let tombs: Tombstone[]
  if (before) {
    tombs = (await gunzipLines(await before.arrayBuffer())).map((l) => parseTombstoneLine(l)!)
    if (tombs.length !== lines.length || tombs.some((t, i) => !t || t.seq !== rows[i]!.seq))
      throw new Error(`${tombKey} does not match ${key}`)
  } else {
    const at = now.toISOString()
    tombs = lines.map((l) => tombstoneOfLine(l, dt, at))
    await bucket.put(tombKey, await gzipLines(tombs.map(tombstoneLine)), {
      httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
      customMetadata: { lines: String(tombs.length), tombstones: 'true' },
    })
  }
  const mirror = mirrorOf(env)
  if (mirror) {
    const body = new Uint8Array(await (await bucket.get(tombKey))!.arrayBuffer())
    await putS3(mirror, tombKey, body, 'application/x-ndjson')
  }
  const deleted = await expireEvents(
    db,
    tenant,
    tombs.map((tombstone, i) => ({ tombstone, row: rows[i]! })),
  )
  // The manifest stops naming the object before the object goes, so a run cut in between never
  // leaves a manifest naming a missing file (which would make the inputs it hides visible again).
  const manifest = await readManifest(bucket, tenant, dt)
  if (manifest?.files.some((f) => f.key === key)) {
    manifest.files = manifest.files.filter((f) => f.key !== key)
    await bucket.put(manifestKey(tenant, dt), JSON.stringify(manifest), {
      httpMetadata: { contentType: 'application/json' },
    })
  }
  if (mirror) await deleteS3(mirror, key)
  await bucket.delete(key)
  return { key, tenant, dt, retention, events: tombs.length, deleted_rows: deleted }
}

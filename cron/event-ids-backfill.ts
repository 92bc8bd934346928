// The id lookup's backfill from the archive. migrations/0003 filled event_ids from the rows D1
// still held; events whose day retention had released before are only in the archive. This job
// walks events/ in key order from a cursor kept in R2 (EVENT_IDS_BACKFILL_STATE_KEY), a bounded
// number of objects per tick, adds their ids, and stops for good once the walk is done: every
// object written since the migration has its ids in event_ids already (same transaction as its
// events rows). Until the walk passes an old day, an id of that day posted again is not yet
// recognised; the walk is idempotent, so a failed tick only repeats work.
// Invariants:
// - Only lines that re-hash (core/integrity/verified-read.ts) and belong to the object's tenant
//   are taken; any other is skipped and logged (finding it is the monitor's job).
// - Where the archive holds two copies of one id (stored twice before event_ids existed), the
//   lookup keeps the earliest seq: the first stored copy wins, as it does for every new copy.
// - Superseded objects compaction has not deleted yet hold copies of lines already read: the
//   upsert changes nothing for them.
import {
  ARCHIVE_PREFIX,
  EVENT_IDS_BACKFILL_STATE_KEY,
  parseArchiveKey,
  parseObjectName,
} from '../core/archive/layout'
import { gunzipLines, readJson } from '../core/archive/r2'
import type { Db } from '../core/db/client'
import { eventIdInsertStatements, UPSERT_ARCHIVED_EVENT_IDS_SQL } from '../core/db/events'
import type { TenantDbs } from '../core/db/shards'
import { contentHash } from '../core/ingest/content-hash'
import type { StoredEvent } from '../core/ingest/stored-event'
import { checkStoredLine } from '../core/integrity/verified-read'

type BackfillState = {
  after: string
  done: boolean
  objects: number
  lines: number
  skipped: number
  finished_at: string | null
}

export type BackfillOptions = { maxObjects?: number }

/** `dbs`: each tenant's shard; the walk stops at a tenant being moved and goes on next tick. */
export async function backfillEventIds(dbs: TenantDbs, bucket: R2Bucket, o: BackfillOptions = {}) {
  const state = (await readJson<BackfillState>(bucket, EVENT_IDS_BACKFILL_STATE_KEY)) ?? {
    after: '',
    done: false,
    objects: 0,
    lines: 0,
    skipped: 0,
    finished_at: null,
  }
  if (state.done) return { done: true, objects: 0, lines: 0, rows_written: 0 }
  const maxObjects = o.maxObjects ?? 200
  let objects = 0
  let lines = 0
  let rowsWritten = 0
  walk: while (objects < maxObjects) {
    const page = await bucket.list({
      prefix: ARCHIVE_PREFIX,
      ...(state.after ? { startAfter: state.after } : {}),
      limit: Math.min(1000, maxObjects - objects),
    })
    for (const obj of page.objects) {
      const parsed = parseArchiveKey(obj.key)
      const db = parsed ? await dbs(parsed.tenant) : null
      if (parsed && db === null) break walk
      const r = db ? await backfillObject(db, bucket, obj.key) : { lines: 0, skipped: 0, rowsWritten: 0 }
      lines += r.lines
      state.skipped += r.skipped
      rowsWritten += r.rowsWritten
      state.after = obj.key
      objects++
    }
    if (!page.truncated) {
      state.done = true
      state.finished_at = new Date().toISOString()
      break
    }
  }
  state.objects += objects
  state.lines += lines
  await bucket.put(EVENT_IDS_BACKFILL_STATE_KEY, JSON.stringify(state), {
    httpMetadata: { contentType: 'application/json' },
  })
  return { done: state.done, objects, lines, rows_written: rowsWritten }
}

async function backfillObject(db: Db, bucket: R2Bucket, key: string) {
  const parsed = parseArchiveKey(key)
  const none = { lines: 0, skipped: 0, rowsWritten: 0 }
  if (!parsed || !parseObjectName(parsed.name)) return none
  const obj = await bucket.get(key)
  if (!obj) return none
  const events: StoredEvent[] = []
  let skipped = 0
  for (const line of await gunzipLines(await obj.arrayBuffer())) {
    const check = checkStoredLine(line)
    const e = check.ok ? (JSON.parse(line) as StoredEvent) : null
    if (!e || e.tenant !== parsed.tenant) {
      skipped++
      console.error(
        JSON.stringify({
          msg: 'archived line not taken into the id lookup',
          key,
          reason: check.ok ? 'another tenant' : check.reason,
        }),
      )
      continue
    }
    events.push(e)
  }
  if (events.length === 0) return { ...none, skipped }
  const statements = eventIdInsertStatements(
    db,
    parsed.tenant,
    events,
    events.map(contentHash),
    UPSERT_ARCHIVED_EVENT_IDS_SQL,
  )
  const results = await db.$client.batch(statements)
  return {
    lines: events.length,
    skipped,
    rowsWritten: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
  }
}

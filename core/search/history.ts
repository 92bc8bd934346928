// One continuous history: the hot window from D1, older days straight from the R2 archive.
// Invariants: the two sources are split by time (occurred_at >= cutoff from D1, older from the
// archive), so an event is never returned twice whatever the retention job has deleted yet;
// both are read newest first by (occurred_at, id), so one keyset cursor pages across both. A
// request reads at most `maxArchiveDays` archive partitions; when it stops early its cursor
// points at the start of the last day read, so the next page goes on from there.

import { readPartition } from '../archive/archive-reader'
import { tenantArchivePrefix } from '../archive/layout'
import { listDirs } from '../archive/r2'
import { zoneQuery } from '../archive/zone-map'
import type { Db } from '../db/client'
import { type PageKey, searchEvents } from '../db/search'
import type { StoredEvent } from '../ingest/stored-event'
import { verifiedEvent } from '../integrity/verified-read'
import type { SearchFilters } from './filters'
import { matchesFilters } from './match'
import { newestFirst } from './order'

export type HistoryOptions = {
  cutoff: string
  maxArchiveDays?: number
  /**
   * For a caller that pages through many pages in one request (an export): keeps the archive
   * days the next page reads first, which would otherwise be read from R2 again, page after page,
   * for as long as the export stays inside them. Holds two days at most.
   */
  keptDays?: Map<string, StoredEvent[]>
}

// The list of a tenant's archive days is cached briefly per isolate: searches that stay in the
// hot window then cost no R2 call. A day added meanwhile (a late event for an old day) shows
// up within the TTL.
const DAYS_TTL_MS = 30_000
const daysCache = new Map<string, { days: string[]; expires: number }>()

async function archivedDays(bucket: R2Bucket, tenant: string): Promise<string[]> {
  const hit = daysCache.get(tenant)
  if (hit && hit.expires > Date.now()) return hit.days
  const days = await listArchivedDays(bucket, tenant)
  if (daysCache.size > 10_000) daysCache.clear()
  daysCache.set(tenant, { days, expires: Date.now() + DAYS_TTL_MS })
  return days
}

async function listArchivedDays(bucket: R2Bucket, tenant: string): Promise<string[]> {
  const dirs = await listDirs(bucket, tenantArchivePrefix(tenant))
  return dirs
    .map((d) => d.slice('dt='.length))
    .sort()
    .reverse()
}

export async function searchHistory(
  db: Db,
  bucket: R2Bucket,
  tenant: string,
  f: SearchFilters,
  limit: number,
  after: PageKey | undefined,
  o: HistoryOptions,
): Promise<{ events: StoredEvent[]; next: PageKey | null }> {
  const events: StoredEvent[] = []
  const hotReached = (f.until === undefined || f.until >= o.cutoff) && (!after || after.t >= o.cutoff)
  if (hotReached) {
    const since = f.since !== undefined && f.since > o.cutoff ? f.since : o.cutoff
    const hot = await searchEvents(db, tenant, { ...f, since }, limit, after)
    events.push(...hot.bodies.map((b) => verifiedEvent(b)))
    if (hot.next) return { events, next: hot.next }
  }
  if (f.since !== undefined && f.since >= o.cutoff) return { events, next: null }

  const cutoffDay = o.cutoff.slice(0, 10)
  const upper = [f.until?.slice(0, 10), after?.t.slice(0, 10), cutoffDay]
    .filter((d): d is string => Boolean(d))
    .sort()[0]!
  const lower = f.since?.slice(0, 10) ?? '0000-00-00'
  const days = (await archivedDays(bucket, tenant)).filter((d) => d <= upper && d >= lower && d <= cutoffDay)
  if (days.length === 0) return { events, next: null }
  const budget = o.maxArchiveDays ?? 31
  const older: StoredEvent[] = []
  let read = 0
  // The next page starts in the last day read, or (when this page ends exactly where that day's
  // rows begin) in the last day before it that had rows, and then goes on to the last day read:
  // those are what keptDays keeps.
  let current: { day: string; events: StoredEvent[]; rows: number } | undefined
  let lastWithRows: typeof current
  for (const day of days) {
    if (events.length + older.length > limit || read >= budget) break
    // Objects the zone maps rule out for this page are not read: later pages of the same search
    // (older page keys) rule out at least as many, so what keptDays keeps still serves them.
    const all =
      o.keptDays?.get(day) ??
      (await readPartition(bucket, tenant, day, zoneQuery(f, { cutoff: o.cutoff, after })))
    const rows = all.filter((e) => e.occurred_at < o.cutoff && matchesFilters(e, f, after))
    if (current?.rows) lastWithRows = current
    current = { day, events: all, rows: rows.length }
    older.push(...rows.sort(newestFirst))
    read++
  }
  events.push(...older)
  const keep = (next: PageKey) => {
    o.keptDays?.clear()
    if (lastWithRows?.day === next.t.slice(0, 10)) o.keptDays?.set(lastWithRows.day, lastWithRows.events)
    if (current) o.keptDays?.set(current.day, current.events)
    return next
  }
  if (events.length > limit) {
    const page = events.slice(0, limit)
    const last = page[page.length - 1]!
    return { events: page, next: keep({ t: last.occurred_at, id: last.id }) }
  }
  if (read < days.length) {
    // Budget spent: go on next time from the start of the last day read.
    return { events, next: keep({ t: `${days[read - 1]}T00:00:00.000Z`, id: '' }) }
  }
  return { events, next: null }
}

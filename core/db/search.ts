// Tenant-scoped event search. Every query starts with `tenant = ?`; order is newest first by
// (occurred_at, id), which is total, so keyset pages never skip or repeat under equal times.
// Each documented question is served by one index (see README "Search"), which a test checks
// with EXPLAIN QUERY PLAN.
import { and, desc, eq, gte, lte, type SQL, sql } from 'drizzle-orm'
import type { SearchFilters } from '../search/filters'
import { newestFirstBy } from '../search/order'
import type { Db } from './client'
import { events } from './schema'

export type PageKey = { t: string; id: string }

type Part = 'target' | 'children'

/** The time index: events' primary key (tenant, occurred_at, id), the table itself. */
export const TIME_INDEX = 'PRIMARY KEY'

/**
 * The index that serves a filter set. Named explicitly (INDEXED BY) because without table
 * statistics SQLite may prefer walking the time index for ORDER BY ... LIMIT, which reads the
 * whole tenant when the filter is selective. The time index is the primary key, which has no name
 * to give: NOT INDEXED (no secondary index) keeps those queries on it.
 */
export function indexFor(f: SearchFilters, part: Part = 'target'): string {
  if (part === 'children') return 'events_tenant_parent'
  if (f.correlation_id) return 'events_tenant_correlation'
  if (f.ip && f.outcome === 'failure') return 'events_tenant_failed_ip'
  if (f.target_type && f.target_id) return 'events_tenant_target'
  if (f.actor_id) return 'events_tenant_actor'
  return TIME_INDEX
}

function indexClause(index: string) {
  return sql.raw(index === TIME_INDEX ? 'NOT INDEXED' : `INDEXED BY ${index}`)
}

export function searchConditions(
  tenant: string,
  f: SearchFilters,
  after?: PageKey,
  part: Part = 'target',
): SQL {
  const c: (SQL | undefined)[] = [eq(events.tenant, tenant)]
  if (f.actor_id) c.push(eq(events.actorId, f.actor_id))
  if (f.actor_type) c.push(eq(events.actorType, f.actor_type))
  if (f.action) {
    c.push(
      f.action.endsWith('*')
        ? sql`${events.action} GLOB ${`${f.action.slice(0, -1)}*`}`
        : eq(events.action, f.action),
    )
  }
  const auditAsked = f.include_audit_reads || f.action?.startsWith('audit_log')
  if (!auditAsked) c.push(sql`${events.action} NOT GLOB 'audit_log.*'`)
  if (part === 'children') {
    c.push(eq(events.parentType, f.target_type!), eq(events.parentId, f.target_id!))
  } else {
    if (f.target_type) c.push(eq(events.targetType, f.target_type))
    if (f.target_id) c.push(eq(events.targetId, f.target_id))
  }
  if (f.source) c.push(eq(events.source, f.source))
  // A literal (the value is one of two enum members), so SQLite can match the partial index
  // `WHERE outcome = 'failure'`; a bound parameter would not prove it.
  if (f.outcome)
    c.push(sql`${events.outcome} = ${sql.raw(f.outcome === 'failure' ? "'failure'" : "'success'")}`)
  if (f.correlation_id) c.push(eq(events.correlationId, f.correlation_id))
  if (f.ip) c.push(eq(events.ip, f.ip))
  if (f.since) c.push(gte(events.occurredAt, f.since))
  if (f.until) c.push(lte(events.occurredAt, f.until))
  if (after) c.push(sql`(${events.occurredAt}, ${events.id}) < (${after.t}, ${after.id})`)
  return and(...c)!
}

export function searchQuery(
  db: Db,
  tenant: string,
  f: SearchFilters,
  limit: number,
  after?: PageKey,
  part: Part = 'target',
) {
  return db
    .select({ body: sql<string>`"body"`, occurredAt: sql<string>`"occurred_at"`, id: sql<string>`"id"` })
    .from(sql`${events} ${indexClause(indexFor(f, part))}`)
    .where(searchConditions(tenant, f, after, part))
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(limit)
}

/** The queries a filter set runs: a target with its children is two index walks, merged. */
export function searchQueries(db: Db, tenant: string, f: SearchFilters, limit: number, after?: PageKey) {
  const parts: Part[] =
    f.include_children && f.target_type && f.target_id ? ['target', 'children'] : ['target']
  return parts.map((p) => searchQuery(db, tenant, f, limit, after, p))
}

/** One page; `next` is the key after which the following page starts, or null at the end. */
export async function searchEvents(db: Db, tenant: string, f: SearchFilters, limit: number, after?: PageKey) {
  const queries = searchQueries(db, tenant, f, limit + 1, after)
  // Both walks of a target-with-children question go to D1 in one round trip.
  const results =
    queries.length === 1
      ? [await queries[0]!.all()]
      : await db.batch(queries as [(typeof queries)[0], ...typeof queries])
  const rows = results.length === 1 ? results[0]! : mergeNewestFirst(results.flat())
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    bodies: page.map((r) => r.body),
    next: rows.length > limit && last ? { t: last.occurredAt, id: last.id } : null,
  }
}

function mergeNewestFirst<T extends { occurredAt: string; id: string }>(rows: T[]): T[] {
  const seen = new Set<string>()
  return rows
    .sort((a, b) => newestFirstBy(a.occurredAt, a.id, b.occurredAt, b.id))
    .filter((r) => !seen.has(r.id) && seen.add(r.id))
}

// Routes used only by the benchmarks in bench/, mounted only by the benchmarks' own entry
// (bench/worker/index.ts). They need the admin token, except the bare route, which is the
// baseline: the same Worker doing nothing but answering 202.

import { Hono } from 'hono'
import { archiveObjectKey, tenantArchivePrefix } from '../../core/archive/layout'
import { gunzipLines, gzipLines, listAll } from '../../core/archive/r2'
import { database } from '../../core/db/client'
import { eventIdInsertStatements, eventInsertStatements } from '../../core/db/events'
import { searchEvents, searchQueries } from '../../core/db/search'
import { tenantShard } from '../../core/db/shards'
import { DomainError } from '../../core/errors'
import { type StoredEvent, toApiEvent, toPendingEvent } from '../../core/ingest/stored-event'
import { validateEvents } from '../../core/ingest/validate-events'
import { GENESIS_HASH } from '../../core/integrity/chain'
import { issueCheckpoint } from '../../core/integrity/issue-checkpoint'
import { checkStoredLine, verifiedEvent } from '../../core/integrity/verified-read'
import { filtersOf, searchQuerySchema } from '../../core/search/filters'
import { historyOptions } from '../../core/search/history-options'
import { runScheduledJobs } from '../../cron'
import { runMonitor } from '../../cron/monitor'
import type { AppEnv } from '../../worker/context'
import { requireAdminToken } from '../../worker/middleware/auth'
import { percentile } from '../lib/stats'
import { countingD1 } from './counting-d1'
import { billingCounts, countedEnv, countInvocation, resetBillingCounts } from './counting-env'

const operator = requireAdminToken()

/** GET /__bench/pipeline-stats: a tenant's rows in D1, its archive segments and archived lines. */
export type PipelineStats = {
  shard: string
  n: number
  ids: number
  lo: number | null
  hi: number | null
  archived: number | null
  pending: number | null
  objects: number
  archive: { lines: number; distinct_ids: number }
  /** From receipt at the edge to the event's archive object being written (null: none yet). */
  lag_ms: { p50: number | null; p99: number | null; max: number | null }
}

export const benchRoutes = new Hono<AppEnv>()
  .post('/__bench/accept', (c) => c.json({ accepted: [] }, 202))
  // What the run has been billed for so far (BENCH_COUNT=1); POST zeroes the counts.
  .get('/__bench/counts', operator, (c) => c.json(billingCounts()))
  .post('/__bench/counts/reset', operator, (c) => {
    resetBillingCounts()
    return c.json(billingCounts())
  })
  // One cron tick, run to its end before answering (the scheduled handler hands its jobs to
  // waitUntil), over the counted env: what a tick costs.
  .post('/__bench/tick', operator, async (c) => {
    countInvocation('scheduled')
    return c.json(await runScheduledJobs(countedEnv(c.env)))
  })
  // The same rows the pipeline stores, inserted straight into D1 in one batch: no queue, no
  // hashing, no archive. The ceiling the pipeline is compared with.
  .post('/__bench/raw-insert', operator, async (c) => {
    const { tenant, start, events } = (await c.req.json()) as {
      tenant: string
      start: number
      events: unknown[]
    }
    const now = Date.now()
    const valid = validateEvents(events, { now, batch: true })
    const stored = valid.map((e, i) => ({
      ...toPendingEvent({ ...e, id: e.id ?? `raw-${start + i}` }, tenant, new Date(now).toISOString(), {
        key_id: 'bench',
        request_id: 'bench',
      }),
      seq: start + i + 1,
      prev_hash: GENESIS_HASH,
      hash: GENESIS_HASH,
    }))
    const db = database(c.env.DB)
    const results = await c.env.DB.batch([
      ...eventInsertStatements(
        db,
        stored.map((e) => JSON.stringify(e)),
      ),
      // With their id lookup rows, as the pipeline writes them (content hashes are not computed).
      ...eventIdInsertStatements(
        db,
        tenant,
        stored,
        stored.map(() => '0'.repeat(32)),
      ),
    ]).catch((err: unknown) => {
      throw new DomainError('conflict', String(err))
    })
    return c.json({
      inserted: stored.length,
      rows_written: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
    })
  })
  // The exact SQL a search runs, so bench:search can run it directly on the SQLite file.
  .get('/__bench/search-sql', operator, (c) => {
    const url = new URL(c.req.url)
    const q = Object.fromEntries(url.searchParams)
    const tenant = q.tenant ?? ''
    delete q.tenant
    const f = searchQuerySchema.parse(q)
    return c.json(searchQueries(database(c.env.DB), tenant, filtersOf(f), f.limit + 1).map((x) => x.toSQL()))
  })
  // bench:monitor: a signed checkpoint of the tenant's head, issued as the cron issues it.
  .post('/__bench/checkpoint', operator, async (c) =>
    c.json(await issueCheckpoint(c.env, c.req.query('tenant') ?? '')),
  )
  // bench:monitor: one archive object holding the given stored lines, named as the writer names it.
  .post('/__bench/archive-put', operator, async (c) => {
    const { tenant, dt, lines } = (await c.req.json()) as { tenant: string; dt: string; lines: string[] }
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number }).seq)
    const key = archiveObjectKey(tenant, dt, Math.min(...seqs), Math.max(...seqs))
    await c.env.ARCHIVE.put(key, await gzipLines(lines))
    return c.json({ key, lines: lines.length })
  })
  // bench:monitor: one cron tick's monitor work (runMonitor once) on a D1 binding that counts
  // statements and rows read (bench/worker/counting-d1.ts). elapsed_ms is the Worker's own clock,
  // which in workerd advances with I/O: the monitor does D1 I/O until its last step.
  .post('/__bench/monitor', operator, async (c) => {
    const budget = Number(c.req.query('budget') ?? 50_000)
    // count=0: the plain binding, to compare times without the counting wrapper.
    const { db, counts } = countingD1(c.env.DB)
    const env = c.req.query('count') === '0' ? c.env : { ...c.env, DB: db }
    const t0 = Date.now()
    const report = await runMonitor(env, { budget })
    return c.json({ report, elapsed_ms: Date.now() - t0, d1: counts })
  })
  // bench:search: one D1 page of a search served with or without the verified read (the same
  // rows; `plain` parses bodies as searches did before, `verified` re-hashes them as now).
  .get('/__bench/search-page', operator, async (c) => {
    const url = new URL(c.req.url)
    const q = Object.fromEntries(url.searchParams)
    const tenant = q.tenant ?? ''
    const mode = q.mode ?? 'verified'
    delete q.tenant
    delete q.mode
    const f = searchQuerySchema.parse(q)
    const filters = filtersOf(f)
    // As searchHistory asks D1: from the hot window's start on.
    const { cutoff } = historyOptions(c.env)
    const since = filters.since !== undefined && filters.since > cutoff ? filters.since : cutoff
    const { bodies } = await searchEvents(database(c.env.DB), tenant, { ...filters, since }, f.limit)
    const events =
      mode === 'plain' ? bodies.map((b) => JSON.parse(b) as StoredEvent) : bodies.map((b) => verifiedEvent(b))
    return c.json({ data: events.map(toApiEvent) })
  })
  // bench:search: checkStoredLine's cost inside the Worker (workerd's node:crypto), next to
  // JSON.parse of the same lines, over the tenant's newest `n` bodies, `rounds` times. Local
  // workerd's clock advances during compute (deployed, it only moves with I/O).
  .get('/__bench/verify-cost', operator, async (c) => {
    const n = Number(c.req.query('n') ?? 1000)
    const rounds = Number(c.req.query('rounds') ?? 5)
    const { results } = await c.env.DB.prepare(
      'SELECT body FROM events WHERE tenant = ? ORDER BY occurred_at DESC, id DESC LIMIT ?',
    )
      .bind(c.req.query('tenant') ?? '', n)
      .all<{ body: string }>()
    const lines = results.map((r) => r.body)
    const time = (f: (line: string) => unknown) => {
      const us: number[] = []
      for (let r = 0; r < rounds; r++) {
        const t = Date.now()
        for (const line of lines) f(line)
        us.push(((Date.now() - t) * 1000) / lines.length)
      }
      return us
    }
    let failed = 0
    time((l) => checkStoredLine(l).ok || failed++) // warm-up
    return c.json({
      lines: lines.length,
      failed,
      check_us: time((l) => checkStoredLine(l)),
      parse_us: time((l) => JSON.parse(l)),
    })
  })
  .get('/__bench/pipeline-stats', operator, async (c) => {
    const tenant = c.req.query('tenant') ?? ''
    const db = (await tenantShard(c.env, tenant)).d1
    const counts = await db
      .prepare(
        'SELECT count(*) AS n, count(DISTINCT id) AS ids, min(seq) AS lo, max(seq) AS hi FROM events WHERE tenant = ?',
      )
      .bind(tenant)
      .first<{ n: number; ids: number; lo: number; hi: number }>()
    const segs = await db
      .prepare(
        "SELECT sum(event_count) AS archived, sum(status = 'pending') AS pending, count(*) AS objects FROM archive_segments WHERE tenant = ?",
      )
      .bind(tenant)
      .first<{ archived: number; pending: number; objects: number }>()
    // Lag of each event: from receipt at the edge to its archive object being written.
    const lags = await db
      .prepare(
        `SELECT (julianday(s.written_at) - julianday(e.received_at)) * 86400000.0 AS lag
         FROM events e JOIN archive_segments s
           ON s.tenant = e.tenant AND e.seq BETWEEN s.first_seq AND s.last_seq
          AND s.dt = substr(e.occurred_at, 1, 10)
         WHERE e.tenant = ? AND s.status = 'written' ORDER BY lag`,
      )
      .bind(tenant)
      .all<{ lag: number }>()
    const l = lags.results.map((r) => r.lag)
    const pct = (p: number) => (l.length > 0 ? percentile(l, p) : null)
    const archive = await countArchivedLines(c.env.ARCHIVE, tenant)
    return c.json({
      shard: (await tenantShard(c.env, tenant)).name,
      ...counts,
      ...segs,
      archive,
      lag_ms: { p50: pct(50), p99: pct(99), max: l.at(-1) ?? null },
    })
  })

async function countArchivedLines(bucket: R2Bucket, tenant: string) {
  let lines = 0
  const ids = new Set<string>()
  for (const o of await listAll(bucket, tenantArchivePrefix(tenant))) {
    const obj = await bucket.get(o.key)
    if (!obj) continue
    for (const line of await gunzipLines(await obj.arrayBuffer())) {
      lines++
      ids.add((JSON.parse(line) as { id: string }).id)
    }
  }
  return { lines, distinct_ids: ids.size }
}

import { env, SELF } from 'cloudflare:test'
import { parse } from 'csv-parse/browser/esm/sync'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../../core/db/client'
import { searchQueries } from '../../core/db/search'
import { CSV_COLUMNS, CSV_COMPLETE_MARKER } from '../../core/search/export-format'
import type { SearchFilters } from '../../core/search/filters'
import { BASE, mintKey, uniqueTenant } from './helpers'
import { seed } from './search-seed'

const tenant = uniqueTenant('export')
let key: string
const get = (path: string) => SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })

beforeAll(async () => {
  key = (await mintKey(tenant, ['events:read'])).key
  await seed(tenant, [
    ...Array.from({ length: 1200 }, (_, i) => ({
      id: `x-${i}`,
      occurred_at: `2026-01-0${1 + (i % 5)}T00:00:00Z`,
    })),
    {
      id: 'tricky',
      occurred_at: '2026-01-09T00:00:00Z',
      actor: { type: 'user' as const, id: 'u,"quoted"', name: 'Ann\nLee' },
      description: 'multi\nline, "quoted" text',
      changes: [{ field: 'tags', before: ['a'], after: { nested: 'x,y\n"z"' } }],
      metadata: { note: 'semi;colon', n: 3 },
    },
  ])
})

describe('GET /v1/export', () => {
  it('streams NDJSON with every matching event and a row-count trailer', async () => {
    const res = await get('/v1/export?format=ndjson')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="audit-export-.*\.ndjson"/)
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const trailer = lines.pop()
    expect(trailer).toEqual({ _export: { rows: 1201, complete: true } })
    expect(lines).toHaveLength(1201)
    expect(new Set(lines.map((l) => l.id)).size).toBe(1201)
    expect(lines[0]).toMatchObject({
      id: 'tricky',
      changes: [{ field: 'tags', before: ['a'], after: { nested: 'x,y\n"z"' } }],
    })
  })

  it('streams CSV that parses back to the same events, quoting nested and multi-line values', async () => {
    const res = await get('/v1/export?format=csv&since=2026-01-05T00:00:00Z')
    expect(res.headers.get('content-type')).toMatch(/text\/csv/)
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[]
    // The last record is the completeness row, `#complete,<rows>`, not an event.
    const marker = rows.pop()!
    expect(marker).toMatchObject({ id: CSV_COMPLETE_MARKER, seq: '241' })
    expect(Object.keys(rows[0]!)).toEqual([...CSV_COLUMNS])
    expect(rows).toHaveLength(241)
    expect(rows.every((r) => r.tenant === tenant && r.ingest_key_id === 'seed')).toBe(true)
    const tricky = rows.find((r) => r.id === 'tricky')!
    expect(tricky.actor_id).toBe('u,"quoted"')
    expect(tricky.actor_name).toBe('Ann\nLee')
    expect(tricky.description).toBe('multi\nline, "quoted" text')
    expect(JSON.parse(tricky.changes!)).toEqual([
      { field: 'tags', before: ['a'], after: { nested: 'x,y\n"z"' } },
    ])
    expect(JSON.parse(tricky.metadata!)).toEqual({ note: 'semi;colon', n: 3 })
    const search = (await (await get('/v1/events?since=2026-01-05T00:00:00Z&limit=1000')).json()) as {
      data: { id: string }[]
    }
    expect(rows.map((r) => r.id)).toEqual(search.data.map((e) => e.id))
  })

  it('ends a CSV spanning several pages with one completeness row counting every event', async () => {
    const records = parse(await (await get('/v1/export?format=csv')).text()) as string[][]
    expect(records).toHaveLength(1201 + 2)
    expect(records.filter((r) => r[0] === CSV_COMPLETE_MARKER)).toEqual([records.at(-1)])
    expect(records.at(-1)!.slice(0, 2)).toEqual([CSV_COMPLETE_MARKER, '1201'])
  })

  it('rejects an unknown format', async () => {
    const res = await get('/v1/export?format=xml')
    expect(res.status).toBe(400)
  })
})

describe('audited reads', () => {
  it('records searches, reads and exports in the caller tenant, hidden unless asked for', async () => {
    const t = uniqueTenant('audited')
    const k = await mintKey(t, ['events:read'])
    await seed(t, [{ id: 'a1' }])
    const h = { headers: { authorization: `Bearer ${k.key}` } }
    await SELF.fetch(`${BASE}/v1/events?actor_id=u_default`, h)
    await SELF.fetch(`${BASE}/v1/events/a1`, h)
    await (await SELF.fetch(`${BASE}/v1/export?format=csv`, h)).text()
    type Page = { data: { action: string; actor: { id: string }; metadata: Record<string, unknown> }[] }
    let audit: Page['data'] = []
    for (let i = 0; i < 100 && audit.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 150))
      audit = ((await (await SELF.fetch(`${BASE}/v1/events?action=audit_log.*`, h)).json()) as Page).data
    }
    const byAction = Object.fromEntries(audit.map((e) => [e.action, e]))
    expect(byAction['audit_log.searched']).toMatchObject({ actor: { id: k.id }, metadata: { count: 1 } })
    expect(JSON.parse(String(byAction['audit_log.searched']!.metadata.filters))).toEqual({
      actor_id: 'u_default',
    })
    expect(byAction['audit_log.read']).toMatchObject({ metadata: { event_id: 'a1' } })
    expect(byAction['audit_log.exported']).toMatchObject({ metadata: { format: 'csv', count: 1 } })
    const plain = (await (await SELF.fetch(`${BASE}/v1/events`, h)).json()) as Page
    expect(plain.data.map((e) => e.action)).toEqual(['thing.updated'])
    const all = (await (await SELF.fetch(`${BASE}/v1/events?include_audit_reads=true`, h)).json()) as Page
    expect(all.data.length).toBeGreaterThanOrEqual(4)
  })
})

describe('indexes', () => {
  const patterns: [string, SearchFilters][] = [
    [
      'all changes to user u_123 in the last 30 days',
      { target_type: 'user', target_id: 'u_123', since: '2026-01-01T00:00:00.000Z' },
    ],
    ['who changed this setting and when', { target_type: 'setting', target_id: 'sso', action: 'settings.*' }],
    ['every failed login from an actor', { actor_id: 'u_123', action: 'user.login', outcome: 'failure' }],
    ['every failed login from this IP', { ip: '198.51.100.9', action: 'user.login', outcome: 'failure' }],
    [
      'all updates by an actor last week',
      { actor_id: 'jane', since: '2026-01-01T00:00:00.000Z', until: '2026-01-08T00:00:00.000Z' },
    ],
    [
      'all changes to Order 500 and its OrderItems',
      { target_type: 'order', target_id: '500', include_children: true },
    ],
    ['everything with correlation id X', { correlation_id: 'corr-B' }],
    ['a time range', { since: '2026-01-01T00:00:00.000Z', until: '2026-01-02T00:00:00.000Z' }],
    ['actions by prefix', { action: 'order.*' }],
    ['the newest events', {}],
  ]
  for (const [name, filters] of patterns) {
    it(`uses an index, never a full scan: ${name}`, async () => {
      for (const after of [undefined, { t: '2026-01-05T00:00:00.000Z', id: 'x' }]) {
        for (const query of searchQueries(database(env.DB), 'acme', filters, 100, after)) {
          const q = query.toSQL()
          const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
            .bind(...q.params)
            .all<{ detail: string }>()
          const details = plan.results.map((r) => r.detail)
          const onEvents = details.filter((d) => / events\b/.test(d))
          expect(onEvents.length, details.join(' | ')).toBeGreaterThan(0)
          // Its own index, or the primary key (tenant, occurred_at, id), which is the time index;
          // never a scan, never a sort.
          for (const d of onEvents) {
            expect(d, details.join(' | ')).toMatch(
              /^SEARCH events USING ((COVERING )?INDEX \S+|PRIMARY KEY) \(tenant=\?/,
            )
          }
          expect(details.join(' | ')).not.toMatch(/TEMP B-TREE/)
          // A selective filter walks its own index, not the whole tenant's timeline.
          if (filters.actor_id || filters.target_id || filters.correlation_id || filters.ip) {
            expect(onEvents.join(' ')).not.toMatch(/PRIMARY KEY/)
          } else {
            expect(onEvents.join(' ')).toMatch(/PRIMARY KEY/)
          }
        }
      }
    })
  }
})

describe('OpenAPI', () =>
  it('documents every route', async () => {
    const doc = (await (await SELF.fetch(`${BASE}/openapi.json`)).json()) as {
      openapi: string
      paths: Record<string, unknown>
    }
    expect(doc.openapi).toBe('3.1.0')
    for (const p of [
      '/v1/keys',
      '/v1/keys/{id}',
      '/v1/events',
      '/v1/events/{id}',
      '/v1/targets/{type}/{id}/events',
      '/v1/export',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p)
    }
  }))

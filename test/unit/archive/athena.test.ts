import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { AthenaClient } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runQuery } from '../../../athena/client'
import { athenaDdl } from '../../../athena/ddl'
import { buildQuery, sqlLiteral } from '../../../athena/query'
import type { StoredEvent } from '../../../core/stored-event'
import { writeArchive } from '../../support/archive-fixture'
import { startLocalAthena } from '../../support/athena-local'
import { walk } from '../../support/walk'

let root: string
let athena: Awaited<ReturnType<typeof startLocalAthena>>
let client: AthenaClient
let lines: StoredEvent[]
const opts = { database: 'audit_log', pollMs: 5 }

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'athena-'))
  await writeArchive(root, [
    { tenant: 'alpha', batches: [40, 30, 30], day: (i) => i % 4 },
    { tenant: 'beta', batches: [20], day: () => 1 },
  ])
  lines = walk(join(root, 'events')).flatMap((f) =>
    gunzipSync(readFileSync(f))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredEvent),
  )
  athena = await startLocalAthena({
    eventsGlob: join(root, 'events', '**', '*.ndjson.gz'),
    database: 'audit_log',
    table: 'events',
  })
  client = new AthenaClient({
    endpoint: athena.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  })
})

afterAll(async () => {
  await athena?.stop()
  rmSync(root, { recursive: true, force: true })
})

const expected = (pred: (e: StoredEvent) => boolean) =>
  lines
    .filter(pred)
    .sort((a, b) =>
      a.occurred_at === b.occurred_at ? (a.id < b.id ? 1 : -1) : a.occurred_at < b.occurred_at ? 1 : -1,
    )
    .map((e) => e.id)

describe('Athena client against a local Athena-protocol endpoint (real SDK, DuckDB)', () => {
  it('answers the search questions for one tenant and date range', async () => {
    const base = { tenant: 'alpha', from: '2026-01-01', to: '2026-01-03' }
    const inRange = (e: StoredEvent) => e.tenant === 'alpha' && e.occurred_at.slice(0, 10) <= '2026-01-03'
    const cases: [Record<string, unknown>, (e: StoredEvent) => boolean][] = [
      [{}, inRange],
      [{ actor_id: 'u3' }, (e) => inRange(e) && e.actor.id === 'u3'],
      [{ action: 'doc.*' }, (e) => inRange(e) && e.action.startsWith('doc.')],
      [{ action: 'user.login' }, (e) => inRange(e) && e.action === 'user.login'],
      [{ target_type: 'doc', target_id: 'd4' }, (e) => inRange(e) && e.target.id === 'd4'],
      [{ outcome: 'success', source: undefined }, inRange],
    ]
    for (const [extra, pred] of cases) {
      const rows = await runQuery(client, { ...base, ...extra }, opts)
      expect(
        rows.map((r) => r.id),
        JSON.stringify(extra),
      ).toEqual(expected(pred))
    }
    const one = (await runQuery(client, { ...base, actor_id: 'u1', limit: 1 }, opts))[0]!
    expect(one).toMatchObject({ tenant: 'alpha', actor_id: 'u1' })
    expect(Number(one.seq)).toBeGreaterThan(0)
  })

  it('pages through results and keeps tenants apart', async () => {
    const rows = await runQuery(
      client,
      { tenant: 'beta', from: '2026-01-01', to: '2026-01-31', limit: 5000 },
      opts,
    )
    expect(rows).toHaveLength(20)
    expect(new Set(rows.map((r) => r.tenant))).toEqual(new Set(['beta']))
  })

  it('passes hostile values safely as parameters, never as SQL', async () => {
    for (const hostile of [
      "alpha' OR '1'='1",
      "x'; DROP VIEW audit_log.events; --",
      'ünïcødé ☃',
      "'",
      '\\',
    ]) {
      const rows = await runQuery(client, { tenant: hostile, from: '2026-01-01', to: '2026-01-02' }, opts)
      expect(rows).toEqual([])
    }
    for (const sql of athena.executed) expect(sql).not.toMatch(/tenant = 'alpha' OR/)
    // The view survived the DROP attempt.
    expect(
      (await runQuery(client, { tenant: 'beta', from: '2026-01-01', to: '2026-01-31' }, opts)).length,
    ).toBe(20)
    expect(() => sqlLiteral('x'.repeat(2000))).toThrow(/at most 1024/)
    expect(() => sqlLiteral('a\u0000b')).toThrow(/control characters/)
    expect(() =>
      buildQuery(
        { tenant: 't', from: '2026-01-01', to: '2026-03-01' },
        { database: 'audit_log', table: 'events' },
      ),
    ).toThrow(/cap is 31/)
    expect(() =>
      buildQuery(
        { tenant: '', from: '2026-01-01', to: '2026-01-02' },
        { database: 'audit_log', table: 'events' },
      ),
    ).toThrow()
  })

  it('prints DDL with partition projection and refuses unsafe names', () => {
    const ddl = athenaDdl({ bucket: 'my-mirror', prefix: 'prod' })
    expect(ddl).toContain("'projection.tenant.type' = 'injected'")
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's own ${...} placeholders
    const template = "'storage.location.template' = 's3://my-mirror/prod/events/tenant=${tenant}/dt=${dt}/'"
    expect(ddl).toContain(template)
    expect(ddl).toContain("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'")
    expect(() => athenaDdl({ bucket: "x'; --" })).toThrow()
    expect(() => athenaDdl({ bucket: 'ok-bucket', table: 'Events; DROP' })).toThrow()
  })
})

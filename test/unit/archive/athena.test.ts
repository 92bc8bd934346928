import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { AthenaClient } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runQuery } from '../../../athena/client'
import { athenaDdl } from '../../../athena/ddl'
import { buildQuery, sqlLiteral } from '../../../athena/query'
import { padSeq } from '../../../core/archive/layout'
import type { StoredEvent } from '../../../core/ingest/stored-event'
import { writeArchive } from '../../support/archive-fixture'
import { startLocalAthena } from '../../support/athena-local'
import { walk } from '../../support/walk'

const HOSTILE = [
  "alpha' OR '1'='1",
  "x'; DROP VIEW audit_log.events; --",
  'ünïcødé ☃ 𝄞 \u202e',
  "'",
  '\\',
  '$1 ? ?',
  `${"'".repeat(60)}${'é'.repeat(60)}`,
]

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
  // Events whose values are what an attacker would send as query values, to be found exactly.
  const template = JSON.parse(
    gunzipSync(readFileSync(walk(join(root, 'events'))[0]!))
      .toString('utf8')
      .split('\n')[0]!,
  ) as StoredEvent
  const hostileEvents = HOSTILE.map((v, i) => ({
    ...template,
    tenant: 'alpha',
    id: `hostile-${i}`,
    seq: 900_000 + i,
    occurred_at: '2026-01-02T12:00:00.000Z',
    actor: { type: 'user', id: v },
    target: { type: 'doc', id: v },
    source: v,
  }))
  mkdirSync(join(root, 'events/tenant=alpha/dt=2026-01-02'), { recursive: true })
  writeFileSync(
    join(root, 'events/tenant=alpha/dt=2026-01-02/000000900000-000000900009.ndjson.gz'),
    gzipSync(hostileEvents.map((e) => `${JSON.stringify(e)}\n`).join('')),
  )
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

  it('returns each event once while a day is mid-compaction (small files and merged part both listed)', async () => {
    const dir = join(root, 'events/tenant=alpha/dt=2026-01-02')
    const small = walk(dir).filter((f) => !f.includes('900000'))
    expect(small.length).toBeGreaterThan(1)
    const merged = small
      .flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean))
      .sort((a, b) => JSON.parse(a).seq - JSON.parse(b).seq)
    const seqs = merged.map((l) => JSON.parse(l).seq as number)
    const part = join(dir, `${padSeq(seqs[0]!)}-${padSeq(seqs.at(-1)!)}.ndjson.gz`)
    writeFileSync(part, gzipSync(`${merged.join('\n')}\n`))
    try {
      const rows = await runQuery(client, { tenant: 'alpha', from: '2026-01-02', to: '2026-01-02' }, opts)
      expect(rows.map((r) => r.id)).toEqual(
        expected((e) => e.tenant === 'alpha' && e.occurred_at.startsWith('2026-01-02')),
      )
    } finally {
      rmSync(part)
    }
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

  it('passes hostile values safely as parameters, never as SQL, and finds them exactly', async () => {
    const day = { tenant: 'alpha', from: '2026-01-01', to: '2026-01-03' }
    for (const [i, hostile] of HOSTILE.entries()) {
      expect(await runQuery(client, { tenant: hostile, from: '2026-01-01', to: '2026-01-02' }, opts)).toEqual(
        [],
      )
      for (const q of [
        { actor_id: hostile },
        { target_type: 'doc', target_id: hostile, include_children: true },
        { source: hostile },
      ]) {
        const rows = await runQuery(client, { ...day, ...q }, opts)
        expect(
          rows.map((r) => r.id),
          JSON.stringify(q).slice(0, 80),
        ).toEqual([`hostile-${i}`])
      }
      // Fields with a fixed shape refuse what does not fit it, as the search API does.
      await expect(runQuery(client, { ...day, action: `${hostile}*` }, opts)).rejects.toThrow()
      await expect(runQuery(client, { ...day, ip: hostile }, opts)).rejects.toThrow()
      await expect(runQuery(client, { ...day, since: hostile }, opts)).rejects.toThrow()
    }
    for (const { sql } of athena.executed)
      for (const h of HOSTILE.filter((v) => v.length > 2)) expect(sql).not.toContain(h)
    // The view survived the DROP attempt.
    expect(
      (await runQuery(client, { tenant: 'beta', from: '2026-01-01', to: '2026-01-31' }, opts)).length,
    ).toBe(20)
    // Refused before anything reaches Athena: oversize values, control characters, empty tenant,
    // a range over the cap.
    const refused = [
      { ...day, actor_id: 'x'.repeat(2000) },
      { ...day, source: 'a\u0000b' },
      { ...day, tenant: '' },
      { tenant: 't', from: '2026-01-01', to: '2026-03-01' },
      { tenant: 't', from: "2026-01-01' OR 1=1", to: '2026-01-02' },
    ]
    const before = athena.executed.length
    for (const q of refused) await expect(runQuery(client, q, opts)).rejects.toThrow()
    expect(athena.executed.length).toBe(before)
    expect(() => sqlLiteral('x'.repeat(2000))).toThrow(/at most 1024/)
    expect(() => sqlLiteral('a\u0000b')).toThrow(/control characters/)
    expect(() =>
      buildQuery(
        { tenant: 't', from: '2026-01-01', to: '2026-03-01' },
        { database: 'audit_log', table: 'events' },
      ),
    ).toThrow(/cap is 31/)
  })

  it('refuses an ExecutionParameter that is not one literal, as Athena does', async () => {
    const { StartQueryExecutionCommand } = await import('@aws-sdk/client-athena')
    for (const p of ["'a' OR '1'='1'", "'unterminated", '1; DROP VIEW audit_log.events', 'tenant']) {
      await expect(
        client.send(
          new StartQueryExecutionCommand({
            QueryString: 'SELECT count(*) FROM audit_log.events WHERE tenant = ?',
            ExecutionParameters: [p],
          }),
        ),
      ).rejects.toThrow(/not a literal/)
    }
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

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { AthenaClient } from '@aws-sdk/client-athena'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runQuery } from '../../athena/client'
import type { AthenaQuery } from '../../athena/query'
import { ADMIN_TOKEN, mintKey, startWorker } from '../../bench/lib/worker-server'
import type { Manifest } from '../../core/archive/layout'
import type { PublicKeyDocument } from '../../core/integrity/checkpoint'
import { s3Source } from '../../verifier/archive-source'
import { verifyArchive } from '../../verifier/verify-archive'
import { DUCK_COLUMNS, startLocalAthena } from '../support/athena-local'
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from '../support/local-s3'
import { allPages, cursorParam } from '../support/pages'
import { walk } from '../support/walk'

type Server = Awaited<ReturnType<typeof startWorker>>
let s3: Awaited<ReturnType<typeof startLocalS3>>
let worker: Server
let key: string
const TENANT = 'e2e-archive'
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

function events() {
  return Array.from({ length: 240 }, (_, i) => ({
    id: `a-${String(i).padStart(4, '0')}`,
    occurred_at: new Date(Date.UTC(2026, 0, 10 + (i % 3), 8, i % 60, i % 50)).toISOString(),
    action: ['user.login', 'order.created', 'order.item.added', 'settings.changed'][i % 4],
    actor: { type: 'user', id: `u_${i % 7}` },
    target:
      i % 4 === 2
        ? { type: 'order_item', id: `oi_${i}` }
        : { type: i % 4 === 1 ? 'order' : 'user', id: `t_${i % 5}` },
    ...(i % 4 === 2 ? { parent: { type: 'order', id: `t_${(i + 3) % 5}` } } : {}),
    outcome: { status: i % 8 === 0 ? 'failure' : 'success' },
    context: { ip: `198.51.100.${i % 3}`, ...(i % 2 ? { correlation_id: `c_${i % 6}` } : {}) },
    source: i % 2 ? 'web' : 'api',
  }))
}

beforeAll(async () => {
  s3 = await startLocalS3()
  worker = await startWorker('e2e-archive', {
    vars: {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      // The archive's IP filters are compared with Athena's on plain values (docs/privacy.md).
      PRIVACY_TENANTS: JSON.stringify({ [TENANT]: { 'context.ip': 'plain' } }),
    },
  })
  key = await mintKey(worker.url, TENANT, ['events:write', 'events:read'])
  // Three separate deliveries, so every day gets several small archive files.
  const all = events()
  for (let part = 0; part < 3; part++) {
    const res = await fetch(`${worker.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: all.slice(part * 80, part * 80 + 80) }),
    })
    expect(res.status).toBe(202)
    for (let i = 0; i < 100; i++) {
      const stats = await fetch(`${worker.url}/__bench/pipeline-stats?tenant=${TENANT}`, { headers: admin })
      const st = (await stats.json()) as { n: number; pending: number | null }
      if (st.n >= (part + 1) * 80 && !st.pending) break
      await new Promise((r) => setTimeout(r, 200))
    }
  }
})

afterAll(async () => {
  await worker?.stop()
  await s3?.stop()
})

async function searchAll(qs: string): Promise<string[]> {
  const { ids } = await allPages((cursor) =>
    fetch(`${worker.url}/v1/events?limit=1000&${qs}${cursorParam(cursor)}`, {
      headers: { authorization: `Bearer ${key}` },
    }),
  )
  return ids
}

describe('archive: R2 -> compaction -> S3 mirror -> DuckDB', () => {
  it('compacts each closed day into one file with a manifest', async () => {
    const res = await fetch(`${worker.url}/v1/archive/compact`, { method: 'POST', headers: admin })
    const body = (await res.json()) as {
      compacted: number
      manifests: { dt: string; files: { lines: number }[]; superseded: string[] }[]
    }
    expect(body.compacted, JSON.stringify(body).slice(0, 300)).toBe(3)
    for (const m of body.manifests) {
      expect(m.files).toHaveLength(1)
      expect(m.files[0]!.lines).toBe(80)
      expect(m.superseded.length).toBeGreaterThanOrEqual(2)
    }
  })

  it('mirrors every archive object once, verified, and a second run copies nothing', async () => {
    const first = (await (
      await fetch(`${worker.url}/v1/archive/reconcile`, { method: 'POST', headers: admin })
    ).json()) as {
      copied: number
      sweep_finished: boolean
    }
    expect(first.copied).toBeGreaterThan(0)
    expect(first.sweep_finished).toBe(true)
    const second = (await (
      await fetch(`${worker.url}/v1/archive/reconcile`, { method: 'POST', headers: admin })
    ).json()) as { copied: number }
    expect(second.copied).toBe(0)
    const status = (await (await fetch(`${worker.url}/v1/archive/status`, { headers: admin })).json()) as {
      enabled: boolean
      missing_objects: number
      r2_objects: number
      s3_objects: number
    }
    expect(status).toMatchObject({ enabled: true, missing_objects: 0, s3_only_objects: 0 })
    expect(status.s3_objects).toBe(status.r2_objects)
  })

  it('mirrors manifests that match the mirrored files: line counts, sizes, SHA-256, seq ranges', async () => {
    const root = join(s3.dir, s3.bucket)
    const manifests = walk(join(root, 'manifests')).filter((f) => f.endsWith('.json._S3rver_object'))
    expect(manifests).toHaveLength(3)
    for (const path of manifests) {
      const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest
      const inPartition = walk(
        join(root, 'events', `tenant=${encodeURIComponent(m.tenant)}`, `dt=${m.dt}`),
      ).filter((f) => f.endsWith('._S3rver_object'))
      expect(inPartition.map((f) => f.slice(root.length + 1, -'._S3rver_object'.length)).sort()).toEqual(
        m.files.map((f) => f.key).sort(),
      )
      for (const f of m.files) {
        const bytes = readFileSync(join(root, `${f.key}._S3rver_object`))
        expect(bytes.byteLength).toBe(f.bytes)
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256)
        const seqs = gunzipSync(bytes)
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { seq: number }).seq)
        expect(seqs).toHaveLength(f.lines)
        expect([seqs[0], seqs.at(-1)]).toEqual([f.first_seq, f.last_seq])
      }
    }
  })

  it('DuckDB over the mirror returns exactly what the search API returns, for every question', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    await conn.run(
      `CREATE VIEW events AS SELECT * FROM read_json('${s3.eventsGlob}', format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, columns = ${DUCK_COLUMNS})`,
    )
    const duck = async (where: string, params: string[]) => {
      const r = await conn.runAndReadAll(
        `SELECT id FROM events WHERE tenant = $1 AND action NOT LIKE 'audit_log.%' AND (${where}) ORDER BY occurred_at DESC, id DESC`,
        [TENANT, ...params],
      )
      return r.getRowObjects().map((row) => String(row.id))
    }
    const questions: [string, string, string[]][] = [
      ['actor_id=u_3', 'actor.id = $2', ['u_3']],
      ['target_type=user&target_id=t_2', 'target.type = $2 AND target.id = $3', ['user', 't_2']],
      [
        'target_type=order&target_id=t_1&include_children=true',
        '(target.type = $2 AND target.id = $3) OR (parent.type = $2 AND parent.id = $3)',
        ['order', 't_1'],
      ],
      ['correlation_id=c_3', 'context.correlation_id = $2', ['c_3']],
      ['action=order.*', "starts_with(action, 'order.')", []],
      ['outcome=failure&ip=198.51.100.0', "outcome.status = 'failure' AND context.ip = $2", ['198.51.100.0']],
      [
        'source=web&since=2026-01-11T00:00:00Z',
        "source = 'web' AND occurred_at >= '2026-01-11T00:00:00Z'",
        [],
      ],
      ['', 'true', []],
    ]
    for (const [qs, where, params] of questions) {
      const api = await searchAll(qs)
      expect(api.length, qs).toBeGreaterThan(0)
      expect(await duck(where, params), qs).toEqual(api)
    }
    // The analyst's path: the Athena client (real SDK) against the local Athena endpoint over the
    // same mirror, for the same questions.
    const athena = await startLocalAthena({
      eventsGlob: s3.eventsGlob,
      database: 'audit_log',
      table: 'events',
    })
    try {
      const client = new AthenaClient({
        endpoint: athena.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      })
      const range = { tenant: TENANT, from: '2026-01-10', to: '2026-01-12', limit: 5000 }
      const typed: [string, Partial<AthenaQuery>][] = [
        ['actor_id=u_3', { actor_id: 'u_3' }],
        ['actor_type=user', { actor_type: 'user' }],
        ['target_type=user&target_id=t_2', { target_type: 'user', target_id: 't_2' }],
        [
          'target_type=order&target_id=t_1&include_children=true',
          { target_type: 'order', target_id: 't_1', include_children: true },
        ],
        ['correlation_id=c_3', { correlation_id: 'c_3' }],
        ['action=order.*', { action: 'order.*' }],
        ['action=user.login', { action: 'user.login' }],
        ['outcome=failure&ip=198.51.100.0', { outcome: 'failure', ip: '198.51.100.0' }],
        [
          'source=web&since=2026-01-11T00:00:00Z&until=2026-01-11T08:30:00Z',
          { source: 'web', since: '2026-01-11T00:00:00Z', until: '2026-01-11T08:30:00Z' },
        ],
        ['', {}],
      ]
      for (const [qs, q] of typed) {
        const api = await searchAll(qs)
        expect(api.length, qs).toBeGreaterThan(0)
        const rows = await runQuery(client, { ...range, ...q }, { database: 'audit_log', pollMs: 5 })
        expect(
          rows.map((r) => r.id),
          `athena: ${qs}`,
        ).toEqual(api)
      }
    } finally {
      await athena.stop()
    }
    // Partition pruning: one tenant and one day reads only that day's files.
    const oneDay = await conn.runAndReadAll(
      `SELECT count(*) AS n FROM events WHERE tenant = $1 AND dt = DATE '2026-01-10'`,
      [TENANT],
    )
    expect(Number(oneDay.getRowObjects()[0]!.n)).toBe(80)
  })

  // Last: the proof below records an audited read, a new event of the tenant.
  it('the offline verifier, reading the S3 mirror in place, verifies what the system wrote', async () => {
    // A checkpoint covering the whole chain (issued on demand by a proof request), then mirrored.
    const proof = await fetch(`${worker.url}/v1/events/a-0239/proof`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(proof.status).toBe(200)
    await fetch(`${worker.url}/v1/archive/reconcile`, { method: 'POST', headers: admin })
    const keys = (await (await fetch(`${worker.url}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    const result = await verifyArchive(
      s3Source({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', ...LOCAL_S3_CREDENTIALS }),
      keys,
    )
    expect(result.break).toBeUndefined()
    expect(result.ok).toBe(true)
    const tenant = result.tenants.find((t) => t.tenant === TENANT)
    expect(tenant?.events).toBeGreaterThanOrEqual(240)
    expect(tenant?.checkpoints).toBeGreaterThanOrEqual(1)
    // Every archived line is in the chained layout, read from its bytes without parsing.
    const root = join(s3.dir, s3.bucket, 'events')
    for (const f of walk(root).filter((x) => x.endsWith('.ndjson.gz._S3rver_object')))
      for (const line of gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean))
        expect(line.startsWith('{"hash":"')).toBe(true)
  })
})

// The `audit-log` command against a running Worker (wrangler dev): keys, send, search, get,
// export with its marker, tail, and an archive pulled into a directory that the verifier accepts.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, startWorker } from '../../bench/lib/worker-server'
import { walk } from '../support/walk'

type Server = Awaited<ReturnType<typeof startWorker>>
type Run = { code: number; stdout: string; stderr: string }
let worker: Server
let key = ''
const TENANT = 'e2e-cli'
const N = 30
const dir = mkdtempSync(join(tmpdir(), 'audit-log-cli-'))
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['cli/bin.js', ...args],
      { encoding: 'utf8', env: { ...process.env, AUDIT_LOG_URL: worker.url, AUDIT_LOG_KEY: key, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

async function settled(n: number) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${worker.url}/__bench/pipeline-stats?tenant=${TENANT}`, { headers: admin })
    const st = (await res.json()) as { n: number; pending: number | null }
    if (st.n >= n && !st.pending) return st.n
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`the pipeline did not store ${n} events of ${TENANT}`)
}

beforeAll(async () => {
  worker = await startWorker('e2e-cli')
})

afterAll(async () => {
  await worker?.stop()
})

describe('audit-log against a running Worker', () => {
  it('keys create mints a key that keys list shows', async () => {
    const created = await cli(
      ['keys', 'create', '--tenant', TENANT, '--scope', 'events:write', '--scope', 'events:read', '--json'],
      { AUDIT_LOG_KEY: ADMIN_TOKEN },
    )
    expect(created.code, created.stderr).toBe(0)
    const [k] = lines(created.stdout) as [{ id: string; key: string; tenant: string }]
    expect(k.tenant).toBe(TENANT)
    key = k.key
    const list = await cli(['keys', 'list', '--json', '--key', ADMIN_TOKEN])
    expect(list.code, list.stderr).toBe(0)
    expect(lines(list.stdout).map((x) => x.id)).toContain(k.id)
  })

  it('events send, then search and get what was sent', async () => {
    const file = join(dir, 'in.ndjson')
    const events = Array.from({ length: N }, (_, i) => ({
      id: `cli-${String(i).padStart(3, '0')}`,
      occurred_at: new Date(Date.now() - (N - i) * 1000).toISOString(),
      action: i % 2 ? 'user.login' : 'order.created',
      actor: { type: 'user', id: `u_${i % 3}` },
      target: { type: 'order', id: `o_${i}` },
      context: { correlation_id: 'c_cli' },
    }))
    writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`)
    const sent = await cli(['events', 'send', file, '--batch-size', '20', '--json'])
    expect(sent.code, sent.stderr).toBe(0)
    expect(lines(sent.stdout).map((a) => a.id)).toEqual(events.map((e) => e.id))
    await settled(N)

    const found = await cli([
      'events',
      'search',
      '--action',
      'user.*',
      '--correlation-id',
      'c_cli',
      '--page-size',
      '4',
      '--json',
    ])
    expect(found.code, found.stderr).toBe(0)
    const ids = lines(found.stdout).map((e) => e.id)
    expect(ids).toHaveLength(N / 2)
    expect(new Set(ids)).toEqual(new Set(events.filter((_, i) => i % 2).map((e) => e.id)))

    const text = await cli(['events', 'search', '--actor-id', 'u_0', '--limit', '3'])
    expect(text.stdout.trim().split('\n')).toHaveLength(3)

    const got = await cli(['events', 'get', 'cli-007', '--json'])
    expect(got.code, got.stderr).toBe(0)
    expect(lines(got.stdout)[0]).toMatchObject({ id: 'cli-007', action: 'user.login', tenant: TENANT })
    const missing = await cli(['events', 'get', 'no-such-event'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('404')
  })

  it('events export writes NDJSON and CSV and checks their completeness markers', async () => {
    const nd = join(dir, 'out.ndjson')
    const ndRun = await cli(['events', 'export', '--correlation-id', 'c_cli', '--out', nd, '--json'])
    expect(ndRun.code, ndRun.stderr).toBe(0)
    expect(lines(ndRun.stdout)[0]).toMatchObject({ rows: N, complete: true, format: 'ndjson' })
    expect(readFileSync(nd, 'utf8').trim().split('\n')).toHaveLength(N + 1)
    const csv = join(dir, 'out.csv')
    const csvRun = await cli([
      'events',
      'export',
      '--format',
      'csv',
      '--action',
      'order.created',
      '--out',
      csv,
    ])
    expect(csvRun.code, csvRun.stderr).toBe(0)
    expect(csvRun.stdout).toContain(`exported ${N / 2} events`)
    expect(readFileSync(csv, 'utf8')).toContain(`#complete,${N / 2}`)
  })

  it('events tail --once prints the newest events, oldest first', async () => {
    const run = await cli(['events', 'tail', '--once', '--last', '5', '--correlation-id', 'c_cli', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(lines(run.stdout).map((e) => e.id)).toEqual([
      'cli-025',
      'cli-026',
      'cli-027',
      'cli-028',
      'cli-029',
    ])
  })

  it('archive pull copies the archive and the keys into a directory that verify accepts', async () => {
    // A cron tick issues the checkpoints; the reads above were audited, so let those settle too.
    const tick = await fetch(`${worker.url}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`)
    expect(tick.status).toBe(200)
    await settled(N)
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${worker.url}/v1/archive/objects?prefix=checkpoints/`, { headers: admin })
      if (((await res.json()) as { objects: unknown[] }).objects.length > 0) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const copy = join(dir, 'archive')
    const pull = await cli(['archive', 'pull', copy, '--json'], { AUDIT_LOG_KEY: ADMIN_TOKEN })
    expect(pull.code, pull.stderr).toBe(0)
    expect(lines(pull.stdout)[0]).toMatchObject({ copied: expect.any(Number) })
    expect(existsSync(join(copy, 'audit-log-keys.json'))).toBe(true)
    const files = walk(copy).map((f) => f.slice(copy.length + 1))
    expect(files.some((f) => f.startsWith(`events/tenant=${TENANT}/dt=`) && f.endsWith('.ndjson.gz'))).toBe(
      true,
    )
    expect(files.some((f) => f.startsWith('checkpoints/'))).toBe(true)
    expect(
      files.every((f) => /^(events|checkpoints|manifests)\//.test(f) || f === 'audit-log-keys.json'),
    ).toBe(true)

    const verified = await cli(['verify', copy, '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    const out = lines(verified.stdout)
    const tenant = out.find((l) => l.type === 'tenant' && l.tenant === TENANT) as {
      events: number
      checkpoints: number
    }
    expect(tenant.events).toBeGreaterThanOrEqual(N)
    expect(tenant.checkpoints).toBeGreaterThanOrEqual(1)
    expect(out.at(-1)).toMatchObject({ type: 'summary', ok: true })

    // DuckDB reads the same directory, partitions from the paths, as Athena reads the mirror.
    const conn = await (await DuckDBInstance.create(':memory:')).connect()
    const duck = await conn.runAndReadAll(
      `SELECT count(*) AS n FROM read_json_auto('${copy}/events/*/*/*.ndjson.gz', hive_partitioning = true) WHERE tenant = $1`,
      [TENANT],
    )
    expect(Number(duck.getRowObjects()[0]!.n)).toBe(tenant.events)
    conn.closeSync()

    // A second pull keeps what is already there.
    const again = await cli(['archive', 'pull', copy, '--json'], { AUDIT_LOG_KEY: ADMIN_TOKEN })
    expect(lines(again.stdout)[0]).toMatchObject({ kept: expect.any(Number) })
    expect((lines(again.stdout)[0] as { kept: number }).kept).toBeGreaterThan(0)
  })
})

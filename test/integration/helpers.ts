import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { expect } from 'vitest'
import { database } from '../../core/db/client'
import { ADMIN_TOKEN_ACTOR, insertKey, type Scope } from '../../core/db/keys'
import { tenantShard } from '../../core/db/shards'
import { randomToken } from '../../core/ids'
import { secretHash } from '../../core/keys/api-keys'
import worker from '../../index'
import { TEST_ADMIN_TOKEN } from '../constants'

export const BASE = 'http://audit.test'
export { TEST_ADMIN_TOKEN }

/**
 * The D1 binding of the tenant's shard (the local default runs two: DB and DB_1). A tenant that
 * has stored nothing yet reads from the shard it would be assigned.
 */
export async function tenantD1(tenant: string): Promise<D1Database> {
  return (await tenantShard(env, tenant)).d1
}

/** The drizzle handle of the tenant's shard. */
export async function tenantDbOf(tenant: string) {
  return (await tenantShard(env, tenant)).db
}

let tenantCounter = 0
/** A tenant name unique to this test run, so tests never see each other's events. */
export function uniqueTenant(prefix = 't'): string {
  tenantCounter++
  return `${prefix}-${Date.now().toString(36)}-${tenantCounter}-${Math.random().toString(36).slice(2, 6)}`
}

/**
 * A fixture key, written straight to the key store: minting through POST /v1/keys also records
 * an audit_log.key.created event in the tenant, which would shift the counts and sequence
 * numbers tests assert on. The keys API itself is tested through the Worker (mintKeyViaApi,
 * keys-lifecycle.test.ts).
 */
export async function mintKey(tenant: string, scopes: string[] = ['events:write', 'events:read']) {
  const key = `alk_${randomToken(32)}`
  const rec = await insertKey(database(env.DB), {
    id: `key_${randomToken(12)}`,
    tenant,
    scopes: [...new Set(scopes)] as Scope[],
    keyHash: await secretHash(key),
    prefix: key.slice(0, 12),
    createdBy: ADMIN_TOKEN_ACTOR,
  })
  return { id: rec!.id, key, tenant: rec!.tenant, scopes: rec!.scopes as string[] }
}

/** Mints a key through POST /v1/keys (recorded in the tenant's log), as `by` (default: the admin token). */
export async function mintKeyViaApi(
  body: { tenant: string; scopes: string[]; name?: string; expires_at?: string },
  by = TEST_ADMIN_TOKEN,
) {
  const res = await SELF.fetch(`${BASE}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${by}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as {
    id: string
    key: string
    tenant: string
    scopes: string[]
    name: string | null
    created_by: string
    expires_at: string | null
  }
}

export function event(overrides: Record<string, unknown> = {}) {
  return {
    occurred_at: '2026-01-15T10:00:00Z',
    action: 'user.role.updated',
    actor: { type: 'user', id: 'u_1', email: 'jane@example.com' },
    target: { type: 'user', id: 'u_123' },
    changes: [{ field: 'role', before: 'viewer', after: { name: 'admin', level: 3 } }],
    context: { ip: '203.0.113.7', correlation_id: 'corr-1' },
    source: 'accounts',
    ...overrides,
  }
}

export async function post(
  key: string,
  body: unknown,
  init: { query?: string; headers?: Record<string, string> } = {},
) {
  return SELF.fetch(`${BASE}/v1/events${init.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

export async function expectProblem(res: Response, status: number, detailLike?: RegExp) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = (await res.json()) as {
    type: string
    title: string
    status: number
    detail: string
    request_id: string
    errors?: { path: string; message: string }[]
  }
  expect(body.status).toBe(status)
  expect(body.request_id).toBeTruthy()
  if (detailLike) expect(body.detail).toMatch(detailLike)
  return body
}

/** Waits until the tenant holds `n` events in D1 (the real queue delivers to the consumer). */
export async function waitForEvents(tenant: string, n: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const row = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n FROM events WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    if ((row?.n ?? 0) >= n) return row!.n
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${n} events of ${tenant}; have ${row?.n}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function gunzip(buf: ArrayBuffer): Promise<string> {
  const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream('gzip'))
  return new Response(stream).text()
}

/** Every archived line of a tenant, in key order. */
export async function archivedLines(tenant: string) {
  const listing = await env.ARCHIVE.list({ prefix: `events/tenant=${tenant}/` })
  const lines: Record<string, unknown>[] = []
  for (const o of listing.objects) {
    const obj = await env.ARCHIVE.get(o.key)
    const text = await gunzip(await obj!.arrayBuffer())
    for (const l of text.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>)
  }
  return { keys: listing.objects.map((o) => o.key), lines }
}

export async function waitForArchived(tenant: string, n: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await archivedLines(tenant)
    if (a.lines.length >= n) return a
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${n} archived lines; have ${a.lines.length}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** One cron tick of the Worker (every scheduled job, in order), awaited to the end. */
export async function tick() {
  const ctx = createExecutionContext()
  await worker.scheduled(
    createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }),
    env,
    ctx,
  )
  await waitOnExecutionContext(ctx)
}

import { createExecutionContext, env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { database } from '../../core/db/client'
import { insertKey } from '../../core/db/keys'
import { scopesWithin } from '../../core/keys/api-keys'
import { app } from '../../worker/app'
import {
  BASE,
  event,
  expectProblem,
  mintKey,
  mintKeyViaApi,
  post,
  TEST_ADMIN_TOKEN,
  uniqueTenant,
} from './helpers'

type Stored = {
  id: string
  action: string
  actor: { type: string; id: string; name?: string }
  target: { type: string; id: string; name?: string }
  metadata?: Record<string, string | number | boolean | null>
  ingest: { key_id: string }
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` })
/**
 * Requests this file expects to be refused come from their own client address, so its 401s
 * count against no other test's allowance of authentication failures (worker/middleware/rate-limit.ts).
 */
const fromHere = { headers: { 'cf-connecting-ip': '192.0.2.44' } }

/** Polls the tenant's log (through the API, with a reader key) until `n` events of `action` are stored. */
async function waitForAudit(readerKey: string, action: string, n: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await SELF.fetch(`${BASE}/v1/events?action=${action}&limit=1000`, {
      headers: auth(readerKey),
    })
    expect(res.status).toBe(200)
    const { data } = (await res.json()) as { data: Stored[] }
    if (data.length >= n) return data
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ${action}; have ${data.length}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function revoke(id: string, by = TEST_ADMIN_TOKEN, query = '') {
  return SELF.fetch(`${BASE}/v1/keys/${id}${query}`, { method: 'DELETE', headers: auth(by) })
}

async function listAll(by = TEST_ADMIN_TOKEN) {
  const res = await SELF.fetch(`${BASE}/v1/keys`, { headers: auth(by) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { data: Record<string, unknown>[] }).data
}

async function createRaw(body: unknown, by = TEST_ADMIN_TOKEN) {
  return SELF.fetch(`${BASE}/v1/keys`, {
    method: 'POST',
    headers: { ...auth(by), 'content-type': 'application/json', ...fromHere.headers },
    body: JSON.stringify(body),
  })
}

/** A queue whose every send fails. */
const downQueue = {
  async sendBatch() {
    throw new Error('Queue send failed (injected)')
  },
  async send() {
    throw new Error('Queue send failed (injected)')
  },
} as unknown as Queue<unknown>

function withQueue(queue: Queue<unknown>, path: string, init: RequestInit) {
  return app.fetch(
    new Request(`${BASE}${path}`, init),
    { ...env, EVENTS_QUEUE: queue },
    createExecutionContext(),
  )
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString()

describe('key creation is on record', () => {
  it('records audit_log.key.created in the key tenant, with the admin token as actor and never the secret', async () => {
    const tenant = uniqueTenant('kc')
    const reader = await mintKey(tenant, ['events:read'])
    const k = await mintKeyViaApi({ tenant, scopes: ['events:write', 'events:read'], name: 'ci deploy' })
    expect(k).toMatchObject({ tenant, created_by: 'admin-token', expires_at: null, name: 'ci deploy' })
    const [created] = await waitForAudit(reader.key, 'audit_log.key.created', 1)
    expect(created).toMatchObject({
      action: 'audit_log.key.created',
      actor: { type: 'system', id: 'admin-token' },
      target: { type: 'api_key', id: k.id, name: 'ci deploy' },
      metadata: {
        scopes: 'events:write events:read',
        expires_at: null,
        prefix: k.key.slice(0, 12),
        created_by: 'admin-token',
      },
      ingest: { key_id: 'admin-token' },
    })
    expect(JSON.stringify(created)).not.toContain(k.key)
    // Hidden from plain searches, like every audit_log.* event.
    const plain = (await (await SELF.fetch(`${BASE}/v1/events`, { headers: auth(reader.key) })).json()) as {
      data: unknown[]
    }
    expect(plain.data).toEqual([])
  })

  it('records a tenant admin key as the actor and created_by, shown by GET /v1/keys', async () => {
    const tenant = uniqueTenant('kca')
    const reader = await mintKey(tenant, ['events:read'])
    const admin = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const expires = inSeconds(3600)
    const child = await mintKeyViaApi({ tenant, scopes: ['events:read'], expires_at: expires }, admin.key)
    expect(child).toMatchObject({ created_by: admin.id, expires_at: expires })
    const listed = (await listAll(admin.key)).find((k) => k.id === child.id)
    expect(listed).toMatchObject({
      created_by: admin.id,
      expires_at: expires,
      revoked_at: null,
      revoked_by: null,
    })
    const events = await waitForAudit(reader.key, 'audit_log.key.created', 2)
    const byTarget = Object.fromEntries(events.map((e) => [e.target.id, e]))
    expect(byTarget[admin.id]).toMatchObject({ actor: { type: 'system', id: 'admin-token' } })
    expect(byTarget[child.id]).toMatchObject({
      actor: { type: 'api_key', id: admin.id },
      target: { type: 'api_key', id: child.id },
      metadata: { scopes: 'events:read', expires_at: expires, created_by: admin.id },
    })
    expect(byTarget[child.id]!.target.name).toBeUndefined()
  })

  it('creates no key when the creation cannot be recorded (503)', async () => {
    const tenant = uniqueTenant('kq')
    const res = await withQueue(downQueue, '/v1/keys', {
      method: 'POST',
      headers: { ...auth(TEST_ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant, scopes: ['events:read'] }),
    })
    const p = await expectProblem(res, 503, /no key was created/)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(JSON.stringify(p)).not.toMatch(/alk_/)
    const rows = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    expect(rows?.n).toBe(0)
  })
})

describe('expiry', () => {
  it('validates expires_at: a timestamp, in the future, at most 730 days ahead (400 naming the field)', async () => {
    const tenant = uniqueTenant('kx')
    for (const expires_at of [
      '2020-01-01T00:00:00Z',
      'tomorrow',
      '2030-02-30T00:00:00',
      inSeconds(731 * 86_400),
      '2099-01-01T00:00:00+02:00',
      42,
    ]) {
      const p = await expectProblem(await createRaw({ tenant, scopes: ['events:read'], expires_at }), 400)
      expect(p.errors?.map((e) => e.path)).toEqual(['expires_at'])
    }
    const utc = await mintKeyViaApi({
      tenant,
      scopes: ['events:read'],
      expires_at: inSeconds(86_400).replace('Z', '+00:00'),
    })
    expect(utc.expires_at).toMatch(/Z$/)
  })

  it('an expired key gets 401 saying it expired, even while its lookup is cached', async () => {
    const tenant = uniqueTenant('kexp')
    const expires = inSeconds(2)
    const k = await mintKeyViaApi({ tenant, scopes: ['events:write'], expires_at: expires })
    // The first use caches the record for 5 s; expiry falls inside that window.
    expect((await post(k.key, event())).status).toBe(202)
    let res: Response | undefined
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      res = await post(k.key, event(), fromHere)
      if (res.status !== 202) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expires))
    await expectProblem(res!, 401, /expired at/)
  })
})

describe('revocation is on record', () => {
  it('records audit_log.key.revoked with actor and target; revoking again is an idempotent 200', async () => {
    const tenant = uniqueTenant('kr')
    const reader = await mintKey(tenant, ['events:read'])
    const admin = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const k = await mintKeyViaApi({ tenant, scopes: ['events:write'], name: 'old' }, admin.key)
    const del = await revoke(k.id, admin.key)
    expect(del.status).toBe(200)
    const body = (await del.json()) as { revoked_at: string; revoked_by: string; revoked: string[] }
    expect(body).toMatchObject({ revoked_by: admin.id, revoked: [k.id] })
    await expectProblem(await post(k.key, event(), fromHere), 401, /revoked/)
    const [revoked] = await waitForAudit(reader.key, 'audit_log.key.revoked', 1)
    expect(revoked).toMatchObject({
      actor: { type: 'api_key', id: admin.id },
      target: { type: 'api_key', id: k.id, name: 'old' },
      metadata: {
        scopes: 'events:write',
        prefix: k.key.slice(0, 12),
        created_by: admin.id,
        expires_at: null,
      },
    })
    expect(revoked!.metadata).not.toHaveProperty('cascade_from')
    // Again, by someone else: same revocation, nothing new revoked, and no second event.
    const again = await revoke(k.id)
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({
      revoked_at: body.revoked_at,
      revoked_by: admin.id,
      revoked: [],
    })
    await new Promise((r) => setTimeout(r, 1500))
    expect(await waitForAudit(reader.key, 'audit_log.key.revoked', 1)).toHaveLength(1)
  })

  it('revokes even when the queue is down (503), and a repeat records it exactly once', async () => {
    const tenant = uniqueTenant('krq')
    const reader = await mintKey(tenant, ['events:read'])
    const k = await mintKeyViaApi({ tenant, scopes: ['events:write'] })
    const res = await withQueue(downQueue, `/v1/keys/${k.id}`, {
      method: 'DELETE',
      headers: auth(TEST_ADMIN_TOKEN),
    })
    const p = (await expectProblem(res, 503, /revoked.*not yet on record/)) as unknown as {
      revoked: string[]
    }
    expect(p.revoked).toEqual([k.id])
    await expectProblem(await post(k.key, event(), fromHere), 401)
    expect((await revoke(k.id)).status).toBe(200)
    const [rec] = await waitForAudit(reader.key, 'audit_log.key.revoked', 1)
    expect(rec).toMatchObject({ actor: { id: 'admin-token' }, target: { id: k.id } })
    expect((await revoke(k.id)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await waitForAudit(reader.key, 'audit_log.key.revoked', 1)).toHaveLength(1)
  })

  it('cascade=true revokes the keys a key minted, recursively, one event each; without it only that key', async () => {
    const tenant = uniqueTenant('kcas')
    const reader = await mintKey(tenant, ['events:read'])
    const a = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const b = await mintKeyViaApi({ tenant, scopes: ['admin'] }, a.key)
    const c = await mintKeyViaApi({ tenant, scopes: ['events:write'] }, b.key)
    const d = await mintKeyViaApi({ tenant, scopes: ['events:write'] }, a.key)
    const sibling = await mintKeyViaApi({ tenant, scopes: ['events:write'] })
    // Without cascade: b goes, c (minted by b) keeps working.
    const x = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const y = await mintKeyViaApi({ tenant, scopes: ['events:write'] }, x.key)
    expect(await (await revoke(x.id)).json()).toMatchObject({ revoked: [x.id] })
    expect((await post(y.key, event())).status).toBe(202)

    await expectProblem(await revoke(a.id, TEST_ADMIN_TOKEN, '?cascade=yes'), 400)
    const res = await revoke(a.id, TEST_ADMIN_TOKEN, '?cascade=true')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { id: string; revoked: string[] }
    expect(body.id).toBe(a.id)
    expect(body.revoked[0]).toBe(a.id)
    expect([...body.revoked].sort()).toEqual([a.id, b.id, c.id, d.id].sort())
    for (const k of [c, d]) await expectProblem(await post(k.key, event(), fromHere), 401)
    expect((await post(sibling.key, event())).status).toBe(202)
    const listed = await listAll()
    for (const id of [b.id, c.id, d.id])
      expect(listed.find((k) => k.id === id)).toMatchObject({ revoked_by: 'admin-token' })

    const events = await waitForAudit(reader.key, 'audit_log.key.revoked', 5)
    const byTarget = Object.fromEntries(events.map((e) => [e.target.id, e]))
    expect(Object.keys(byTarget).sort()).toEqual([a.id, b.id, c.id, d.id, x.id].sort())
    expect(byTarget[a.id]!.metadata).not.toHaveProperty('cascade_from')
    for (const k of [b, c, d])
      expect(byTarget[k.id]).toMatchObject({ actor: { id: 'admin-token' }, metadata: { cascade_from: a.id } })
    // A repeat revokes nothing new.
    expect(await (await revoke(a.id, TEST_ADMIN_TOKEN, '?cascade=true')).json()).toMatchObject({
      revoked: [],
    })
  })
})

describe('what a tenant admin key may mint', () => {
  it('only for its tenant, within its scopes, and never a key that outlives it', async () => {
    const tenant = uniqueTenant('klim')
    const expires = inSeconds(3600)
    const admin = await mintKeyViaApi({ tenant, scopes: ['admin'], expires_at: expires })
    await expectProblem(
      await createRaw({ tenant: uniqueTenant('else'), scopes: ['events:read'] }, admin.key),
      403,
    )
    const inherit = await mintKeyViaApi({ tenant, scopes: ['events:read'] }, admin.key)
    expect(inherit.expires_at).toBe(expires)
    const earlier = inSeconds(60)
    expect(
      (await mintKeyViaApi({ tenant, scopes: ['events:read'], expires_at: earlier }, admin.key)).expires_at,
    ).toBe(earlier)
    const later = await expectProblem(
      await createRaw({ tenant, scopes: ['events:read'], expires_at: inSeconds(7200) }, admin.key),
      403,
      /outlive/,
    )
    expect(later.errors?.map((e) => e.path)).toEqual(['expires_at'])
    // The admin token has no such limit.
    expect((await mintKeyViaApi({ tenant, scopes: ['admin'], expires_at: inSeconds(7200) })).created_by).toBe(
      'admin-token',
    )
    // `admin` holds every scope of its tenant; any other key holds only its own.
    expect(scopesWithin(['admin'], ['admin', 'events:read', 'events:write'])).toBe(true)
    expect(scopesWithin(['events:read'], ['events:write'])).toBe(false)
    expect(scopesWithin(['events:read', 'events:write'], ['events:read'])).toBe(true)
  })

  it('a revoked key manages no keys, even while its lookup is still cached, nor in the instant it is revoked', async () => {
    const tenant = uniqueTenant('krace')
    const admin = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const other = await mintKeyViaApi({ tenant, scopes: ['events:read'] })
    // Cache the admin key's lookup, then revoke it behind this isolate's back (as another
    // isolate would): authentication still passes from the cache, key management does not.
    expect((await listAll(admin.key)).length).toBeGreaterThan(0)
    await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?')
      .bind(new Date().toISOString(), admin.id)
      .run()
    expect((await listAll(admin.key)).length).toBeGreaterThan(0)
    await expectProblem(await createRaw({ tenant, scopes: ['events:read'] }, admin.key), 401, /revoked/)
    await expectProblem(
      await SELF.fetch(`${BASE}/v1/keys/${other.id}`, {
        method: 'DELETE',
        headers: { ...auth(admin.key), ...fromHere.headers },
      }),
      401,
    )
    expect((await listAll()).find((k) => k.id === other.id)).toMatchObject({ revoked_at: null })
    // The write itself is conditional on the minting key being active.
    const row = await insertKey(
      database(env.DB),
      {
        id: 'key_race',
        tenant,
        scopes: ['events:read'],
        keyHash: 'h-race',
        prefix: 'alk_race',
        createdBy: admin.id,
      },
      { activeCreator: admin.id },
    )
    expect(row).toBeNull()
  })
})

describe('OpenAPI', () => {
  it('documents the new fields of the keys routes', async () => {
    const doc = (await (await SELF.fetch(`${BASE}/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties?: object; allOf?: { properties?: object }[] }> }
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>
    }
    // A schema's own properties, or those of its allOf parts (RevokedApiKey extends ApiKey).
    const props = (name: string) => {
      const s = doc.components.schemas[name]!
      return [s, ...(s.allOf ?? [])].flatMap((p) => Object.keys(p.properties ?? {}))
    }
    expect(props('CreateApiKey')).toContain('expires_at')
    expect(props('CreatedApiKey')).toEqual(expect.arrayContaining(['created_by', 'expires_at']))
    expect(props('ApiKey')).toEqual(expect.arrayContaining(['created_by', 'expires_at', 'revoked_by']))
    expect(props('RevokedApiKey')).toContain('revoked')
    expect(doc.components.schemas.RevokedApiKey!.allOf?.[0]).toEqual({ $ref: '#/components/schemas/ApiKey' })
    expect(doc.paths['/v1/keys/{id}']!.delete!.parameters!.map((p) => p.name)).toContain('cascade')
  })
})

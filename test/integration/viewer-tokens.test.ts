// Viewer tokens through the real Worker: minting (who may, what is recorded), what a token can
// read (its tenant, one target with its children, or one actor), and every attempt to widen it:
// other targets, actors and tenants, altered, forged, expired and orphaned tokens, other routes.
import { env, SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { signViewerToken } from '../../core/auth/viewer-tokens'
import { randomToken } from '../../core/ids'
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
  waitForEvents,
} from './helpers'

type Page = { data: { id: string; tenant: string; action: string; actor: { id: string } }[] }

const tenant = uniqueTenant('viewer')
const other = uniqueTenant('viewer-other')
let admin: { id: string; key: string }
let reader: { key: string }

const bearer = (token: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  ...extra,
})

async function mint(body: unknown, by = admin.key, headers: Record<string, string> = {}) {
  return SELF.fetch(`${BASE}/v1/viewer-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${by}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

async function token(body: unknown = {}): Promise<string> {
  const res = await mint(body)
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

const get = (path: string, t: string) => SELF.fetch(`${BASE}${path}`, { headers: bearer(t) })

async function ids(path: string, t: string): Promise<string[]> {
  const res = await get(path, t)
  expect(res.status).toBe(200)
  return ((await res.json()) as Page).data.map((e) => e.id).sort()
}

beforeAll(async () => {
  admin = await mintKey(tenant, ['admin'])
  reader = await mintKey(tenant, ['events:read'])
  const writer = await mintKey(tenant, ['events:write'])
  const order = { type: 'order', id: '500' }
  expect(
    (
      await post(writer.key, {
        events: [
          event({ id: 'v-order', target: order, actor: { type: 'user', id: 'u_a' } }),
          event({
            id: 'v-item',
            target: { type: 'order_item', id: 'oi_1' },
            parent: order,
            actor: { type: 'user', id: 'u_b' },
          }),
          event({
            id: 'v-other-order',
            target: { type: 'order', id: '501' },
            actor: { type: 'user', id: 'u_a' },
          }),
          event({ id: 'v-user', target: { type: 'user', id: 'u_9' }, actor: { type: 'user', id: 'u_c' } }),
        ],
      })
    ).status,
  ).toBe(202)
  const otherWriter = await mintKey(other, ['events:write'])
  expect(
    (
      await post(
        otherWriter.key,
        event({ id: 'v-foreign', target: order, actor: { type: 'user', id: 'u_a' } }),
      )
    ).status,
  ).toBe(202)
  await waitForEvents(tenant, 4)
  await waitForEvents(other, 1)
})

describe('POST /v1/viewer-tokens', () => {
  it('mints a signed token for a tenant admin key and records the minting', async () => {
    const before = Date.now()
    const res = await mint({ ttl_seconds: 600, target: { type: 'order', id: '500' } })
    expect(res.status).toBe(201)
    const body = (await res.json()) as { token: string; expires_at: string; scope: unknown }
    expect(body.token).toMatch(/^avt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    expect(body.scope).toEqual({ tenant, target: { type: 'order', id: '500' } })
    const exp = Date.parse(body.expires_at)
    expect(exp - before).toBeGreaterThan(595_000)
    expect(exp - before).toBeLessThanOrEqual(601_000)
    const payload = JSON.parse(
      atob(body.token.slice(4, body.token.indexOf('.')).replace(/-/g, '+').replace(/_/g, '/')),
    )
    expect(payload).toMatchObject({
      v: 1,
      tenant,
      kid: admin.id,
      scope: { target: { type: 'order', id: '500' } },
    })
    // The default lifetime is an hour.
    const dflt = (await (await mint({})).json()) as { expires_at: string }
    expect(Date.parse(dflt.expires_at) - Date.now()).toBeGreaterThan(3_590_000)
    await waitForEvents(tenant, 6)
    const audit = await SELF.fetch(`${BASE}/v1/events?action=audit_log.viewer_token.created`, {
      headers: bearer(reader.key),
    })
    const created = ((await audit.json()) as { data: Record<string, unknown>[] }).data
    expect(created.find((e) => (e.target as { id: string }).id === payload.jti)).toMatchObject({
      actor: { type: 'api_key', id: admin.id },
      target: { type: 'viewer_token', id: payload.jti },
      metadata: { scope: 'target:order/500', ttl_seconds: 600 },
    })
  })

  it('refuses the admin token, keys without admin, viewer tokens and bad bodies', async () => {
    await expectProblem(await mint({}, TEST_ADMIN_TOKEN), 403)
    await expectProblem(await mint({}, reader.key), 403, /lacks the "admin" scope/)
    await expectProblem(await mint({}, await token()), 403, /read-only/)
    await expectProblem(await mint({ ttl_seconds: 59 }), 400)
    await expectProblem(await mint({ ttl_seconds: 86_401 }), 400)
    await expectProblem(await mint({ ttl_seconds: 60.5 }), 400)
    await expectProblem(await mint({ target: { type: 'order', id: '1' }, actor_id: 'u_a' }), 400, /schema/)
    await expectProblem(await mint({ target: { type: 'order' } }), 400)
    await expectProblem(await mint({ tenant: other }), 400)
    await expectProblem(await mint('not json'), 400)
    const text = await SELF.fetch(`${BASE}/v1/viewer-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'text/plain' },
      body: '{}',
    })
    await expectProblem(text, 415)
  })

  it('never outlives its minting key', async () => {
    const expiring = await mintKeyViaApi({
      tenant,
      scopes: ['admin'],
      expires_at: new Date(Date.now() + 120_000).toISOString(),
    })
    const res = await mint({ ttl_seconds: 3600 }, expiring.key)
    expect(res.status).toBe(201)
    const body = (await res.json()) as { expires_at: string }
    expect(Date.parse(body.expires_at)).toBeLessThanOrEqual(Date.parse(expiring.expires_at!))
  })
})

describe('a target-scoped token', () => {
  let t: string
  beforeAll(async () => {
    t = await token({ target: { type: 'order', id: '500' } })
  })

  it('searches the target and its children only, whatever the filters', async () => {
    expect(await ids('/v1/events', t)).toEqual(['v-item', 'v-order'])
    expect(await ids('/v1/events?target_type=order&target_id=500', t)).toEqual(['v-item', 'v-order'])
    expect(await ids('/v1/events?target_type=order&target_id=500&include_children=false', t)).toEqual([
      'v-order',
    ])
    expect(await ids('/v1/events?actor_id=u_b', t)).toEqual(['v-item'])
    expect(await ids('/v1/events?include_audit_reads=true&action=audit_log.*', t)).toEqual([])
  })

  it('refuses filters naming another target', async () => {
    await expectProblem(
      await get('/v1/events?target_type=order&target_id=501', t),
      403,
      /scoped to the target order\/500/,
    )
    await expectProblem(await get('/v1/events?target_type=user', t), 403)
    await expectProblem(await get('/v1/targets/order/501/events', t), 403, /read-only/)
  })

  it('reads events and proofs in scope; outside it, exactly the answer of an unknown id', async () => {
    expect((await get('/v1/events/v-order', t)).status).toBe(200)
    expect((await get('/v1/events/v-item', t)).status).toBe(200)
    const unknown = await expectProblem(await get('/v1/events/no-such-event', t), 404)
    for (const id of ['v-other-order', 'v-user', 'v-foreign']) {
      const res = await expectProblem(await get(`/v1/events/${id}`, t), 404)
      expect(res.detail).toBe(unknown.detail.replace('no-such-event', id))
      expect(res.title).toBe(unknown.title)
      const proof = await expectProblem(await get(`/v1/events/${id}/proof`, t), 404)
      expect(proof.detail).toBe(res.detail)
    }
    let proof = await get('/v1/events/v-order/proof', t)
    for (let i = 0; i < 10 && proof.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 1100))
      proof = await get('/v1/events/v-order/proof', t)
    }
    expect(proof.status).toBe(200)
    expect(((await proof.json()) as { record: { id: string } }).record.id).toBe('v-order')
    expect((await get('/v1/integrity/checkpoints', t)).status).toBe(200)
    expect((await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).status).toBe(200)
  })

  it('is read-only everywhere else', async () => {
    const refused: [string, string][] = [
      ['POST', '/v1/events'],
      ['GET', '/v1/export'],
      ['GET', '/v1/keys'],
      ['POST', '/v1/keys'],
      ['DELETE', `/v1/keys/${admin.id}`],
      ['POST', '/v1/viewer-tokens'],
      ['GET', '/v1/integrity/status'],
      ['GET', '/v1/integrity/consistency?from=1&to=2'],
      ['DELETE', '/v1/sessions/current'],
      ['GET', '/v1/admin/dead-letters'],
      ['GET', '/v1/archive/status'],
    ]
    for (const [method, path] of refused) {
      const res = await SELF.fetch(`${BASE}${path}`, {
        method,
        headers: bearer(t, { 'content-type': 'application/json' }),
        ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
      })
      await expectProblem(res, 403, /read-only/)
    }
  })

  it('says what it is and what it may see', async () => {
    const res = await get('/v1/sessions/current', t)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      session: {
        principal: 'viewer',
        tenant,
        scopes: ['events:read'],
        key_id: admin.id,
        expires_at: expect.any(String),
        scope: { tenant, target: { type: 'order', id: '500' } },
      },
    })
  })

  it("records its reads as the minting key's, with the scope", async () => {
    await get('/v1/events?actor_id=u_a', t)
    let found: Record<string, unknown> | undefined
    for (let i = 0; i < 100 && !found; i++) {
      await new Promise((r) => setTimeout(r, 150))
      const page = await SELF.fetch(`${BASE}/v1/events?action=audit_log.searched&limit=50`, {
        headers: bearer(reader.key),
      })
      found = ((await page.json()) as { data: Record<string, unknown>[] }).data.find((e) =>
        String((e.metadata as Record<string, unknown>).filters).includes('"actor_id":"u_a"'),
      )
    }
    expect(found).toMatchObject({
      actor: { type: 'api_key', id: admin.id },
      ingest: { key_id: admin.id },
      metadata: { viewer_scope: 'target:order/500', viewer_token: expect.stringMatching(/^vt_/) },
    })
    expect(JSON.parse(String((found!.metadata as Record<string, unknown>).filters))).toMatchObject({
      target_type: 'order',
      target_id: '500',
      include_children: true,
      actor_id: 'u_a',
    })
  })
})

describe('an actor-scoped token', () => {
  it("sees that actor's events only", async () => {
    const t = await token({ actor_id: 'u_a' })
    expect(await ids('/v1/events', t)).toEqual(['v-order', 'v-other-order'])
    expect(await ids('/v1/events?target_type=order&target_id=501', t)).toEqual(['v-other-order'])
    await expectProblem(await get('/v1/events?actor_id=u_b', t), 403, /scoped to the actor u_a/)
    expect((await get('/v1/events/v-other-order', t)).status).toBe(200)
    await expectProblem(await get('/v1/events/v-item', t), 404)
    await expectProblem(await get('/v1/events/v-foreign', t), 404)
  })
})

describe('a tenant-wide token', () => {
  it("sees its tenant's events, never another tenant's", async () => {
    const t = await token()
    expect(await ids('/v1/events', t)).toEqual(['v-item', 'v-order', 'v-other-order', 'v-user'])
    await expectProblem(await get('/v1/events/v-foreign', t), 404)
  })
})

describe('without ADMIN_TOKEN', () => {
  it('viewer tokens are unavailable (503): nothing to derive their MAC key from', async () => {
    const t = await token()
    const noSecret = { ...env, ADMIN_TOKEN: '' }
    const minted = await app.request(
      `${BASE}/v1/viewer-tokens`,
      { method: 'POST', headers: bearer(admin.key, { 'content-type': 'application/json' }), body: '{}' },
      noSecret,
    )
    await expectProblem(minted, 503, /ADMIN_TOKEN is not configured/)
    await expectProblem(await app.request(`${BASE}/v1/events`, { headers: bearer(t) }, noSecret), 503)
  })
})

describe('tokens that do not hold', () => {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  let ip = 0
  const fresh = (t: string) =>
    SELF.fetch(`${BASE}/v1/events`, { headers: bearer(t, { 'cf-connecting-ip': `198.20.0.${++ip}` }) })

  it('an altered payload, MAC or encoding is a 401', async () => {
    const t = await token({ target: { type: 'order', id: '500' } })
    const [body, mac] = t.split('.') as [string, string]
    const payload = JSON.parse(atob(body.slice(4).replace(/-/g, '+').replace(/_/g, '/')))
    const widened = [
      `avt_${b64({ ...payload, scope: {} })}.${mac}`,
      `avt_${b64({ ...payload, scope: { target: { type: 'order', id: '501' } } })}.${mac}`,
      `avt_${b64({ ...payload, tenant: other })}.${mac}`,
      `avt_${b64({ ...payload, exp: payload.exp + 86_400 })}.${mac}`,
      `${body}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'AB' : 'AA'}`,
      `${body}.`,
      body,
      `${body}.${mac}.x`,
      `${body}=.${mac}`,
      `avt_.${mac}`,
      `avt_${'A'.repeat(3000)}.${mac}`,
    ]
    for (const w of widened) await expectProblem(await fresh(w), 401)
  })

  it('a token signed with another secret, or expired, is a 401', async () => {
    const now = Math.floor(Date.now() / 1000)
    const payload = {
      v: 1 as const,
      jti: `vt_${randomToken(16)}`,
      tenant,
      kid: admin.id,
      scope: {},
      iat: now,
      exp: now + 600,
    }
    expect((await fresh(await signViewerToken(TEST_ADMIN_TOKEN, payload))).status).toBe(200)
    await expectProblem(await fresh(await signViewerToken('another-secret-0123456789', payload)), 401)
    const expired = await signViewerToken(TEST_ADMIN_TOKEN, { ...payload, iat: now - 700, exp: now - 100 })
    await expectProblem(await fresh(expired), 401, /expired/)
  })

  it("a well-signed token naming another tenant than its key's is a 401", async () => {
    const now = Math.floor(Date.now() / 1000)
    const forged = await signViewerToken(TEST_ADMIN_TOKEN, {
      v: 1,
      jti: `vt_${randomToken(16)}`,
      tenant: other,
      kid: admin.id,
      scope: {},
      iat: now,
      exp: now + 600,
    })
    await expectProblem(await fresh(forged), 401, /revoked or has expired/)
  })

  it('dies with its minting key', async () => {
    const k = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const t = await mint({}, k.key)
    const { token: viewer } = (await t.json()) as { token: string }
    expect((await fresh(viewer)).status).toBe(200)
    const del = await SELF.fetch(`${BASE}/v1/keys/${k.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    expect(del.status).toBe(200)
    await expectProblem(await fresh(viewer), 401, /revoked or has expired/)
  })
})

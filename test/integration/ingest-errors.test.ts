import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
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

const tenant = uniqueTenant('errors')
const keyPromise = mintKey(tenant, ['events:write'])

describe('authentication and scopes', () => {
  it('401 without a key, with a malformed header and with an unknown key', async () => {
    const none = await SELF.fetch(`${BASE}/v1/events`, { method: 'POST', body: '{}' })
    await expectProblem(none, 401, /Authorization: Bearer/)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    await expectProblem(await post('', event()), 401)
    await expectProblem(await post('alk_not-a-real-key', event()), 401, /unknown or has been revoked/)
  })

  it('403 for a key without the scope, and for the admin token on tenant routes', async () => {
    const reader = await mintKey(tenant, ['events:read'])
    await expectProblem(await post(reader.key, event()), 403, /events:write/)
    await expectProblem(await post(TEST_ADMIN_TOKEN, event()), 403, /tenant API key/)
  })

  it('a revoked key stops working', async () => {
    const k = await mintKey(tenant, ['events:write'])
    expect((await post(k.key, event())).status).toBe(202)
    const del = await SELF.fetch(`${BASE}/v1/keys/${k.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    expect(del.status).toBe(200)
    expect(((await del.json()) as { revoked_at: string }).revoked_at).toBeTruthy()
    await expectProblem(await post(k.key, event()), 401)
  })
})

describe('bad input is a 4xx that says what is wrong', () => {
  it('415 for a non-JSON content type', async () => {
    const { key } = await keyPromise
    const res = await post(key, JSON.stringify(event()), { headers: { 'content-type': 'text/plain' } })
    await expectProblem(res, 415, /text\/plain/)
  })

  it('400 for malformed and empty JSON', async () => {
    const { key } = await keyPromise
    await expectProblem(await post(key, '{"action": '), 400, /not valid JSON/)
    await expectProblem(await post(key, ''), 400, /empty/)
    await expectProblem(await post(key, '[1,2]'), 400, /\{"events": \[\.\.\.\]\}/)
  })

  it('413 for a body over the limit, before reading it all', async () => {
    const { key } = await keyPromise
    const big = JSON.stringify({
      events: Array.from({ length: 1000 }, () => event({ description: 'x'.repeat(2040) })),
    })
    await expectProblem(await post(key, big), 413, /exceeds/)
  })

  it('names the index and the field of each invalid event, and accepts none of the batch', async () => {
    const { key } = await keyPromise
    const res = await post(key, {
      events: [
        event(),
        event({ action: 'User Login' }),
        event({ actor: { type: 'robot', id: 'r1' } }),
        event({ occurred_at: 'yesterday' }),
        event({ surprise: true }),
        event({ target: { type: 'user' } }),
      ],
    })
    const body = await expectProblem(res, 400, /5 of 6 events are invalid; nothing was accepted/)
    const paths = body.errors!.map((e) => e.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'events[1].action',
        'events[2].actor.type',
        'events[3].occurred_at',
        'events[5].target.id',
      ]),
    )
    expect(body.errors!.find((e) => e.path.startsWith('events[4]'))?.message).toMatch(
      /surprise|unrecognized/i,
    )
  })

  it('rejects unknown top-level fields of a single event and of the batch wrapper', async () => {
    const { key } = await keyPromise
    const single = await expectProblem(await post(key, event({ tenant: 'someone-else' })), 400)
    expect(JSON.stringify(single.errors)).toMatch(/tenant/)
    const wrapper = await expectProblem(await post(key, { events: [event()], extra: 1 }), 400)
    expect(wrapper.errors).toEqual([{ path: 'extra', message: 'unknown field' }])
  })

  it('rejects oversize metadata and timestamps far in the future', async () => {
    const { key } = await keyPromise
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))
    const m = await expectProblem(await post(key, event({ metadata })), 400)
    expect(m.errors![0]!.path).toBe('metadata')
    const nested = await expectProblem(await post(key, event({ metadata: { a: { b: 1 } } })), 400)
    expect(nested.errors![0]!.path).toMatch(/^metadata/)
    const future = new Date(Date.now() + 60 * 60 * 1000).toISOString()
    const f = await expectProblem(await post(key, event({ occurred_at: future })), 400)
    expect(f.errors).toEqual([{ path: 'occurred_at', message: 'is more than 5 minutes in the future' }])
  })

  it('rejects an empty batch, a batch over 1000 events, and an unknown format', async () => {
    const { key } = await keyPromise
    await expectProblem(await post(key, { events: [] }), 400, /no events/)
    await expectProblem(
      await post(key, { events: Array.from({ length: 1001 }, () => ({})) }),
      400,
      /at most 1000/,
    )
    const f = await expectProblem(await post(key, event(), { query: '?format=xml' }), 400, /Unknown format/)
    expect(f.errors![0]!.path).toBe('format')
  })

  it('rejects a bad id and a single event over the size limit', async () => {
    const { key } = await keyPromise
    const id = await expectProblem(await post(key, event({ id: 'has spaces' })), 400)
    expect(id.errors![0]!.path).toBe('id')
    const huge = await expectProblem(
      await post(
        key,
        event({
          changes: Array.from({ length: 20 }, (_, i) => ({ field: `f${i}`, after: 'y'.repeat(2000) })),
        }),
      ),
      400,
    )
    expect(huge.errors![0]!.message).toMatch(/exceeds 32768 bytes/)
  })
})

describe('keys API', () => {
  it('validates the body and never returns the secret after creation', async () => {
    const bad = await SELF.fetch(`${BASE}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'has space', scopes: ['events:fly'] }),
    })
    const p = await expectProblem(bad, 400)
    expect(p.errors!.map((e) => e.path).sort()).toEqual(['scopes[0]', 'tenant'])
    const k = await mintKeyViaApi({ tenant, scopes: ['events:read'] })
    expect(k.key).toMatch(/^alk_/)
    const list = await SELF.fetch(`${BASE}/v1/keys`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    const text = await list.text()
    expect(text).toContain(k.id)
    expect(text).not.toContain(k.key)
  })

  it('a tenant admin key manages only its own tenant', async () => {
    const admin = await mintKey(tenant, ['admin'])
    const other = await mintKey(uniqueTenant('other'), ['events:read'])
    const mint = await SELF.fetch(`${BASE}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: other.tenant, scopes: ['events:read'] }),
    })
    await expectProblem(mint, 403)
    const del = await SELF.fetch(`${BASE}/v1/keys/${other.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    })
    await expectProblem(del, 404)
    const list = (await (
      await SELF.fetch(`${BASE}/v1/keys`, { headers: { authorization: `Bearer ${admin.key}` } })
    ).json()) as { data: { tenant: string }[] }
    expect(list.data.every((k) => k.tenant === tenant)).toBe(true)
  })
})

describe('operator routes', () => {
  it('refuse a tenant admin key: dead letters and the archive span every tenant', async () => {
    const tenantAdmin = await mintKey(uniqueTenant('op'), ['admin'])
    for (const [method, path] of [
      ['GET', '/v1/admin/dead-letters'],
      ['POST', '/v1/admin/dead-letters/replay'],
      ['GET', '/v1/archive/status'],
      ['POST', '/v1/archive/reconcile'],
      ['POST', '/v1/archive/compact'],
    ] as const) {
      const res = await SELF.fetch(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${tenantAdmin.key}` },
      })
      await expectProblem(res, 403, /admin token/)
    }
    const ok = await SELF.fetch(`${BASE}/v1/archive/status`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    expect(ok.status).toBe(200)
  })
})

// Real answers of the running Worker (wrangler dev) against the OpenAPI document it serves,
// with a strict JSON Schema validator (Ajv, draft 2020-12 as OpenAPI 3.1 uses). Ajv compiles
// validators with `new Function`, which workerd refuses, so this runs in Node over HTTP.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, startWorker } from '../../bench/lib/worker-server'
import { createApp } from '../../worker/app'

type Server = Awaited<ReturnType<typeof startWorker>>
type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }
type Doc = {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

const TENANT = 'e2e-openapi'
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
let worker: Server
let doc: Doc
let ajv: Ajv2020
let key: string
const checked: string[] = []

/** The schemas with refs into one registered schema, since the document itself is not one. */
function retarget<T>(node: T): T {
  return JSON.parse(JSON.stringify(node).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/')) as T
}

const one = <T>(x: T | undefined): T => {
  expect(x).toBeDefined()
  return x!
}

const validators = new Map<string, ValidateFunction>()

/**
 * Fetches, then checks the answer against the documented response of `template` for its
 * status and media type; returns the parsed body.
 */
async function call(
  method: string,
  template: string,
  path: string,
  init: { headers?: Record<string, string>; body?: unknown; contentType?: string } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json'
  const res = await fetch(`${worker.url}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  const text = await res.text()
  const op = doc.paths[template]?.[method.toLowerCase()]
  expect(op, `${method} ${template} is documented`).toBeDefined()
  const response = op!.responses[String(res.status)]
  expect(response, `${method} ${template} documents ${res.status} (${text.slice(0, 300)})`).toBeDefined()
  const media = response!.content?.[mediaType]
  expect(media, `${method} ${template} ${res.status} documents ${mediaType}`).toBeDefined()
  const body = mediaType.endsWith('json') ? (JSON.parse(text) as unknown) : text
  const id = `${method} ${template} ${res.status} ${mediaType}`
  let validate = validators.get(id)
  if (!validate) {
    validate = ajv.compile(retarget(media!.schema) as object)
    validators.set(id, validate)
  }
  const valid = validate(body)
  expect(validate.errors ?? [], `${id}: ${text.slice(0, 500)}`).toEqual([])
  expect(valid).toBe(true)
  checked.push(id)
  return { status: res.status, body, headers: res.headers }
}

const event = (i: number) => ({
  id: `oa-${i}`,
  occurred_at: new Date(Date.UTC(2026, 0, 31, 12, 0, i)).toISOString(),
  action: 'user.role.updated',
  actor: { type: 'user', id: 'u_1', name: 'Ada', email: 'ada@example.com' },
  target: { type: 'user', id: `u_${i + 1}`, url: 'https://example.com/users/2' },
  parent: { type: 'org', id: 'o_1' },
  outcome: { status: 'success', code: '200' },
  changes: [{ field: 'role', before: 'viewer', after: { name: 'admin', level: 2 } }],
  context: { ip: '203.0.113.7', user_agent: 'e2e/1.0', correlation_id: 'c-1' },
  source: 'accounts',
  description: i % 2 ? 'Role changed' : { template: 'Role of {user} changed', values: { user: 'u_2' } },
  metadata: { reason: 'promotion', ticket: 42, urgent: false, note: null },
})

beforeAll(async () => {
  worker = await startWorker('e2e-openapi', { vars: { PROOF_CHECKPOINT_INTERVAL_SECONDS: '1' } })
  doc = (await (await fetch(`${worker.url}/openapi.json`)).json()) as Doc
  // The document the Worker serves is the one the unit tests lint and type (built in Node).
  const log = console.log
  console.log = () => {}
  const built = await (await createApp().request('/openapi.json', {}, {})).json()
  console.log = log
  expect(doc).toEqual(built)
  ajv = new Ajv2020({ strict: true, allErrors: true })
  addFormats(ajv)
  // OpenAPI's own annotations next to JSON Schema's.
  ajv.addVocabulary(['example'])
  ajv.addFormat('binary', true)
  ajv.addSchema({ $id: 'openapi.json', $defs: retarget(doc.components.schemas) })
})

afterAll(async () => {
  await worker?.stop()
})

describe('every answer matches /openapi.json', () => {
  it('keys, ingest, reads, proofs, checkpoints, status, health and problems', async () => {
    const created = await call('POST', '/v1/keys', '/v1/keys', {
      headers: admin,
      body: { tenant: TENANT, scopes: ['events:write', 'events:read'], name: 'e2e' },
    })
    expect(created.status).toBe(201)
    key = (created.body as { key: string }).key
    const auth = { authorization: `Bearer ${key}` }
    expect((await call('GET', '/v1/keys', '/v1/keys', { headers: admin })).status).toBe(200)

    expect((await call('POST', '/v1/events', '/v1/events', { headers: auth, body: event(0) })).status).toBe(
      202,
    )
    const batch = await call('POST', '/v1/events', '/v1/events', {
      headers: auth,
      body: { events: [event(1), event(2)] },
    })
    expect(batch.status).toBe(202)
    const ce = await call('POST', '/v1/events', '/v1/events', {
      headers: auth,
      contentType: 'application/cloudevents+json',
      body: {
        specversion: '1.0',
        id: 'oa-ce-1',
        source: 'orders',
        type: 'order.updated',
        time: '2026-01-31T12:00:10Z',
        data: { actor: { type: 'service', id: 'svc' }, target: { type: 'order', id: 'o_1' } },
      },
    })
    expect(ce.status).toBe(202)
    const ceBatch = await call('POST', '/v1/events', '/v1/events', {
      headers: auth,
      contentType: 'application/cloudevents-batch+json',
      body: [
        {
          specversion: '1.0',
          id: 'oa-ce-2',
          source: 'orders',
          type: 'order.updated',
          time: '2026-01-31T12:00:11Z',
          data: { actor: { type: 'service', id: 'svc' }, target: { type: 'order', id: 'o_2' } },
        },
      ],
    })
    expect(ceBatch.status).toBe(202)

    // Stored by the queue consumer.
    let page: { data: { id: string; seq: number }[]; next_cursor: string | null } = {
      data: [],
      next_cursor: null,
    }
    for (let i = 0; i < 120 && page.data.length < 5; i++) {
      await new Promise((r) => setTimeout(r, 250))
      page = (await call('GET', '/v1/events', '/v1/events?limit=10', { headers: auth })).body as typeof page
    }
    expect(page.data.length).toBe(5)
    const paged = await call('GET', '/v1/events', '/v1/events?limit=1', { headers: auth })
    expect((paged.body as typeof page).next_cursor).toEqual(expect.any(String))
    await call('GET', '/v1/targets/{type}/{id}/events', '/v1/targets/org/o_1/events?include_children=true', {
      headers: auth,
    })

    for (const id of ['oa-0', 'oa-1']) {
      const one = await call('GET', '/v1/events/{id}', `/v1/events/${id}`, { headers: auth })
      expect(one.status).toBe(200)
    }
    let proof = await call('GET', '/v1/events/{id}/proof', '/v1/events/oa-1/proof', { headers: auth })
    for (let i = 0; i < 10 && proof.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 1100))
      proof = await call('GET', '/v1/events/{id}/proof', '/v1/events/oa-1/proof', { headers: auth })
    }
    expect(proof.status).toBe(200)
    const cps = await call('GET', '/v1/integrity/checkpoints', '/v1/integrity/checkpoints', { headers: auth })
    expect((cps.body as { data: unknown[] }).data.length).toBeGreaterThan(0)
    const consistency = await call(
      'GET',
      '/v1/integrity/consistency',
      '/v1/integrity/consistency?from=1&to=3',
      {
        headers: auth,
      },
    )
    expect(consistency.status).toBe(200)
    expect(
      (await call('GET', '/v1/integrity/status', '/v1/integrity/status', { headers: auth })).status,
    ).toBe(200)
    expect(
      (await call('GET', '/v1/integrity/status', '/v1/integrity/status', { headers: admin })).status,
    ).toBe(200)
    expect((await call('GET', '/.well-known/audit-log-keys', '/.well-known/audit-log-keys')).status).toBe(200)
    expect((await call('GET', '/healthz', '/healthz')).status).toBe(200)
    expect((await call('GET', '/openapi.json', '/openapi.json')).status).toBe(200)
    expect((await call('GET', '/docs', '/docs')).status).toBe(200)
    expect((await call('GET', '/console', '/console')).status).toBe(200)
    expect((await call('GET', '/console/embed', '/console/embed?token=avt_x')).status).toBe(200)
    await call('GET', '/healthz', '/healthz?deep=1', { headers: admin })
    expect(
      (await call('GET', '/v1/admin/dead-letters', '/v1/admin/dead-letters', { headers: admin })).status,
    ).toBe(200)
    expect((await call('GET', '/v1/archive/status', '/v1/archive/status', { headers: admin })).status).toBe(
      200,
    )

    // Console sign-in and viewer tokens (docs/console-auth.md).
    const signedIn = await call('POST', '/v1/sessions', '/v1/sessions', { body: { credential: key } })
    expect(signedIn.status).toBe(201)
    const cookie = { cookie: signedIn.headers.get('set-cookie')!.split(';')[0]! }
    expect(
      (await call('GET', '/v1/sessions/current', '/v1/sessions/current', { headers: cookie })).status,
    ).toBe(200)
    // A 204 has no body to validate: its status is documented.
    const signedOut = await fetch(`${worker.url}/v1/sessions/current`, {
      method: 'DELETE',
      headers: { ...cookie, origin: worker.url },
    })
    expect(signedOut.status).toBe(204)
    expect(doc.paths['/v1/sessions/current']?.delete?.responses['204']).toBeDefined()
    expect(
      (await call('POST', '/v1/sessions', '/v1/sessions', { body: { credential: 'alk_nope' } })).status,
    ).toBe(401)
    const tenantAdmin = await call('POST', '/v1/keys', '/v1/keys', {
      headers: admin,
      body: { tenant: TENANT, scopes: ['admin'] },
    })
    const viewer = await call('POST', '/v1/viewer-tokens', '/v1/viewer-tokens', {
      headers: { authorization: `Bearer ${(tenantAdmin.body as { key: string }).key}` },
      body: { ttl_seconds: 600, target: { type: 'org', id: 'o_1' } },
    })
    expect(viewer.status).toBe(201)
    const asViewer = { authorization: `Bearer ${(viewer.body as { token: string }).token}` }
    expect(
      (await call('GET', '/v1/sessions/current', '/v1/sessions/current', { headers: asViewer })).status,
    ).toBe(200)
    expect((await call('GET', '/v1/events', '/v1/events?limit=2', { headers: asViewer })).status).toBe(200)
    expect(
      (await call('GET', '/v1/events', '/v1/events?target_type=user', { headers: asViewer })).status,
    ).toBe(403)

    // Personal data (docs/privacy.md): plaintext for pii:read, masks, the subject routes, erasure.
    const privacyAdmin = await call('POST', '/v1/keys', '/v1/keys', {
      headers: admin,
      body: { tenant: TENANT, scopes: ['admin'], name: 'privacy' },
    })
    const asAdmin = { authorization: `Bearer ${(privacyAdmin.body as { key: string }).key}` }
    const opened = await call('GET', '/v1/events/{id}', '/v1/events/oa-0', { headers: asAdmin })
    expect((opened.body as { actor: { email: string } }).actor.email).toBe('ada@example.com')
    const masked = await call('GET', '/v1/events/{id}', '/v1/events/oa-0', { headers: auth })
    expect((masked.body as { actor: { email: string } }).actor.email).toBe('[sealed]')
    expect((await call('GET', '/v1/events', '/v1/events?ip=203.0.113.7', { headers: auth })).status).toBe(400)
    expect(
      (await call('GET', '/v1/subjects/{actor_id}', '/v1/subjects/u_1', { headers: asAdmin })).status,
    ).toBe(200)
    expect((await call('GET', '/v1/subjects/{actor_id}', '/v1/subjects/u_1', { headers: auth })).status).toBe(
      403,
    )
    const erased = await call('POST', '/v1/subjects/{actor_id}/erasure', '/v1/subjects/u_1/erasure', {
      headers: asAdmin,
    })
    expect(erased.status).toBe(200)
    const after = await call('GET', '/v1/events/{id}', '/v1/events/oa-0', { headers: asAdmin })
    expect((after.body as { actor: { email: string } }).actor.email).toBe('[erased]')
    expect(
      (await call('GET', '/v1/subjects/{actor_id}', '/v1/subjects/u_1', { headers: asAdmin })).status,
    ).toBe(200)

    // Problems.
    const bad = await call('POST', '/v1/events', '/v1/events', { headers: auth, body: { action: 'x' } })
    expect(bad.status).toBe(400)
    expect((await call('GET', '/v1/events', '/v1/events?limit=0', { headers: auth })).status).toBe(400)
    expect((await call('GET', '/v1/events', '/v1/events')).status).toBe(401)
    expect((await call('GET', '/v1/events/{id}', '/v1/events/nope', { headers: auth })).status).toBe(404)
    expect(
      (
        await call('POST', '/v1/events', '/v1/events', {
          headers: auth,
          body: event(9),
          contentType: 'text/plain',
        })
      ).status,
    ).toBe(415)
    expect((await call('GET', '/v1/keys', '/v1/keys', { headers: auth })).status).toBe(403)

    const other = await call('POST', '/v1/keys', '/v1/keys', {
      headers: admin,
      body: { tenant: TENANT, scopes: ['events:read'] },
    })
    const revoked = await call('DELETE', '/v1/keys/{id}', `/v1/keys/${(other.body as { id: string }).id}`, {
      headers: admin,
    })
    expect(revoked.status).toBe(200)
    // The validator is strict enough to catch a mistyped field.
    const eventSchema = ajv.getSchema('openapi.json#/$defs/Event')!
    const served = one(page.data[0])
    expect(eventSchema(served)).toBe(true)
    expect(eventSchema({ ...served, seq: String(served.seq) })).toBe(false)
    expect(eventSchema({ ...served, hash: 'ABC' })).toBe(false)
    expect(eventSchema({ ...served, extra: 1 })).toBe(false)
    console.log(`validated ${checked.length} answers:\n${[...new Set(checked)].join('\n')}`)
  })
})

// The privacy policy end to end inside workerd: protected at the edge, never stored in plaintext,
// revealed by scope, searchable when hashed, erased by destroying keys.
import { createExecutionContext, env, SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PublicKeyDocument } from '../../core/integrity/checkpoint'
import { evictSubjectKeys } from '../../core/privacy/subject-keys'
import { checkProof } from '../../verifier/check-proof'
import { app } from '../../worker/app'
import {
  archivedLines,
  BASE,
  expectProblem,
  mintKey,
  post,
  tenantD1,
  tick,
  uniqueTenant,
  waitForArchived,
  waitForEvents,
} from './helpers'

const EMAIL = 'ada.lovelace@example.com'
const IP = '203.0.113.77'
const NAME = 'Ada Lovelace'
const UA = 'Mozilla/5.0 (PrivacyTest)'
const PLAIN = [EMAIL, IP, NAME, UA]

function piiEvent(id: string, actor = 'u_ada', extra: Record<string, unknown> = {}) {
  return {
    id,
    occurred_at: '2026-01-15T10:00:00Z',
    action: 'user.login',
    actor: { type: 'user', id: actor, email: EMAIL, name: NAME },
    target: { type: 'session', id: `s_${id}` },
    context: { ip: IP, user_agent: UA, correlation_id: 'c-1' },
    metadata: { plan: 'pro' },
    ...extra,
  }
}

const get = (path: string, key: string) =>
  SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })
async function json<T>(path: string, key: string): Promise<T> {
  const res = await get(path, key)
  expect(res.status, path).toBe(200)
  return (await res.json()) as T
}
type Ev = {
  id: string
  actor: Record<string, unknown>
  context?: Record<string, unknown>
  metadata?: Record<string, unknown>
}

/** Every row of every table of every D1 shard, as text: what copies of the database files would hold. */
async function allD1Text(): Promise<string> {
  let text = ''
  for (const d1 of [env.DB, env.DB_1]) {
    const tables = await d1
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
      )
      .all<{ name: string }>()
    for (const { name } of tables.results) {
      const rows = await d1.prepare(`SELECT * FROM "${name}"`).all()
      text += JSON.stringify(rows.results)
    }
  }
  return text
}

/** Every object of the archive bucket, gunzipped where gzip. */
async function allR2Text(prefix: string): Promise<string> {
  let text = ''
  const listing = await env.ARCHIVE.list({ prefix })
  for (const o of listing.objects) {
    const body = await (await env.ARCHIVE.get(o.key))!.arrayBuffer()
    text += o.key.endsWith('.gz')
      ? await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
      : new TextDecoder().decode(body)
  }
  return text
}

const tenant = uniqueTenant('priv')
let writer: string
let reader: string
let piiReader: string
let admin: string
let adminId: string

beforeAll(async () => {
  writer = (await mintKey(tenant, ['events:write'])).key
  reader = (await mintKey(tenant, ['events:read'])).key
  piiReader = (await mintKey(tenant, ['events:read', 'pii:read'])).key
  const a = await mintKey(tenant, ['admin'])
  admin = a.key
  adminId = a.id
  const res = await post(writer, { events: [piiEvent('p-1'), piiEvent('p-2'), piiEvent('p-3', 'u_bob')] })
  expect(res.status).toBe(202)
  await waitForEvents(tenant, 3)
  await waitForArchived(tenant, 3)
})

describe('at rest', () => {
  it('no D1 row and no R2 object holds a protected field in plaintext', async () => {
    const d1 = await allD1Text()
    expect(d1).toContain('sealed:v1:')
    for (const v of PLAIN) expect(d1, v).not.toContain(v)
    const r2 = await allR2Text(`events/tenant=${tenant}/`)
    expect(r2).toContain('sealed:v1:')
    for (const v of PLAIN) expect(r2, v).not.toContain(v)
    // The column search uses holds the protected form too.
    const row = await (await tenantD1(tenant))
      .prepare('SELECT ip FROM events WHERE tenant = ? AND id = ?')
      .bind(tenant, 'p-1')
      .first<{ ip: string }>()
    expect(row?.ip).toMatch(/^sealed:v1:/)
    // Unrelated fields are stored as sent.
    const { lines } = await archivedLines(tenant)
    expect(lines[0]).toMatchObject({ metadata: { plan: 'pro' }, context: { correlation_id: 'c-1' } })
  })

  it('one data key per subject, stored only wrapped', async () => {
    const rows = await (await tenantD1(tenant))
      .prepare('SELECT * FROM subject_keys WHERE tenant = ? ORDER BY subject')
      .bind(tenant)
      .all<{ subject: string; wrapped_key: string; wrapped_by: string; erased_at: string | null }>()
    expect(rows.results.map((r) => r.subject)).toEqual(['u_ada', 'u_bob'])
    for (const r of rows.results) {
      expect(r.wrapped_by).toBe('test-1')
      expect(r.wrapped_key.length).toBeGreaterThan(40)
      expect(r.erased_at).toBeNull()
    }
  })
})

describe('readers', () => {
  it('pii:read sees plaintext; another reader sees masks; admin keys hold pii:read', async () => {
    const open = await json<Ev>('/v1/events/p-1', piiReader)
    expect(open.actor).toEqual({ type: 'user', id: 'u_ada', email: EMAIL, name: NAME })
    expect(open.context).toEqual({ ip: IP, user_agent: UA, correlation_id: 'c-1' })
    const masked = await json<Ev>('/v1/events/p-1', reader)
    expect(masked.actor).toEqual({ type: 'user', id: 'u_ada', email: '[sealed]', name: '[sealed]' })
    expect(masked.context).toEqual({ ip: '[sealed]', user_agent: '[sealed]', correlation_id: 'c-1' })
    expect((await json<Ev>('/v1/events/p-1', admin)).actor.email).toBe(EMAIL)
  })

  it('search and export reveal the same way', async () => {
    const page = await json<{ data: Ev[] }>('/v1/events?actor_id=u_ada', piiReader)
    expect(page.data.map((e) => e.actor.email)).toEqual([EMAIL, EMAIL])
    const other = await json<{ data: Ev[] }>('/v1/events?actor_id=u_ada', reader)
    expect(other.data.map((e) => e.context?.ip)).toEqual(['[sealed]', '[sealed]'])
    const ndjson = await (await get('/v1/export?format=ndjson&actor_id=u_ada', reader)).text()
    for (const v of PLAIN) expect(ndjson).not.toContain(v)
    expect(ndjson).toContain('[sealed]')
    const csv = await (await get('/v1/export?format=csv&actor_id=u_ada', piiReader)).text()
    expect(csv).toContain(EMAIL)
  })

  it('a filter on a sealed field is a 400 saying so', async () => {
    const res = await get(`/v1/events?ip=${IP}`, piiReader)
    const body = await expectProblem(res, 400, /context\.ip is sealed/)
    expect(body.errors).toEqual([expect.objectContaining({ path: 'ip' })])
    await expectProblem(await get(`/v1/export?ip=${IP}`, piiReader), 400, /sealed/)
  })
})

describe('ingest refusals', () => {
  it('values in the reserved protected form are refused, naming the field', async () => {
    const res = await post(writer, {
      events: [piiEvent('bad-1'), piiEvent('bad-2', 'u_x', { metadata: { note: 'sealed:v1:abc:def' } })],
    })
    const body = await expectProblem(res, 400)
    expect(body.errors).toEqual([expect.objectContaining({ path: 'events[1].metadata.note' })])
    const one = await post(writer, {
      ...piiEvent('bad-3'),
      actor: { type: 'user', id: 'u', name: `hmac:v1:${'0'.repeat(64)}` },
    })
    expect((await expectProblem(one, 400)).errors).toEqual([expect.objectContaining({ path: 'actor.name' })])
  })

  it('the plaintext is validated as sent (a bad e-mail or IP is still a 400)', async () => {
    const res = await post(writer, { ...piiEvent('bad-4'), context: { ip: '999.1.1.1' } })
    expect((await expectProblem(res, 400)).errors).toEqual([expect.objectContaining({ path: 'context.ip' })])
  })

  it('without PII_KEYS an event with a protected field is a 503 and nothing is queued', async () => {
    const sent: unknown[] = []
    const queue = {
      async sendBatch(m: unknown[]) {
        sent.push(...m)
      },
      async send() {},
    } as unknown as Queue<unknown>
    const req = (body: unknown) =>
      new Request(`${BASE}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const noKeys = { ...env, PII_KEYS: '', EVENTS_QUEUE: queue }
    const res = await app.fetch(req(piiEvent('nokey-1')), noKeys, createExecutionContext())
    await expectProblem(res, 503, /PII_KEYS/)
    expect(sent).toEqual([])
    // An event without protected fields is still taken.
    const plain = {
      id: 'nokey-2',
      occurred_at: '2026-01-15T10:00:00Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u' },
      target: { type: 'session', id: 's' },
    }
    expect((await app.fetch(req(plain), noKeys, createExecutionContext())).status).toBe(202)
    expect(sent).toHaveLength(1)
  })
})

describe('hashed fields', () => {
  const t = uniqueTenant('privhash')
  let k: string
  beforeAll(async () => {
    k = (await mintKey(t, ['events:write', 'events:read'])).key
    const res = await post(k, {
      events: [
        piiEvent('h-1', 'u_1', { metadata: { phone: '+44 20 7946 0000', plan: 'pro' } }),
        { ...piiEvent('h-2', 'u_2'), context: { ip: '198.51.100.1' } },
      ],
    })
    expect(res.status).toBe(202)
    await waitForEvents(t, 2)
  })

  it('are stored as hmac:v1 and shown as stored to every reader; equality search hashes the value', async () => {
    const d1 = await allD1Text()
    for (const v of ['+44 20 7946 0000', '198.51.100.1']) expect(d1).not.toContain(v)
    const e = await json<Ev>('/v1/events/h-1', k)
    expect(e.actor.email).toMatch(/^hmac:v1:[0-9a-f]{64}$/)
    expect(e.context?.ip).toMatch(/^hmac:v1:[0-9a-f]{64}$/)
    expect(e.metadata).toEqual({ phone: '[sealed]', plan: 'pro' })
    const byIp = await json<{ data: Ev[] }>(`/v1/events?ip=${IP}`, k)
    expect(byIp.data.map((x) => x.id)).toEqual(['h-1'])
    expect((await json<{ data: Ev[] }>('/v1/events?ip=198.51.100.1', k)).data.map((x) => x.id)).toEqual([
      'h-2',
    ])
    expect((await json<{ data: Ev[] }>('/v1/events?ip=198.51.100.2', k)).data).toEqual([])
    // Equal values hash equally across events: the same e-mail in both.
    const h2 = await json<Ev>('/v1/events/h-2', k)
    expect(h2.actor.email).toBe(e.actor.email)
  })
})

describe('concurrent first events of a subject', () => {
  it('converge on one data key', async () => {
    const t = uniqueTenant('privrace')
    const k = (await mintKey(t, ['events:write', 'events:read', 'pii:read'])).key
    const posts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post(k, piiEvent(`race-${i}`, 'u_race'))),
    )
    expect(posts.map((r) => r.status)).toEqual(Array(6).fill(202))
    const keys = await (await tenantD1(t))
      .prepare('SELECT count(*) AS n FROM subject_keys WHERE tenant = ? AND subject = ?')
      .bind(t, 'u_race')
      .first<{ n: number }>()
    expect(keys?.n).toBe(1)
    await waitForEvents(t, 6)
    for (let i = 0; i < 6; i++) expect((await json<Ev>(`/v1/events/race-${i}`, k)).actor.email).toBe(EMAIL)
  })
})

describe('key rotation', () => {
  it('a new ring key wraps new data keys and re-wraps old ones on use; sealed values and hashes stay', async () => {
    const t = uniqueTenant('privrot')
    const w = (await mintKey(t, ['events:write', 'events:read', 'pii:read'])).key
    expect((await post(w, piiEvent('r-1', 'u_old'))).status).toBe(202)
    await waitForEvents(t, 1)
    const stored = await (await tenantD1(t))
      .prepare('SELECT body FROM events WHERE tenant = ? AND id = ?')
      .bind(t, 'r-1')
      .first<{ body: string }>()
    const rotated = JSON.stringify([
      ...(JSON.parse(env.PII_KEYS!) as object[]),
      {
        id: 'test-2',
        secret: Buffer.alloc(32, 8).toString('base64url'),
        not_before: '2001-01-01T00:00:00.000Z',
      },
    ])
    evictSubjectKeys()
    const withRing = (ring: string, path: string, init: RequestInit = {}) =>
      app.fetch(
        new Request(`${BASE}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${w}`, 'content-type': 'application/json' },
        }),
        { ...env, PII_KEYS: ring },
        createExecutionContext(),
      )
    const read = await withRing(rotated, '/v1/events/r-1')
    expect(((await read.json()) as Ev).actor.email).toBe(EMAIL)
    const wrapped = async () =>
      (await tenantD1(t))
        .prepare('SELECT subject, wrapped_by FROM subject_keys WHERE tenant = ? ORDER BY subject')
        .bind(t)
        .all<{ subject: string; wrapped_by: string }>()
    expect((await wrapped()).results).toEqual([{ subject: 'u_old', wrapped_by: 'test-2' }])
    // A new subject's key is wrapped by the newest key.
    const res = await withRing(rotated, '/v1/events', {
      method: 'POST',
      body: JSON.stringify(piiEvent('r-2', 'u_new')),
    })
    expect(res.status).toBe(202)
    expect((await wrapped()).results).toEqual([
      { subject: 'u_new', wrapped_by: 'test-2' },
      { subject: 'u_old', wrapped_by: 'test-2' },
    ])
    // The stored event is untouched; a ring without the key that now wraps cannot open it.
    const again = await (await tenantD1(t))
      .prepare('SELECT body FROM events WHERE tenant = ? AND id = ?')
      .bind(t, 'r-1')
      .first<{ body: string }>()
    expect(again?.body).toBe(stored?.body)
    evictSubjectKeys()
    await expectProblem(await withRing(env.PII_KEYS!, '/v1/events/r-1'), 503, /PII key "test-2"/)
    evictSubjectKeys()
  })
})

describe('erasure', () => {
  it('needs the admin scope', async () => {
    const res = await SELF.fetch(`${BASE}/v1/subjects/u_ada/erasure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${piiReader}` },
    })
    await expectProblem(res, 403)
    await expectProblem(await get('/v1/subjects/u_ada', reader), 403)
  })

  it('the report before: events by class, sealed fields, one live key', async () => {
    const r = await json<{
      events: { total: number; by_class: Record<string, number> }
      fields: { path: string; kind: string; count: number }[]
      keys: { erased_at: string | null }[]
      erased: boolean
    }>('/v1/subjects/u_ada', admin)
    expect(r.events.total).toBe(2)
    expect(Object.values(r.events.by_class).reduce((a, b) => a + b, 0)).toBe(2)
    expect(r.fields).toEqual([
      { path: 'actor.email', kind: 'seal', count: 2 },
      { path: 'actor.name', kind: 'seal', count: 2 },
      { path: 'context.ip', kind: 'seal', count: 2 },
      { path: 'context.user_agent', kind: 'seal', count: 2 },
    ])
    expect(r.keys).toHaveLength(1)
    expect(r.erased).toBe(false)
  })

  it('destroys the key: "[erased]" everywhere, other subjects untouched, proofs still pass; a repeat changes nothing', async () => {
    const erase = () =>
      SELF.fetch(`${BASE}/v1/subjects/u_ada/erasure`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      })
    const before = await allR2Text(`events/tenant=${tenant}/`)
    const first = await erase()
    expect(first.status).toBe(200)
    const e1 = (await first.json()) as { erased_at: string; keys_erased: number; repeated: boolean }
    expect(e1).toMatchObject({ subject: 'u_ada', keys_erased: 1, repeated: false })

    const row = await (await tenantD1(tenant))
      .prepare('SELECT * FROM subject_keys WHERE tenant = ? AND subject = ?')
      .bind(tenant, 'u_ada')
      .first<{ wrapped_key: string | null; erased_at: string; erased_by: string }>()
    expect(row).toMatchObject({ wrapped_key: null, erased_at: e1.erased_at, erased_by: adminId })

    for (const k of [piiReader, reader, admin]) {
      const e = await json<Ev>('/v1/events/p-1', k)
      expect(e.actor).toEqual({ type: 'user', id: 'u_ada', email: '[erased]', name: '[erased]' })
      expect(e.context).toEqual({ ip: '[erased]', user_agent: '[erased]', correlation_id: 'c-1' })
    }
    const page = await (await get('/v1/events', piiReader)).text()
    const ndjson = await (await get('/v1/export?format=ndjson', piiReader)).text()
    const csv = await (await get('/v1/export?format=csv', piiReader)).text()
    for (const text of [page, ndjson, csv]) {
      expect(text).toContain('[erased]')
      // Only u_bob's event still shows the values (same plaintext, his own key).
      expect(text.split(EMAIL).length - 1).toBe(1)
    }
    expect((await json<Ev>('/v1/events/p-3', piiReader)).actor.email).toBe(EMAIL)

    // No stored byte changed: the archive is as it was, and a proof of an erased event checks.
    expect(await allR2Text(`events/tenant=${tenant}/`)).toBe(before)
    await tick()
    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    const proof = await get('/v1/events/p-1/proof', piiReader)
    expect(proof.status).toBe(200)
    const body = (await proof.json()) as { record: { actor: { email: string } } }
    expect(body.record.actor.email).toMatch(/^sealed:v1:/)
    expect(await checkProof(body as never, keys)).toMatchObject({ ok: true, id: 'p-1', tenant })

    const again = await erase()
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ ...e1, repeated: true })

    // One audit event for the erasure, however often it was asked for; its actor is the key.
    await waitForEvents(tenant, 4)
    type Recorded = { data: { actor: { id: string }; target: { id: string }; metadata: object }[] }
    // Other service events (the reads above) count toward the 4: wait for the erasure's own.
    const deadline = Date.now() + 15_000
    let recorded = await json<Recorded>('/v1/events?action=audit_log.subject.erased', reader)
    while (recorded.data.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      recorded = await json<Recorded>('/v1/events?action=audit_log.subject.erased', reader)
    }
    // A repeat must not have queued a second one: give it the time the first one took.
    await new Promise((r) => setTimeout(r, 500))
    recorded = await json<Recorded>('/v1/events?action=audit_log.subject.erased', reader)
    expect(recorded.data).toHaveLength(1)
    expect(recorded.data[0]).toMatchObject({
      actor: { type: 'api_key', id: adminId },
      target: { type: 'subject', id: 'u_ada' },
      metadata: { keys_erased: 1 },
    })
    const conflicts = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n FROM id_conflicts WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    expect(conflicts?.n).toBe(0)
  })

  it('the report after says erased; a later event of the subject is sealed under a new key', async () => {
    const r = await json<{ erased: boolean; erased_at: string | null; keys: unknown[] }>(
      '/v1/subjects/u_ada',
      admin,
    )
    expect(r.erased).toBe(true)
    expect(r.erased_at).toEqual(expect.any(String))
    expect((await post(writer, piiEvent('p-4'))).status).toBe(202)
    for (let i = 0; i < 100 && (await get('/v1/events/p-4', reader)).status === 404; i++)
      await new Promise((r) => setTimeout(r, 100))
    expect((await json<Ev>('/v1/events/p-4', piiReader)).actor.email).toBe(EMAIL)
    expect((await json<Ev>('/v1/events/p-1', piiReader)).actor.email).toBe('[erased]')
    const after = await json<{ erased: boolean; keys: unknown[] }>('/v1/subjects/u_ada', admin)
    expect(after).toMatchObject({ erased: false })
    expect(after.keys).toHaveLength(2)
  })

  it('a subject never seen can be erased too, and reads as erased', async () => {
    const res = await SELF.fetch(`${BASE}/v1/subjects/nobody/erasure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(await res.json()).toMatchObject({ subject: 'nobody', keys_erased: 0, repeated: false })
    expect(
      await json<{ erased: boolean; events: { total: number } }>('/v1/subjects/nobody', admin),
    ).toMatchObject({
      erased: true,
      events: { total: 0 },
    })
  })
})

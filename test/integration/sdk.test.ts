// The client library (sdk/) against the real Worker: its requests go to SELF, the queue
// consumer stores what it sends. Fetch wrappers count requests and inject the failures.
import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  type AuditEventInput,
  AuditLogClient,
  AuditLogError,
  AuditLogHttpError,
  type FetchLike,
} from '../../sdk'
import { app } from '../../worker/app'
import { BASE, mintKey, event as sampleEvent, tenantD1, uniqueTenant } from './helpers'

/** An event v1 as a client sends it (`overrides` replace fields): the suite's one sample event. */
const event = (overrides: Partial<AuditEventInput> = {}) => sampleEvent(overrides) as AuditEventInput

const selfFetch: FetchLike = (input, init) => SELF.fetch(input, init)

type Call = { method: string; path: string; at: number; events?: number; bytes?: number; status?: number }

/** Records every request; `inject` may answer one instead of the Worker (undefined: pass it on). */
function recording(
  inject?: (call: Call, n: number, init: RequestInit) => Promise<Response | undefined> | Response | undefined,
) {
  const calls: Call[] = []
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input)
    const call: Call = { method: init.method ?? 'GET', path: url.pathname + url.search, at: Date.now() }
    if (typeof init.body === 'string') {
      call.bytes = new TextEncoder().encode(init.body).byteLength
      call.events = (JSON.parse(init.body) as { events: unknown[] }).events.length
    }
    calls.push(call)
    const injected = await inject?.(call, calls.length, init)
    const res = injected ?? (await selfFetch(input, init))
    call.status = res.status
    return res
  }
  return { calls, fetch, posts: () => calls.filter((c) => c.method === 'POST') }
}

/** Client events stored for the tenant (the log's own audit_log.* reads left out). */
async function storedCount(tenant: string): Promise<number> {
  const row = await (await tenantD1(tenant))
    .prepare(
      "SELECT count(*) AS n FROM events WHERE tenant = ? AND action NOT LIKE 'audit\\_log.%' ESCAPE '\\'",
    )
    .bind(tenant)
    .first<{ n: number }>()
  return row?.n ?? 0
}

async function waitForStored(tenant: string, n: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const have = await storedCount(tenant)
    if (have >= n) return have
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events of ${tenant}; have ${have}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function clientFor(
  tenant: string,
  opts: Partial<ConstructorParameters<typeof AuditLogClient>[0]> = {},
) {
  const { key } = await mintKey(tenant)
  return new AuditLogClient({ url: BASE, key, fetch: selfFetch, ...opts })
}

describe('AuditLogClient: sending', () => {
  it('batches many sends into few POSTs and gives each event a UUIDv7', async () => {
    const tenant = uniqueTenant('sdk-batch')
    const rec = recording()
    const client = await clientFor(tenant, { fetch: rec.fetch, batch: { maxEvents: 100, maxWaitMs: 50 } })
    const sends = Array.from({ length: 250 }, (_, i) =>
      client.send(event({ target: { type: 'doc', id: `d${i}` } })),
    )
    const results = await Promise.all(sends)
    await client.close()
    expect(rec.posts().map((c) => c.events)).toEqual([100, 100, 50])
    const ids = results.flatMap((r) => r.ids)
    expect(new Set(ids).size).toBe(250)
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await waitForStored(tenant, 250)).toBe(250)
  })

  it('keeps each POST within batch.maxBytes', async () => {
    const tenant = uniqueTenant('sdk-bytes')
    const rec = recording()
    const client = await clientFor(tenant, { fetch: rec.fetch, batch: { maxBytes: 20_000, maxWaitMs: 20 } })
    const events = Array.from({ length: 30 }, (_, i) =>
      event({ id: `big-${i}`, description: 'x'.repeat(2000) }),
    )
    await client.send(events)
    await client.close()
    const posts = rec.posts()
    expect(posts.length).toBeGreaterThanOrEqual(4)
    for (const p of posts) expect(p.bytes).toBeLessThanOrEqual(20_000)
    expect(posts.reduce((s, p) => s + (p.events ?? 0), 0)).toBe(30)
    expect(await waitForStored(tenant, 30)).toBe(30)
  })

  it('retries a POST whose answer was lost without storing its events twice', async () => {
    const tenant = uniqueTenant('sdk-idem')
    // The first POST reaches the Worker and is accepted; its answer never arrives.
    const rec = recording(async (call, n, init) => {
      if (call.method === 'POST' && n === 1) {
        const res = await selfFetch(`${BASE}${call.path}`, init)
        expect(res.status).toBe(202)
        await res.arrayBuffer()
        throw new TypeError('network connection lost (injected)')
      }
      return undefined
    })
    const client = await clientFor(tenant, { fetch: rec.fetch, retry: { baseDelayMs: 10 } })
    const events = Array.from({ length: 5 }, () => event())
    const { ids } = await client.send(events)
    await client.close()
    expect(rec.posts().map((c) => c.status)).toEqual([undefined, 202])
    expect(await waitForStored(tenant, 5)).toBe(5)
    // Both copies went through the queue; give the second time to be (not) stored.
    await sleep(2000)
    expect(await storedCount(tenant)).toBe(5)
    const conflicts = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n FROM id_conflicts WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    expect(conflicts?.n).toBe(0)
    const read = await client.get(ids[0]!)
    expect(read.id).toBe(ids[0])
    expect(read.conflicts).toBeUndefined()
  })

  it('after a 503 that lists not_accepted, resends only those and honours Retry-After', async () => {
    const tenant = uniqueTenant('sdk-503')
    // The first request meets a queue that takes one sendBatch (forwarded to the real queue)
    // and then fails: the Worker answers its real 503 with accepted and not_accepted.
    let sendBatches = 0
    const flaky = {
      async sendBatch(msgs: MessageSendRequest[]) {
        if (++sendBatches > 1) throw new Error('Queue send failed (injected)')
        await env.EVENTS_QUEUE.sendBatch(msgs)
      },
      async send() {},
    } as unknown as Queue<unknown>
    let firstBody: { accepted: { id: string }[]; not_accepted: { id: string }[] } | undefined
    const rec = recording(async (call, n, init) => {
      if (call.method !== 'POST' || n !== 1) return undefined
      const ctx = createExecutionContext()
      const res = await app.fetch(
        new Request(`${BASE}${call.path}`, init),
        { ...env, EVENTS_QUEUE: flaky },
        ctx,
      )
      await waitOnExecutionContext(ctx)
      firstBody = (await res.clone().json()) as typeof firstBody
      return res
    })
    const client = await clientFor(tenant, { fetch: rec.fetch })
    // ~20 KB each: five fit a queue message, two messages a sendBatch.
    const events = Array.from({ length: 24 }, (_, i) =>
      event({ id: `q-${i}`, changes: [{ field: 'body', after: 'd'.repeat(20_000) }] }),
    )
    await client.send(events)
    await client.close()
    const [first, second, ...more] = rec.posts()
    expect(first?.status).toBe(503)
    expect(firstBody!.accepted.length).toBeGreaterThan(0)
    expect(firstBody!.not_accepted.length).toBeGreaterThan(0)
    expect(second?.status).toBe(202)
    expect(second?.events).toBe(firstBody!.not_accepted.length)
    expect(more).toEqual([])
    // The Worker's 503 says Retry-After: 5.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(5000)
    expect(await waitForStored(tenant, 24)).toBe(24)
    await sleep(500)
    expect(await storedCount(tenant)).toBe(24)
  }, 40_000)

  it('waits as long as a 429 Retry-After says, then sends', async () => {
    const tenant = uniqueTenant('sdk-429')
    const rec = recording((call, n) =>
      call.method === 'POST' && n === 1
        ? new Response(
            JSON.stringify({
              type: 'urn:audit-log:problem:rate_limited',
              title: 'Too many requests',
              status: 429,
              detail: 'Rate limit exceeded; retry after the given delay.',
              request_id: 'injected',
            }),
            { status: 429, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' } },
          )
        : undefined,
    )
    const client = await clientFor(tenant, { fetch: rec.fetch, retry: { baseDelayMs: 100 } })
    await client.send(event({ id: 'rl-1' }))
    await client.close()
    const [first, second] = rec.posts()
    expect([first?.status, second?.status]).toEqual([429, 202])
    const waited = second!.at - first!.at
    expect(waited).toBeGreaterThanOrEqual(1000)
    // Not the backoff (about 100 ms), nor far beyond what was asked (a loaded machine adds some).
    expect(waited).toBeLessThan(4000)
    expect(await waitForStored(tenant, 1)).toBe(1)
  })

  it('never retries other 4xx: the send rejects with the problem, events named by id', async () => {
    const tenant = uniqueTenant('sdk-4xx')
    const rec = recording()
    const client = await clientFor(tenant, { fetch: rec.fetch, batch: { maxWaitMs: 10 } })
    const bad = client.send(event({ id: 'bad-1', action: 'Not A Verb' }))
    const good = client.send([event({ id: 'ok-1' }), event({ id: 'ok-2' })])
    const err = await bad.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuditLogHttpError)
    const http = err as AuditLogHttpError
    expect(http.status).toBe(400)
    expect(http.problem?.type).toBe('urn:audit-log:problem:validation_failed')
    expect(http.problem?.errors?.[0]?.path).toBe('events[0].action')
    expect(http.eventErrors).toEqual([{ id: 'bad-1', path: 'action', message: expect.any(String) }])
    expect(http.ids).toEqual(['bad-1'])
    // The batch held all three; the two valid events were posted again on their own.
    expect(await good).toEqual({ ids: ['ok-1', 'ok-2'] })
    await expect(client.close()).rejects.toMatchObject({ name: 'AuditLogSendError', ids: ['bad-1'] })
    expect(rec.posts().map((c) => [c.status, c.events])).toEqual([
      [400, 3],
      [202, 2],
    ])
    expect(await waitForStored(tenant, 2)).toBe(2)

    const wrong = recording()
    const unauthorized = new AuditLogClient({ url: BASE, key: 'alk_not-a-key', fetch: wrong.fetch })
    await expect(unauthorized.send(event())).rejects.toMatchObject({ status: 401, kind: 'http' })
    expect(wrong.posts()).toHaveLength(1)
  })
})

describe('AuditLogClient: reading', () => {
  const tenant = uniqueTenant('sdk-read')
  let keyPromise: Promise<string> | undefined
  /** 25 events a minute apart, stored once for the reading tests. */
  async function seeded() {
    keyPromise ??= (async () => {
      const { key } = await mintKey(tenant)
      const c = new AuditLogClient({ url: BASE, key, fetch: selfFetch })
      await c.send(
        Array.from({ length: 25 }, (_, i) =>
          event({
            id: `r-${String(i).padStart(2, '0')}`,
            occurred_at: new Date(Date.UTC(2026, 0, 15, 10, i)).toISOString(),
            action: i % 2 === 0 ? 'order.created' : 'user.login',
            actor: { type: 'user', id: `u_${i % 3}` },
            description: i === 3 ? 'a "quoted", multi\r\nline, =formula' : undefined,
          }),
        ),
      )
      await c.close()
      await waitForStored(tenant, 25)
      return key
    })()
    return keyPromise
  }

  it('search iterates over every page, newest first, with the filters', async () => {
    const key = await seeded()
    const rec = recording()
    const client = new AuditLogClient({ url: BASE, key, fetch: rec.fetch })
    const ids: string[] = []
    for await (const e of client.search({ limit: 10 })) ids.push(e.id)
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => `r-${String(24 - i).padStart(2, '0')}`))
    expect(rec.calls.filter((c) => c.path.startsWith('/v1/events?'))).toHaveLength(3)

    const orders: string[] = []
    for await (const e of client.search({
      action: 'order.*',
      actor_id: 'u_0',
      since: new Date(Date.UTC(2026, 0, 15, 10, 5)),
      until: '2026-01-15T10:20:00Z',
      limit: 2,
    }))
      orders.push(e.id)
    // Even i, i % 3 == 0, minute 5..20: 6, 12, 18.
    expect(orders).toEqual(['r-18', 'r-12', 'r-06'])

    const pages = []
    for await (const p of client.pages({ limit: 20 })) pages.push(p.data.length)
    expect(pages).toEqual([20, 5])
    await expect(client.page({ outcome: 'maybe' as never })).rejects.toMatchObject({ status: 400 })
  })

  it('get reads one event; a missing one is a 404 error', async () => {
    const key = await seeded()
    const client = new AuditLogClient({ url: BASE, key, fetch: selfFetch })
    const e = await client.get('r-07')
    expect(e).toMatchObject({ id: 'r-07', tenant, action: 'user.login', seq: expect.any(Number) })
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/)
    const missing = await client.get('nope').catch((x: unknown) => x)
    expect(missing).toBeInstanceOf(AuditLogHttpError)
    expect((missing as AuditLogHttpError).status).toBe(404)
  })

  it('proof verifies with verifyReceipt; a tampered proof does not', async () => {
    const key = await seeded()
    const client = new AuditLogClient({ url: BASE, key, fetch: selfFetch })
    const proof = await client.proof('r-10')
    const keys = await client.keys()
    expect(await client.verifyReceipt(proof, keys)).toMatchObject({ ok: true, id: 'r-10', tenant })
    // Without keys, the published ones are fetched.
    expect(await client.verifyReceipt(proof)).toMatchObject({ ok: true })
    const tampered = { ...proof, record: { ...proof.record, action: 'order.deleted' } }
    const refused = await client.verifyReceipt(tampered, keys)
    expect(refused.ok).toBe(false)
    // The receipt states the record's leaf, so the edit is caught there (else at its chain hash).
    expect(refused.ok ? undefined : refused.problem.kind).toBe('leaf_mismatch')
    const { event: _stated, ...bare } = tampered
    const unstated = await client.verifyReceipt(bare, keys)
    expect(unstated.ok ? undefined : unstated.problem.kind).toBe('hash_mismatch')
    const badPath = {
      ...proof,
      inclusion_proof: {
        ...proof.inclusion_proof,
        hashes: proof.inclusion_proof.hashes.map(() => 'f'.repeat(64)),
      },
    }
    const r = await client.verifyReceipt(badPath, keys)
    expect(r.ok).toBe(proof.inclusion_proof.hashes.length === 0)
  })

  it('export streams NDJSON and CSV, checked for completeness', async () => {
    const key = await seeded()
    const client = new AuditLogClient({ url: BASE, key, fetch: selfFetch })
    const nd = await client.export({ action: 'order.*' })
    expect(nd.filename).toMatch(/\.ndjson$/)
    const ids: string[] = []
    for await (const e of nd.events()) ids.push(e.id)
    expect(ids).toHaveLength(13)
    expect(nd.rows).toBe(13)

    const csv = await client.export({ format: 'csv' })
    const records: string[] = []
    for await (const line of csv.lines()) records.push(line)
    expect(records[0]?.startsWith('id,seq,occurred_at,')).toBe(true)
    expect(records).toHaveLength(26)
    expect(csv.rows).toBe(25)
    // The quoted cell with a CRLF inside stays one record.
    expect(records.find((r) => r.startsWith('r-03,'))).toContain('multi\r\nline')

    const raw = await client.export({ actor_id: 'u_1' })
    const text = await new Response(raw.body).text()
    expect(text.trimEnd().split('\n').at(-1)).toBe('{"_export":{"rows":8,"complete":true}}')
  })

  it('an export cut short fails its completeness check', async () => {
    const key = await seeded()
    // The file arrives without its last line, as when the stream breaks off.
    const cut: FetchLike = async (input, init) => {
      const res = await selfFetch(input, init)
      if (!input.includes('/v1/export')) return res
      const lines = new TextDecoder().decode(await res.arrayBuffer()).split('\n')
      return new Response(lines.slice(0, -2).join('\n'), { status: 200, headers: res.headers })
    }
    const client = new AuditLogClient({ url: BASE, key, fetch: cut })
    const ex = await client.export()
    let n = 0
    const err = await (async () => {
      for await (const _ of ex.events()) n++
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuditLogError)
    expect((err as AuditLogError).kind).toBe('incomplete_export')
    expect(n).toBe(25)
    expect(ex.rows).toBeUndefined()
  })
})

// Input strictness through the real Worker: a value that cannot be stored exactly as sent is a
// 400 naming the field, in every input format; valid edge cases are stored unchanged.
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  BASE,
  event,
  expectProblem,
  mintKey,
  post,
  TEST_ADMIN_TOKEN,
  tenantD1,
  uniqueTenant,
  waitForEvents,
} from './helpers'

const tenant = uniqueTenant('strict')
const keyPromise = mintKey(tenant)
const PROBLEM = 'urn:audit-log:problem:'
const T = '2026-03-01T12:00:00Z'

/**
 * JSON text of `value` with each string "@name" replaced by raw JSON text: the only way to
 * send what a JavaScript object cannot hold (`__proto__` keys, 1e309, lone surrogates).
 */
function raw(value: unknown, parts: Record<string, string>): string {
  let text = JSON.stringify(value)
  for (const [name, json] of Object.entries(parts)) text = text.replaceAll(`"@${name}"`, json)
  return text
}

const nest = (levels: number, leaf = '1') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels)

/** Posts and expects a 400 validation problem whose errors name `paths` (among others). */
async function expectInvalid(res: Response, paths: string[], message?: RegExp) {
  const p = await expectProblem(res, 400)
  expect(p.type).toBe(`${PROBLEM}validation_failed`)
  const got = p.errors!.map((e) => e.path)
  expect(got).toEqual(expect.arrayContaining(paths))
  if (message)
    for (const path of paths) expect(p.errors!.find((e) => e.path === path)!.message).toMatch(message)
  return p
}

const envelope = (overrides: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'eb-1',
  source: 'orders',
  'detail-type': 'Audit Event',
  time: T,
  detail: {
    entities: [{ entity: { id: 'oi-1' }, before: { qty: 1 }, after: { qty: 2 } }],
    entity_type: 'order_item',
    action: 'update',
    actor: { type: 1, name: 'jane' },
    ...detail,
  },
  ...overrides,
})
const record = (overrides: Record<string, unknown> = {}) => ({
  id: 'rec-1',
  kind: 'UPDATE',
  occurredAt: T,
  entity: { id: 'oi-1', kind: { kind: 'order_item' } },
  author: { id: 'jane' },
  fields: [{ name: 'qty', before: { value: 1 }, after: { value: 2 } }],
  ...overrides,
})
const resource = (overrides: Record<string, unknown> = {}) => ({
  eventId: 'res-1',
  actor: { type: 'user', id: 'jane' },
  action: 'document.view',
  resource: { type: 'document', id: 'doc-1' },
  result: 'success',
  occurredAt: T,
  ...overrides,
})
const cloudEvent = (data: unknown, overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'ce-1',
  source: 'orders',
  type: 'audit',
  time: T,
  data,
  ...overrides,
})
const v1Data = {
  action: 'order.updated',
  actor: { type: 'user', id: 'jane' },
  target: { type: 'order', id: '1' },
}
const CE = { headers: { 'content-type': 'application/cloudevents+json' } }
const binary = (headers: Record<string, string> = {}) => ({
  headers: {
    'ce-specversion': '1.0',
    'ce-id': 'bin-1',
    'ce-source': 'orders',
    'ce-type': 'audit',
    'ce-time': T,
    ...headers,
  },
})

describe('timestamps name a real instant, stored exactly as UTC milliseconds', () => {
  it('refuses impossible dates and times, leap seconds and sub-millisecond precision', async () => {
    const { key } = await keyPromise
    const bad = [
      ['2026-02-30T00:00:00Z', /no day 30/],
      ['2026-13-01T00:00:00Z', /no month 13/],
      ['2025-02-29T10:00:00Z', /no day 29/],
      ['2026-01-15T24:00:00Z', /hours are 00-23/],
      ['2026-01-15T10:60:00Z', /minutes are 00-59/],
      ['2026-12-31T23:59:60Z', /leap seconds/],
      ['2026-01-15T10:00:00.1234Z', /more precise than a millisecond/],
      ['2026-01-15T10:00:00+24:00', /offset/],
    ] as const
    const p = await expectInvalid(
      await post(key, { events: bad.map(([occurred_at]) => event({ occurred_at })) }),
      bad.map((_, i) => `events[${i}].occurred_at`),
    )
    expect(p.detail).toMatch(/8 of 8 events are invalid/)
    bad.forEach(([, message], i) => {
      expect(p.errors!.find((e) => e.path === `events[${i}].occurred_at`)!.message).toMatch(message)
    })
  })

  it('accepts Feb 29 of a leap year, offsets, T23:59:59.999Z and trailing zero digits', async () => {
    const t = uniqueTenant('strict-ts')
    const { key } = await mintKey(t)
    const cases = [
      ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
      ['2026-01-15T23:59:59.999Z', '2026-01-15T23:59:59.999Z'],
      ['2026-01-15T10:00:00+05:30', '2026-01-15T04:30:00.000Z'],
      ['2026-01-15T01:00:00.5-03:00', '2026-01-15T04:00:00.500Z'],
      ['2026-01-15T10:00:00.120000000Z', '2026-01-15T10:00:00.120Z'],
      ['2000-02-29t00:00:00z', '2000-02-29T00:00:00.000Z'],
    ] as const
    const res = await post(key, {
      events: cases.map(([occurred_at], i) => event({ id: `ts-${i}`, occurred_at })),
    })
    expect(res.status, await res.clone().text()).toBe(202)
    await waitForEvents(t, cases.length)
    for (const [i, [, stored]] of cases.entries()) {
      const got = await SELF.fetch(`${BASE}/v1/events/ts-${i}`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(((await got.json()) as { occurred_at: string }).occurred_at).toBe(stored)
    }
  })

  it('search filters since and until follow the same rule', async () => {
    const { key } = await keyPromise
    const h = { headers: { authorization: `Bearer ${key}` } }
    const since = await SELF.fetch(`${BASE}/v1/events?since=2026-02-30T00:00:00Z`, h)
    expect((await expectInvalid(since, ['since'])).errors![0]!.message).toMatch(/no day 30/)
    await expectInvalid(await SELF.fetch(`${BASE}/v1/events?until=2026-01-15T24:00:00Z`, h), ['until'])
    const ok = await SELF.fetch(
      `${BASE}/v1/events?since=${encodeURIComponent('2024-02-29T00:00:00+01:00')}&until=2026-01-15T23:59:59.999Z`,
      h,
    )
    expect(ok.status).toBe(200)
  })
})

describe('reserved keys are refused, never dropped', () => {
  it('native: metadata, changes and description values, single and batch', async () => {
    const { key } = await keyPromise
    const single = raw(event({ metadata: '@m' }), { m: '{"__proto__":"x"}' })
    await expectInvalid(await post(key, single), ['metadata.__proto__'], /reserved name/)
    const batch = raw(
      {
        events: [
          event(),
          event({ changes: [{ field: 'f', after: '@c' }] }),
          event({ description: { template: 'x', values: '@d' } }),
        ],
      },
      { c: '{"constructor":{"prototype":1}}', d: '{"prototype":"p"}' },
    )
    await expectInvalid(await post(key, batch), [
      'events[1].changes[0].after.constructor',
      'events[2].description.values.prototype',
    ])
  })

  it('every foreign format, including CloudEvents binary mode and base64 data', async () => {
    const { key } = await keyPromise
    const proto = { p: '{"__proto__":"x"}' }
    const eb = raw(envelope({}, { entities: [{ entity: { id: 'oi-1' }, after: '@p' }] }), proto)
    await expectInvalid(await post(key, eb, { query: '?format=eventbridge' }), [
      'detail.entities[0].after.__proto__',
    ])
    await expectInvalid(
      await post(key, raw(record({ metadata: '@p' }), proto), { query: '?format=record' }),
      ['metadata.__proto__'],
    )
    const res = raw([resource(), resource({ metadata: '@p' })], proto)
    await expectInvalid(await post(key, res, { query: '?format=resource' }), ['[1].metadata.__proto__'])
    const ce = raw(cloudEvent({ ...v1Data, metadata: '@p' }), proto)
    await expectInvalid(await post(key, ce, CE), ['data.metadata.__proto__'])
    await expectInvalid(await post(key, raw({ ...v1Data, metadata: '@p' }, proto), binary()), [
      'metadata.__proto__',
    ])
    await expectInvalid(await post(key, v1Data, binary({ 'ce-constructor': 'x' })), ['ce-constructor'])
    const b64 = btoa(`{"action":"order.updated","metadata":{"__proto__":1}}`)
    await expectInvalid(await post(key, cloudEvent(undefined, { data_base64: b64 }), CE), [
      'data_base64.metadata.__proto__',
    ])
  })
})

describe('numbers JSON cannot carry exactly', () => {
  it('refuses non-finite numbers and integers beyond 2^53-1 wherever they are', async () => {
    const { key } = await keyPromise
    const native = raw(
      event({
        metadata: { n: '@inf' },
        changes: [{ field: 'f', before: '@big', after: { deep: ['@neg'] } }],
        description: { template: 't', values: { v: '@big' } },
      }),
      { inf: '-1e309', big: '9007199254740993', neg: '-9007199254740992' },
    )
    const p = await expectInvalid(await post(key, native), [
      'metadata.n',
      'changes[0].before',
      'changes[0].after.deep[0]',
      'description.values.v',
    ])
    expect(p.errors!.find((e) => e.path === 'metadata.n')!.message).toMatch(/Infinity/)
    expect(p.errors!.find((e) => e.path === 'changes[0].before')!.message).toMatch(/2\^53-1/)
    const eb = raw(envelope({}, { entities: [{ entity: { id: 'oi-1' }, after: { qty: '@x' } }] }), {
      x: '1e400',
    })
    await expectInvalid(await post(key, eb, { query: '?format=eventbridge' }), [
      'detail.entities[0].after.qty',
    ])
    const rec = raw(record({ fields: [{ name: 'qty', after: { value: '@x' } }] }), { x: '18014398509481984' })
    await expectInvalid(await post(key, rec, { query: '?format=record' }), ['fields[0].after.value'])
    const ce = raw(cloudEvent({ ...v1Data, metadata: { n: '@x' } }), { x: '1e309' })
    await expectInvalid(await post(key, ce, CE), ['data.metadata.n'])
  })

  it('keeps the largest safe integers and ordinary fractions', async () => {
    const { key } = await keyPromise
    const ok = await post(
      key,
      event({ metadata: { max: 9007199254740991, min: -9007199254740991, f: 1.5, e: 2.5e-300 } }),
    )
    expect(ok.status, await ok.clone().text()).toBe(202)
  })
})

describe('unpaired surrogates', () => {
  it('are refused in values and in keys, in every format', async () => {
    const { key } = await keyPromise
    const native = raw(event({ actor: { type: 'user', id: 'u', name: '@s' }, metadata: '@m' }), {
      s: '"a\\ud800"',
      m: '{"\\udc00k":1}',
    })
    const p = await expectInvalid(await post(key, native), ['actor.name', 'metadata.\udc00k'])
    expect(p.errors!.find((e) => e.path === 'actor.name')!.message).toMatch(/surrogate/)
    const eb = raw(envelope({}, { entities: [{ entity: { id: 'oi-1', title: '@s' } }] }), { s: '"\\udfff"' })
    await expectInvalid(await post(key, eb, { query: '?format=eventbridge' }), [
      'detail.entities[0].entity.title',
    ])
    const rec = raw(record({ author: { id: '@s' } }), { s: '"\\ud83d"' })
    await expectInvalid(await post(key, rec, { query: '?format=record' }), ['author.id'])
    const res = raw(resource({ userAgent: '@s' }), { s: '"x\\ud800y"' })
    await expectInvalid(await post(key, res, { query: '?format=resource' }), ['userAgent'])
  })

  it('accepts a well-formed pair (an emoji)', async () => {
    const { key } = await keyPromise
    const ok = await post(key, raw(event({ metadata: { e: '@s' } }), { s: '"\\ud83d\\ude00"' }))
    expect(ok.status).toBe(202)
  })
})

describe('nesting', () => {
  it(`a change value nests at most 8 levels`, async () => {
    const { key } = await keyPromise
    const deep = raw(event({ changes: [{ field: 'f', after: '@v' }] }), { v: nest(9) })
    const p = await expectInvalid(
      await post(key, deep),
      [`changes[0].after${'.a'.repeat(8)}`],
      /deeper than 8/,
    )
    expect(p.errors).toHaveLength(1)
    const ok = await post(key, raw(event({ changes: [{ field: 'f', after: '@v' }] }), { v: nest(8) }))
    expect(ok.status, await ok.clone().text()).toBe(202)
  })

  it('a body nested 16,000 levels is a quick 400, not a crash', async () => {
    const { key } = await keyPromise
    const levels = 16_000
    const body = raw(event({ changes: [{ field: 'f', after: '@v' }] }), {
      v: '['.repeat(levels) + ']'.repeat(levels),
    })
    const started = Date.now()
    const p = await expectProblem(await post(key, body), 400)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(p.errors).toHaveLength(1)
    expect(p.errors![0]!.path).toMatch(/^changes\[0\]\.after(\[0\])+$/)
    expect(p.errors![0]!.message).toMatch(/deeper than 16 levels/)
    await expectProblem(await post(key, '['.repeat(levels) + ']'.repeat(levels)), 400)
  })

  it('foreign formats: nested change values and structured metadata', async () => {
    const { key } = await keyPromise
    const eb = raw(envelope({}, { entities: [{ entity: { id: 'oi-1' }, after: { qty: '@v' } }] }), {
      v: nest(9),
    })
    const p = await expectInvalid(await post(key, eb, { query: '?format=eventbridge' }), [
      'detail.entities[0].after',
    ])
    expect(p.errors![0]!.message).toMatch(/deeper than 8/)
    const res = raw(resource({ metadata: { blob: '@v' } }), { v: nest(9) })
    await expectInvalid(await post(key, res, { query: '?format=resource' }), [
      `metadata.blob${'.a'.repeat(8)}`,
    ])
  })
})

describe('field rules', () => {
  it('target.url is an http or https URL', async () => {
    const { key } = await keyPromise
    const urls = [
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'file:///etc/passwd',
      'ftp://example.com/x',
    ]
    await expectInvalid(
      await post(key, { events: urls.map((url) => event({ target: { type: 'doc', id: 'd', url } })) }),
      urls.map((_, i) => `events[${i}].target.url`),
      /http or https/,
    )
    const rec = record({ entity: { id: 'oi-1', url: 'javascript:void(0)', kind: { kind: 'order_item' } } })
    await expectInvalid(await post(key, rec, { query: '?format=record' }), ['entity.url'])
    const ok = await post(key, event({ target: { type: 'doc', id: 'd', url: 'https://example.com/d?x=1' } }))
    expect(ok.status).toBe(202)
  })

  it('description.values has the limits of metadata', async () => {
    const { key } = await keyPromise
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))
    const long = 'k'.repeat(65)
    const d = (values: unknown) => event({ description: { template: 'x', values } })
    await expectInvalid(
      await post(key, {
        events: [d(many), d({ [long]: 1 }), d({ v: 'v'.repeat(1025) }), d({ n: { x: 1 } }), d({ '': 1 })],
      }),
      [
        'events[0].description.values',
        `events[1].description.values.${long}`,
        'events[2].description.values.v',
        'events[3].description.values.n',
        'events[4].description.values.',
      ],
    )
  })
})

describe('the service namespace is reserved', () => {
  it('native: action audit_log.* and source audit-log', async () => {
    const { key } = await keyPromise
    await expectInvalid(
      await post(key, { events: [event({ action: 'audit_log.searched' }), event({ source: 'audit-log' })] }),
      ['events[0].action', 'events[1].source'],
      /reserved/,
    )
  })

  it('every foreign format names the field the client sent', async () => {
    const { key } = await keyPromise
    await expectInvalid(
      await post(key, envelope({ source: 'audit-log' }), { query: '?format=eventbridge' }),
      ['source'],
    )
    await expectInvalid(
      await post(key, envelope({}, { entity_type: 'audit_log' }), { query: '?format=eventbridge' }),
      ['detail.entity_type'],
    )
    await expectInvalid(
      await post(key, record({ entity: { id: 'x', kind: { kind: 'audit_log' } } }), {
        query: '?format=record',
      }),
      ['entity.kind.kind'],
    )
    await expectInvalid(
      await post(key, resource({ action: 'audit_log.exported' }), { query: '?format=resource' }),
      ['action'],
    )
    const { action: _a, ...noAction } = v1Data
    await expectInvalid(await post(key, cloudEvent(noAction, { type: 'audit_log.read' }), CE), ['type'])
    await expectInvalid(await post(key, cloudEvent({ ...v1Data, action: 'audit_log.read' }), CE), [
      'data.action',
    ])
    await expectInvalid(await post(key, cloudEvent(v1Data, { source: 'audit-log' }), CE), ['source'])
    await expectInvalid(await post(key, noAction, binary({ 'ce-type': 'audit_log.read' })), ['ce-type'])
    await expectInvalid(await post(key, v1Data, binary({ 'ce-source': 'audit-log' })), ['ce-source'])
    await expectInvalid(
      await post(
        key,
        cloudEvent(envelope({ source: 'audit-log' }), { dataschema: 'urn:audit-log:format:eventbridge' }),
        CE,
      ),
      ['data.source'],
    )
  })

  it("the service's own events are still recorded (an audited search)", async () => {
    const t = uniqueTenant('strict-reads')
    const { key } = await mintKey(t)
    const before = await (await tenantD1(t))
      .prepare('SELECT count(*) AS n FROM events WHERE tenant = ?')
      .bind(t)
      .first<{
        n: number
      }>()
    expect(before?.n ?? 0).toBe(0)
    const res = await SELF.fetch(`${BASE}/v1/events`, { headers: { authorization: `Bearer ${key}` } })
    expect(res.status).toBe(200)
    await waitForEvents(t, 1)
    const row = await (await tenantD1(t))
      .prepare('SELECT action FROM events WHERE tenant = ? AND action LIKE ?')
      .bind(t, 'audit_log.%')
      .first<{ action: string }>()
    expect(row?.action).toMatch(/^audit_log\./)
  })
})

describe('POST /v1/keys reads its body like ingest', () => {
  const mint = (body: string, contentType = 'application/json') =>
    SELF.fetch(`${BASE}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': contentType },
      body,
    })
  const good = JSON.stringify({ tenant: uniqueTenant('strict-keys'), scopes: ['events:read'] })

  it('415 for a content type that is not JSON', async () => {
    const p = await expectProblem(await mint(good, 'text/plain'), 415, /text\/plain/)
    expect(p.type).toBe(`${PROBLEM}unsupported_media_type`)
  })

  it('413 for a body over 16 KiB', async () => {
    const body = JSON.stringify({ tenant: 'acme', scopes: ['events:read'], name: 'n'.repeat(17 * 1024) })
    const p = await expectProblem(await mint(body), 413, /exceeds 16384 bytes/)
    expect(p.type).toBe(`${PROBLEM}payload_too_large`)
  })

  it('400 malformed_json for broken or empty JSON, and 400 for a reserved key', async () => {
    for (const body of ['{"tenant": ', '']) {
      const p = await expectProblem(await mint(body), 400)
      expect(p.type).toBe(`${PROBLEM}malformed_json`)
    }
    const proto = await mint('{"tenant":"acme","scopes":["events:read"],"__proto__":{"admin":true}}')
    await expectInvalid(proto, ['__proto__'])
  })

  it('still mints with a valid body', async () => {
    const res = await mint(good)
    expect(res.status, await res.clone().text()).toBe(201)
    const bad = await expectProblem(await mint(JSON.stringify({ tenant: 'has space', scopes: ['x'] })), 400)
    expect(bad.errors!.map((e) => e.path).sort()).toEqual(['scopes[0]', 'tenant'])
  })
})

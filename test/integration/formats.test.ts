import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { BASE, expectProblem, mintKey, uniqueTenant, waitForEvents } from './helpers'

const T = '2026-03-01T12:00:00Z'
const native = {
  id: 'native-1',
  occurred_at: T,
  action: 'order_item.update',
  actor: { type: 'user', id: 'jane' },
  target: { type: 'order_item', id: 'oi-1' },
  parent: { type: 'order', id: '500' },
  changes: [{ field: 'qty', before: 1, after: 2 }],
}
const envelope = (id: string) => ({
  version: '0',
  id,
  source: 'orders',
  'detail-type': 'Audit Event',
  time: T,
  detail: {
    entities: [
      { entity: { id: 'oi-1' }, before: { qty: 1 }, after: { qty: 2 }, parent: { id: 500, type: 'order' } },
    ],
    entity_type: 'order_item',
    action: 'update',
    actor: { type: 1, name: 'jane' },
  },
})
const record = {
  id: 'record-1',
  kind: 'UPDATE',
  occurredAt: T,
  entity: { id: 'oi-1', kind: { kind: 'order_item' } },
  author: { id: 'jane' },
  fields: [{ name: 'qty', before: { value: 1 }, after: { value: 2 } }],
}
const resource = (tenantId: string) => ({
  eventId: 'resource-1',
  tenantId,
  actor: { type: 'user', id: 'jane' },
  action: 'order_item.update',
  resource: { type: 'order_item', id: 'oi-1' },
  result: 'success',
  occurredAt: T,
})

async function send(
  key: string,
  body: unknown,
  opts: { format?: string; contentType?: string; headers?: Record<string, string> } = {},
) {
  return SELF.fetch(`${BASE}/v1/events${opts.format ? `?format=${opts.format}` : ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': opts.contentType ?? 'application/json',
      ...opts.headers,
    },
    body: JSON.stringify(body),
  })
}

describe('input formats', () => {
  it('stores the same change from every format and finds it by actor, target and parent', async () => {
    const tenant = uniqueTenant('formats')
    const { key } = await mintKey(tenant)
    const posts = [
      await send(key, native),
      await send(key, envelope('eb-1'), { format: 'eventbridge' }),
      await send(key, record, { format: 'record' }),
      await send(key, resource(tenant), { format: 'resource' }),
      await send(
        key,
        {
          specversion: '1.0',
          id: 'ce-1',
          source: 'orders',
          type: 'audit',
          data: { ...native, id: undefined, occurred_at: T },
        },
        { contentType: 'application/cloudevents+json' },
      ),
      await send(
        key,
        [
          {
            specversion: '1.0',
            id: 'ce-2',
            source: 'orders',
            type: 'audit',
            time: T,
            data: envelope('eb-2'),
          },
        ],
        { contentType: 'application/cloudevents-batch+json' },
      ),
      await send(
        key,
        { ...native, id: undefined, occurred_at: undefined },
        {
          headers: {
            'ce-specversion': '1.0',
            'ce-id': 'ce-3',
            'ce-source': 'orders',
            'ce-type': 'audit',
            'ce-time': T,
          },
        },
      ),
    ]
    for (const p of posts) expect(p.status, await p.clone().text()).toBe(202)
    await waitForEvents(tenant, 7)
    const h = { headers: { authorization: `Bearer ${key}` } }
    const find = async (q: string) =>
      (
        (await (await SELF.fetch(`${BASE}/v1/events?${q}`, h)).json()) as {
          data: { id: string; changes?: unknown[] }[]
        }
      ).data
    const byActor = await find('actor_id=jane')
    expect(byActor.map((e) => e.id).sort()).toEqual(
      ['ce-1', 'eb-2:0', 'ce-3', 'eb-1:0', 'native-1', 'record-1', 'resource-1'].sort(),
    )
    expect((await find('target_type=order_item&target_id=oi-1')).length).toBe(7)
    const withParent = await find('target_type=order&target_id=500&include_children=true')
    expect(withParent.map((e) => e.id).sort()).toEqual(
      ['ce-1', 'eb-2:0', 'ce-3', 'eb-1:0', 'native-1'].sort(),
    )
    for (const e of byActor.filter((x) => x.id !== 'resource-1'))
      expect(e.changes).toEqual([{ field: 'qty', before: 1, after: 2 }])
  })

  it('posting the same EventBridge envelope twice stores its events once', async () => {
    const tenant = uniqueTenant('eb-dup')
    const { key } = await mintKey(tenant)
    const body = {
      ...envelope('eb-dup'),
      detail: {
        ...envelope('eb-dup').detail,
        entities: [envelope('x').detail.entities[0], { entity: { id: 'oi-2' } }],
      },
    }
    const first = (await (await send(key, body, { format: 'eventbridge' })).json()) as {
      accepted: { id: string }[]
    }
    expect(first.accepted.map((a) => a.id)).toEqual(['eb-dup:0', 'eb-dup:1'])
    await send(key, body, { format: 'eventbridge' })
    await waitForEvents(tenant, 2)
    await new Promise((r) => setTimeout(r, 1500))
    const all = (await (
      await SELF.fetch(`${BASE}/v1/events`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { data: unknown[] }
    expect(all.data).toHaveLength(2)
  })

  it('rejects what it cannot map with a 4xx naming the field', async () => {
    const tenant = uniqueTenant('formats-bad')
    const { key } = await mintKey(tenant)
    const eb = await expectProblem(
      await send(
        key,
        { ...envelope('x'), detail: { ...envelope('x').detail, entities: [] } },
        { format: 'eventbridge' },
      ),
      400,
    )
    expect(eb.errors?.[0]?.path).toBe('detail.entities')
    const rec = await expectProblem(await send(key, { ...record, kind: 'MERGE' }, { format: 'record' }), 400)
    expect(rec.errors?.[0]?.path).toBe('kind')
    const other = await expectProblem(await send(key, resource('someone-else'), { format: 'resource' }), 403)
    expect(other.errors?.[0]?.path).toBe('tenantId')
    const ce = await expectProblem(
      await send(
        key,
        { specversion: '1.0', id: 'a', source: 's', type: 't', data: { action: 'Bad Action' } },
        { contentType: 'application/cloudevents+json' },
      ),
      400,
    )
    expect(ce.errors?.map((e) => e.path)).toContain('data.action')
    await expectProblem(await send(key, native, { format: 'eventbridge', contentType: 'text/plain' }), 415)
    const unknown = await expectProblem(
      await send(key, native, { format: 'avro' }),
      400,
      /Unknown format "avro"/,
    )
    expect(unknown.errors?.[0]).toMatchObject({ path: 'format' })
    expect(unknown.errors?.[0]?.message).toMatch(/eventbridge.*cloudevents.*record.*resource/)
    const big = envelope('big')
    big.detail.entities[0]!.entity = { id: 'oi-1', attributes: { blob: 'z'.repeat(2000) } } as never
    const tooBig = await expectProblem(await send(key, big, { format: 'eventbridge' }), 400)
    expect(tooBig.errors?.[0]?.path).toBe('detail.entities[0].entity.attributes')
    const binary = await expectProblem(
      await send(key, native, { headers: { 'ce-specversion': '1.0', 'ce-source': 's', 'ce-type': 't' } }),
      400,
    )
    expect(binary.errors?.[0]?.path).toBe('ce-id')
    const wrapped = await expectProblem(
      await send(
        key,
        { specversion: '1.0', id: 'w', source: 's', type: 't', data: resource('someone-else') },
        { contentType: 'application/cloudevents+json' },
      ),
      403,
    )
    expect(wrapped.errors?.[0]?.path).toBe('data.tenantId')
  })

  it('keeps what has no v1 field in metadata of the stored event', async () => {
    const tenant = uniqueTenant('formats-meta')
    const { key } = await mintKey(tenant)
    const body = { ...envelope('eb-meta'), region: 'eu-west-1', 'replay-name': 'r-1' }
    body.detail.entities[0] = { ...body.detail.entities[0]!, channel_code: 'web' } as never
    expect((await send(key, body, { format: 'eventbridge' })).status).toBe(202)
    await waitForEvents(tenant, 1)
    const res = await SELF.fetch(`${BASE}/v1/events/eb-meta:0`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(res.status).toBe(200)
    const stored = (await res.json()) as {
      metadata: Record<string, unknown>
      parent: unknown
      action: string
    }
    expect(stored.action).toBe('order_item.update')
    expect(stored.parent).toEqual({ type: 'order', id: '500' })
    expect(stored.metadata).toMatchObject({
      eventbridge_id: 'eb-meta',
      eventbridge_region: 'eu-west-1',
      'eventbridge_replay-name': 'r-1',
      eventbridge_action: 'update',
      actor_kind: 'user',
      channel_code: 'web',
    })
  })
})

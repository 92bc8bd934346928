import { SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { allPages, cursorParam } from '../support/pages'
import { BASE, expectProblem, mintKey, uniqueTenant } from './helpers'
import { seed } from './search-seed'

const tenant = uniqueTenant('search')
let key: string

const get = (path: string, k = key) =>
  SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${k}` } })
async function ids(path: string, k = key) {
  const res = await get(path, k)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { data: { id: string }[]; next_cursor: string | null }
  return body.data.map((e) => e.id)
}

beforeAll(async () => {
  key = (await mintKey(tenant, ['events:read', 'events:write'])).key
  await seed(tenant, [
    {
      id: 'e1',
      occurred_at: '2026-01-01T10:00:00Z',
      action: 'user.role.updated',
      actor: { type: 'user', id: 'jane', email: 'jane@example.com' },
      target: { type: 'user', id: 'u_123' },
      source: 'accounts',
      context: { correlation_id: 'corr-A', ip: '198.51.100.9' },
    },
    {
      id: 'e2',
      occurred_at: '2026-01-02T10:00:00Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u_123' },
      target: { type: 'session', id: 's1' },
      outcome: { status: 'failure', reason: 'bad password' },
      context: { ip: '198.51.100.9' },
      source: 'auth',
    },
    {
      id: 'e3',
      occurred_at: '2026-01-03T10:00:00Z',
      action: 'order.created',
      actor: { type: 'service', id: 'checkout' },
      target: { type: 'order', id: '500' },
      source: 'orders',
      context: { correlation_id: 'corr-B' },
    },
    {
      id: 'e4',
      occurred_at: '2026-01-04T10:00:00Z',
      action: 'order.item.added',
      actor: { type: 'service', id: 'checkout' },
      target: { type: 'order_item', id: 'oi-1' },
      parent: { type: 'order', id: '500' },
      source: 'orders',
      context: { correlation_id: 'corr-B' },
    },
    {
      id: 'e5',
      occurred_at: '2026-01-05T10:00:00Z',
      action: 'order.item.removed',
      actor: { type: 'user', id: 'jane' },
      target: { type: 'order_item', id: 'oi-2' },
      parent: { type: 'order', id: '500' },
      source: 'orders',
    },
    {
      id: 'e6',
      occurred_at: '2026-01-06T10:00:00Z',
      action: 'settings.changed',
      actor: { type: 'user', id: 'jane' },
      target: { type: 'setting', id: 'sso' },
      changes: [{ field: 'enabled', before: false, after: true }],
      source: 'admin',
    },
    {
      id: 'e7',
      occurred_at: '2026-01-07T10:00:00Z',
      action: 'user.role.updated',
      actor: { type: 'ai', id: 'agent-7' },
      target: { type: 'user', id: 'u_123' },
      source: 'accounts',
      description: 'line one\nline "two", with comma',
    },
  ])
})

describe('GET /v1/events filters', () => {
  it('returns newest first and each filter narrows the set', async () => {
    expect(await ids('/v1/events')).toEqual(['e7', 'e6', 'e5', 'e4', 'e3', 'e2', 'e1'])
    expect(await ids('/v1/events?actor_id=jane')).toEqual(['e6', 'e5', 'e1'])
    expect(await ids('/v1/events?actor_type=service')).toEqual(['e4', 'e3'])
    expect(await ids('/v1/events?action=user.role.updated')).toEqual(['e7', 'e1'])
    expect(await ids('/v1/events?action=order.*')).toEqual(['e5', 'e4', 'e3'])
    expect(await ids('/v1/events?action=order.item.*')).toEqual(['e5', 'e4'])
    expect(await ids('/v1/events?target_type=user&target_id=u_123')).toEqual(['e7', 'e1'])
    expect(await ids('/v1/events?target_type=order')).toEqual(['e3'])
    expect(await ids('/v1/events?target_type=order&target_id=500&include_children=true')).toEqual([
      'e5',
      'e4',
      'e3',
    ])
    expect(await ids('/v1/events?source=orders')).toEqual(['e5', 'e4', 'e3'])
    expect(await ids('/v1/events?outcome=failure')).toEqual(['e2'])
    expect(await ids('/v1/events?correlation_id=corr-B')).toEqual(['e4', 'e3'])
    expect(await ids('/v1/events?ip=198.51.100.9')).toEqual(['e2', 'e1'])
    expect(await ids('/v1/events?ip=198.51.100.9&outcome=failure&action=user.login')).toEqual(['e2'])
    expect(await ids('/v1/events?since=2026-01-03T00:00:00Z&until=2026-01-05T23:59:59Z')).toEqual([
      'e5',
      'e4',
      'e3',
    ])
  })

  it('combines filters', async () => {
    expect(await ids('/v1/events?actor_id=jane&action=order.*')).toEqual(['e5'])
    expect(await ids('/v1/events?actor_id=jane&since=2026-01-02T00:00:00Z&source=admin')).toEqual(['e6'])
    expect(await ids('/v1/events?action=user.*&outcome=failure&source=auth')).toEqual(['e2'])
  })

  it('serves a resource history, with children on request', async () => {
    expect(await ids('/v1/targets/order/500/events')).toEqual(['e3'])
    expect(await ids('/v1/targets/order/500/events?include_children=true')).toEqual(['e5', 'e4', 'e3'])
  })

  it('returns the stored event by id, with its chain fields and decoded changes', async () => {
    const res = await get('/v1/events/e6')
    expect(res.status).toBe(200)
    const e = (await res.json()) as Record<string, unknown>
    expect(e).toMatchObject({
      id: 'e6',
      tenant,
      seq: 6,
      changes: [{ field: 'enabled', before: false, after: true }],
    })
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/)
    await expectProblem(await get('/v1/events/nope'), 404)
  })

  it('rejects bad filters with a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/v1/events?outcome=maybe', 'outcome'],
      ['/v1/events?actor_typ=user', '(root)'],
      ['/v1/events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'until'],
      ['/v1/events?limit=0', 'limit'],
      ['/v1/events?limit=1001', 'limit'],
      ['/v1/events?since=yesterday', 'since'],
      ['/v1/events?action=User.Login', 'action'],
      ['/v1/events?include_children=true', 'include_children'],
      ['/v1/events?target_id=x', 'target_type'],
      ['/v1/events?cursor=garbage', 'cursor'],
      ['/v1/events?ip=not-an-ip', 'ip'],
    ]
    for (const [path, param] of cases) {
      const p = await expectProblem(await get(path), 400)
      expect(
        p.errors?.map((e) => e.path),
        path,
      ).toContain(param)
    }
  })
})

describe('pagination', () => {
  it('pages through thousands of events with one timestamp without gaps or repeats', async () => {
    const t = uniqueTenant('pages')
    const k = (await mintKey(t, ['events:read'])).key
    await seed(
      t,
      Array.from({ length: 2500 }, (_, i) => ({
        id: `p-${String(i).padStart(5, '0')}`,
        occurred_at: '2026-01-01T00:00:00Z',
      })),
    )
    const { ids: seen, pages } = await allPages((cursor) =>
      get(`/v1/events?limit=700${cursorParam(cursor)}`, k),
    )
    expect(pages).toBe(4)
    expect(seen).toHaveLength(2500)
    expect(new Set(seen).size).toBe(2500)
    expect(seen).toEqual([...seen].sort().reverse())
  })

  it('refuses a cursor used with other filters or by another tenant', async () => {
    const first = (await (await get('/v1/events?limit=2')).json()) as { next_cursor: string }
    expect(first.next_cursor).toBeTruthy()
    await expectProblem(
      await get(`/v1/events?limit=2&source=orders&cursor=${first.next_cursor}`),
      400,
      /another query/,
    )
    const other = (await mintKey(uniqueTenant('other'), ['events:read'])).key
    await expectProblem(
      await get(`/v1/events?limit=2&cursor=${first.next_cursor}`, other),
      400,
      /another query/,
    )
  })
})

describe('tenant isolation', () => {
  it('never shows another tenant an event, by id, search, history or export', async () => {
    const intruder = (await mintKey(uniqueTenant('intruder'), ['events:read', 'admin'])).key
    const byId = await expectProblem(await get('/v1/events/e1', intruder), 404)
    expect(byId.detail).toBe('No event "e1".')
    expect(await ids('/v1/events?actor_id=jane', intruder)).toEqual([])
    expect(await ids('/v1/targets/order/500/events?include_children=true', intruder)).toEqual([])
    const exp = await (await get('/v1/export?format=ndjson', intruder)).text()
    expect(exp).not.toContain('jane')
    expect(exp.trim().split('\n')).toEqual(['{"_export":{"rows":0,"complete":true}}'])
  })
})

describe('every filter combination runs', () => {
  it(
    'answers 200 for each subset of filters (no query the planner cannot serve)',
    { timeout: 120_000 },
    async () => {
      const parts = [
        'actor_id=jane',
        'action=order.*',
        'target_type=order&target_id=500',
        'include_children=true&target_type=order&target_id=500',
        'source=orders',
        'outcome=failure',
        'correlation_id=corr-B',
        'ip=198.51.100.9',
      ]
      for (let mask = 0; mask < 1 << parts.length; mask++) {
        const chosen = parts.filter((_, i) => mask & (1 << i))
        const params = new URLSearchParams()
        for (const p of chosen) for (const [k, v] of new URLSearchParams(p)) params.set(k, v)
        const res = await get(`/v1/events?${params}`)
        expect(res.status, params.toString()).toBe(200)
        await res.body?.cancel()
      }
    },
  )
})

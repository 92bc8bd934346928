import { describe, expect, it } from 'vitest'
import {
  archivedLines,
  event,
  mintKey,
  post,
  tenantD1,
  uniqueTenant,
  waitForArchived,
  waitForEvents,
} from './helpers'

describe('ingest through the real queue into D1 and R2', () => {
  it('stores a single event and a batch, once each, in D1 and the archive', async () => {
    const tenant = uniqueTenant()
    const { key } = await mintKey(tenant)
    const one = await post(key, event({ id: 'evt-single' }))
    expect(one.status).toBe(202)
    expect(await one.json()).toEqual({ accepted: [{ id: 'evt-single' }] })

    const batch = Array.from({ length: 600 }, (_, i) =>
      event({
        occurred_at: `2026-01-${i % 2 === 0 ? '15' : '16'}T10:00:00.${String(i % 1000).padStart(3, '0')}Z`,
      }),
    )
    const res = await post(key, { events: batch })
    expect(res.status).toBe(202)
    const { accepted } = (await res.json()) as { accepted: { id: string }[] }
    expect(accepted).toHaveLength(600)
    expect(new Set(accepted.map((a) => a.id)).size).toBe(600)

    await waitForEvents(tenant, 601)
    const { lines, keys } = await waitForArchived(tenant, 601)
    expect(lines).toHaveLength(601)
    expect(new Set(lines.map((l) => l.id)).size).toBe(601)
    for (const k of keys)
      expect(k).toMatch(
        new RegExp(
          `^events/tenant=${tenant}/dt=2026-01-1[56]/\\d{12}-\\d{12}(\\.[a-z][a-z0-9_]*)?\\.ndjson\\.gz$`,
        ),
      )
    // Each line sits in the partition of its own occurred_at date.
    for (const l of lines) expect(l.tenant).toBe(tenant)

    const seqs = (
      await (
        await tenantD1(tenant)
      )
        .prepare('SELECT seq FROM events WHERE tenant = ? ORDER BY seq')
        .bind(tenant)
        .all<{ seq: number }>()
    ).results.map((r) => r.seq)
    expect(seqs).toEqual(Array.from({ length: 601 }, (_, i) => i + 1))
  })

  it('enriches stored events with received_at, request id, key id and normalises occurred_at to UTC', async () => {
    const tenant = uniqueTenant()
    const { key, id: keyId } = await mintKey(tenant)
    const res = await post(key, event({ id: 'evt-enrich', occurred_at: '2026-02-01T01:30:00+02:00' }))
    const requestId = res.headers.get('x-request-id')
    await waitForEvents(tenant, 1)
    const row = await (await tenantD1(tenant))
      .prepare('SELECT body FROM events WHERE tenant = ? AND id = ?')
      .bind(tenant, 'evt-enrich')
      .first<{ body: string }>()
    const stored = JSON.parse(row!.body)
    expect(stored.occurred_at).toBe('2026-01-31T23:30:00.000Z')
    expect(stored.received_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(stored.ingest).toMatchObject({ key_id: keyId, request_id: requestId })
    expect(stored.outcome).toEqual({ status: 'success' })
    expect(stored.changes[0]).toEqual({
      field: 'role',
      before: '"viewer"',
      after: '{"name":"admin","level":3}',
    })
    const { keys } = await waitForArchived(tenant, 1)
    expect(keys[0]).toContain('/dt=2026-01-31/')
  })

  it('stores a client retry of the same ids only once', async () => {
    const tenant = uniqueTenant()
    const { key } = await mintKey(tenant)
    // (One request listing an id twice is refused: event-ids.test.ts.)
    const body = { events: [event({ id: 'dup-1' }), event({ id: 'dup-2' })] }
    expect((await post(key, body)).status).toBe(202)
    expect((await post(key, body)).status).toBe(202)
    await waitForEvents(tenant, 2)
    await new Promise((r) => setTimeout(r, 2500))
    const n = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n FROM events WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    expect(n?.n).toBe(2)
    expect((await archivedLines(tenant)).lines).toHaveLength(2)
  })

  it('keeps tenants apart: the tenant comes from the key, never the body', async () => {
    const a = uniqueTenant('a')
    const b = uniqueTenant('b')
    const ka = await mintKey(a)
    await mintKey(b)
    const res = await post(ka.key, { ...event(), tenant: b })
    expect(res.status).toBe(400)
    expect((await post(ka.key, event({ id: 'shared-id' }))).status).toBe(202)
    await waitForEvents(a, 1)
    const inB = await (await tenantD1(b))
      .prepare('SELECT count(*) AS n FROM events WHERE tenant = ?')
      .bind(b)
      .first<{ n: number }>()
    expect(inB?.n).toBe(0)
  })
})

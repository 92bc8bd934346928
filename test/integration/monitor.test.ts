// The integrity monitor and verified reads, through the real Worker, D1 and R2: each kind of
// edit to stored data raises an alarm in one scheduled run, shows in /v1/integrity/status, and a
// tampered row is never served as genuine.
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { BASE, mintKey, TEST_ADMIN_TOKEN, tenantD1, tick, uniqueTenant } from './helpers'
import { seed } from './search-seed'

type Status = {
  status: 'ok' | 'alarm'
  checked_at: string | null
  alarms: {
    id: string
    kind: string
    tenant: string
    seq?: number
    detail: string
    acknowledged_at?: string
  }[]
}

async function status(key: string): Promise<Status> {
  const res = await SELF.fetch(`${BASE}/v1/integrity/status`, { headers: { authorization: `Bearer ${key}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as Status
}

/** A tenant with ten stored and archived events, swept once by the monitor with nothing found. */
async function cleanTenant(prefix: string) {
  const tenant = uniqueTenant(prefix)
  const { key } = await mintKey(tenant, ['events:read', 'admin'])
  await seed(
    tenant,
    Array.from({ length: 10 }, (_, i) => ({
      id: `m-${i}`,
      occurred_at: `2026-01-10T00:00:${String(i).padStart(2, '0')}Z`,
      actor: { type: 'user' as const, id: `u_${i}` },
    })),
  )
  await tick()
  const before = await status(key)
  expect(before).toMatchObject({ status: 'ok', alarms: [] })
  expect(before.checked_at).not.toBeNull()
  return { tenant, key }
}

/** Runs a statement on the tenant's shard. */
const sql = async (tenant: string, q: string, ...args: unknown[]) =>
  (await tenantD1(tenant))
    .prepare(q)
    .bind(...args)
    .run()

describe('integrity monitor', () => {
  it('raises an alarm for an edited body, and the edited event is never served as genuine', async () => {
    const { tenant, key } = await cleanTenant('mon-body')
    await sql(
      tenant,
      `UPDATE events SET content = replace(content, '"u_3"', '"u_x"') WHERE tenant = ? AND id = 'm-3'`,
      tenant,
    )
    await tick()
    const s = await status(key)
    expect(s.status).toBe('alarm')
    expect(s.alarms.map((a) => a.kind)).toContain('body_mismatch')
    expect(s.alarms.find((a) => a.kind === 'body_mismatch')).toMatchObject({ tenant, seq: 4 })

    const page = await SELF.fetch(`${BASE}/v1/events?limit=100`, {
      headers: { authorization: `Bearer ${key}` },
    })
    const { data } = (await page.json()) as {
      data: { id: string; integrity_violation?: { reason: string } }[]
    }
    const edited = data.find((e) => e.id === 'm-3')!
    expect(edited.integrity_violation?.reason).toMatch(/does not hash to its chain hash/)
    expect(data.filter((e) => e.integrity_violation)).toHaveLength(1)

    const one = await SELF.fetch(`${BASE}/v1/events/m-3`, { headers: { authorization: `Bearer ${key}` } })
    expect(one.status).toBe(500)
    expect(one.headers.get('content-type')).toContain('application/problem+json')
    expect(((await one.json()) as { type: string }).type).toMatch(/integrity_violation$/)
  })

  it('raises an alarm for an edited key column (which would hide the event from searches)', async () => {
    const { tenant, key } = await cleanTenant('mon-col')
    // The search columns are read from the stored content: they cannot be edited apart from it.
    await expect(
      sql(tenant, `UPDATE events SET actor_id = 'u_hidden' WHERE tenant = ? AND id = 'm-5'`, tenant),
    ).rejects.toThrow(/generated column/)
    // The time is a key column: moved, the event leaves the time ranges it belongs to.
    await sql(
      tenant,
      `UPDATE events SET occurred_at = '2020-01-01T00:00:00.000Z' WHERE tenant = ? AND id = 'm-5'`,
      tenant,
    )
    await tick()
    const s = await status(key)
    const alarm = s.alarms.find((a) => a.kind === 'column_mismatch')
    expect(alarm).toMatchObject({ tenant, seq: 6 })
    expect(alarm!.detail).toMatch(/occurred_at/)
  })

  it('raises an alarm for a deleted row', async () => {
    const { tenant, key } = await cleanTenant('mon-del')
    await sql(tenant, `DELETE FROM events WHERE tenant = ? AND id = 'm-7'`, tenant)
    await tick()
    const s = await status(key)
    expect(s.alarms.find((a) => a.kind === 'rows_missing')?.detail).toMatch(/holds 9 of the 10 events/)
  })

  it('raises alarms for an altered stored leaf: against the body and against the signed root', async () => {
    const { tenant, key } = await cleanTenant('mon-leaf')
    // Leaf of seq 2 (the second 64 hex digits of the run's row), one digit changed.
    const row = await (await tenantD1(tenant))
      .prepare('SELECT first_seq, leaves FROM chain_leaves WHERE tenant = ?')
      .bind(tenant)
      .first<{ first_seq: number; leaves: string }>()
    const at = (2 - row!.first_seq) * 64
    const flipped = row!.leaves[at] === '0' ? '1' : '0'
    await sql(
      tenant,
      'UPDATE chain_leaves SET leaves = ? WHERE tenant = ? AND first_seq = ?',
      row!.leaves.slice(0, at) + flipped + row!.leaves.slice(at + 1),
      tenant,
      row!.first_seq,
    )
    await tick()
    const kinds = (await status(key)).alarms.map((a) => a.kind)
    expect(kinds).toContain('leaf_mismatch')
    expect(kinds).toContain('root_mismatch')
  })

  it('raises an alarm when an archived line differs from D1', async () => {
    const { tenant, key } = await cleanTenant('mon-arch')
    // The archived copy of seq 5 rewritten with a valid-looking but different chain hash.
    const listed = await env.ARCHIVE.list({ prefix: `events/tenant=${tenant}/` })
    const obj = await env.ARCHIVE.get(listed.objects[0]!.key)
    const text = await new Response(
      (obj!.body as ReadableStream).pipeThrough(new DecompressionStream('gzip')),
    ).text()
    const lines = text.trimEnd().split('\n')
    const i = lines.findIndex((l) => l.includes('"id":"m-4"'))
    lines[i] = lines[i]!.replace('"u_4"', '"u_z"')
    const gz = await new Response(
      new Blob([`${lines.join('\n')}\n`]).stream().pipeThrough(new CompressionStream('gzip')),
    ).arrayBuffer()
    await env.ARCHIVE.put(listed.objects[0]!.key, gz)
    await tick()
    const kinds = (await status(key)).alarms.map((a) => a.kind)
    expect(kinds).toContain('archive_line_invalid')
  })

  it('never clears an alarm: acknowledging is recorded once, a second time is a conflict', async () => {
    const { tenant, key } = await cleanTenant('mon-ack')
    await sql(
      tenant,
      `UPDATE events SET occurred_at = '2020-01-01T00:00:00.000Z' WHERE tenant = ? AND id = 'm-1'`,
      tenant,
    )
    await tick()
    const [alarm] = (await status(key)).alarms
    expect(alarm).toBeDefined()
    const ack = (k: string) =>
      SELF.fetch(`${BASE}/v1/integrity/alarms/${alarm!.id}/acknowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: 'restored from backup' }),
      })
    const other = await mintKey(uniqueTenant('mon-other'), ['admin'])
    expect((await ack(other.key)).status).toBe(404)
    const first = await ack(key)
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({ id: alarm!.id, note: 'restored from backup' })
    expect((await ack(key)).status).toBe(409)
    const after = await status(key)
    expect(after.status).toBe('ok')
    expect(after.alarms.find((a) => a.id === alarm!.id)?.acknowledged_at).toBeDefined()
    // Re-found by the next sweep, the same finding raises nothing new.
    await tick()
    expect((await status(key)).alarms).toHaveLength(after.alarms.length)
  })

  it('shows every tenant to the admin token and only its own to a tenant key', async () => {
    const a = await cleanTenant('mon-a')
    await sql(
      a.tenant,
      `UPDATE events SET content = replace(content, '"u_2"', '"u_y"') WHERE tenant = ? AND id = 'm-2'`,
      a.tenant,
    )
    await tick()
    const b = await cleanTenant('mon-b')
    expect((await status(b.key)).alarms).toEqual([])
    const all = await status(TEST_ADMIN_TOKEN)
    expect(all.alarms.some((x) => x.tenant === a.tenant)).toBe(true)
    expect(all.status).toBe('alarm')
  })
})

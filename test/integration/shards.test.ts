// Tenant shards on the local default of two (DB, DB_1): routing, isolation, jobs on every shard,
// and a verified, resumable tenant move with events arriving while it runs.
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { advanceMove, TENANT_TABLES } from '../../core/db/shard-move'
import { placementOf, rendezvousShard, shards, tenantShard } from '../../core/db/shards'
import {
  BASE,
  event,
  expectProblem,
  mintKey,
  post,
  TEST_ADMIN_TOKEN,
  tick,
  uniqueTenant,
  waitForEvents,
} from './helpers'

/** A fresh tenant that rendezvous hashing places on `shard`. */
async function tenantOn(shard: string, prefix = 'sh'): Promise<string> {
  for (;;) {
    const t = uniqueTenant(prefix)
    if ((await rendezvousShard(t, ['DB', 'DB_1'])) === shard) return t
  }
}

async function countIn(d1: D1Database, table: string, tenant: string) {
  const row = await d1
    .prepare(`SELECT count(*) AS n FROM "${table}" WHERE tenant = ?`)
    .bind(tenant)
    .first<{ n: number }>()
  return row?.n ?? 0
}

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }

async function move(tenant: string, to: string) {
  return SELF.fetch(`${BASE}/v1/admin/shards/moves`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ tenant, to }),
  })
}

async function search(key: string, query = '') {
  const res = await SELF.fetch(`${BASE}/v1/events${query}`, { headers: { authorization: `Bearer ${key}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as { data: { id: string; seq: number }[] }
}

describe('tenant shards', () => {
  it('runs two shards locally, the first the directory', () => {
    expect(shards(env).map((s) => s.name)).toEqual(['DB', 'DB_1'])
  })

  it('places a new tenant by rendezvous hashing and keeps all its rows in that shard only', async () => {
    const a = await tenantOn('DB')
    const b = await tenantOn('DB_1')
    const ka = await mintKey(a)
    const kb = await mintKey(b)
    expect((await post(ka.key, event({ id: 'a-1' }))).status).toBe(202)
    expect((await post(kb.key, event({ id: 'b-1' }))).status).toBe(202)
    await waitForEvents(a, 1)
    await waitForEvents(b, 1)
    expect((await placementOf(env, a, true))?.shard).toBe('DB')
    expect((await placementOf(env, b, true))?.shard).toBe('DB_1')
    for (const table of ['events', 'event_ids', 'chain_heads', 'chain_leaves']) {
      expect(await countIn(env.DB, table, a)).toBeGreaterThan(0)
      expect(await countIn(env.DB_1, table, a)).toBe(0)
      expect(await countIn(env.DB_1, table, b)).toBeGreaterThan(0)
      expect(await countIn(env.DB, table, b)).toBe(0)
    }
    // Keys stay in the directory whatever the tenant's shard.
    expect(await countIn(env.DB, 'api_keys', b)).toBe(1)
    expect(await countIn(env.DB_1, 'api_keys', b)).toBe(0)
    // Each key sees its own tenant's events only, by search and by id.
    expect((await search(ka.key)).data.map((e) => e.id)).toEqual(['a-1'])
    expect((await search(kb.key)).data.map((e) => e.id)).toEqual(['b-1'])
    const cross = await SELF.fetch(`${BASE}/v1/events/b-1`, {
      headers: { authorization: `Bearer ${ka.key}` },
    })
    await expectProblem(cross, 404)
  })

  it('keeps every assigned tenant where it is when a shard is added', async () => {
    const tenants = Array.from({ length: 400 }, (_, i) => `tenant-${i}`)
    const two = await Promise.all(tenants.map((t) => rendezvousShard(t, ['DB', 'DB_1'])))
    const three = await Promise.all(tenants.map((t) => rendezvousShard(t, ['DB', 'DB_1', 'DB_2'])))
    // Rendezvous hashing: a tenant either stays or goes to the new shard, never between old ones.
    for (const [i, s] of three.entries()) expect(s === two[i] || s === 'DB_2').toBe(true)
    const moved = three.filter((s, i) => s !== two[i]).length
    expect(moved).toBeGreaterThan(80)
    expect(moved).toBeLessThan(190)
    expect(two.filter((s) => s === 'DB').length).toBeGreaterThan(150)
    expect(two.filter((s) => s === 'DB').length).toBeLessThan(250)
  })

  it('runs the cron jobs on every shard: each tenant gets its checkpoint on its own shard', async () => {
    const a = await tenantOn('DB', 'cron')
    const b = await tenantOn('DB_1', 'cron')
    for (const t of [a, b]) {
      const k = await mintKey(t)
      expect((await post(k.key, event({ id: `${t}-1` }))).status).toBe(202)
      await waitForEvents(t, 1)
    }
    await tick()
    expect(await countIn(env.DB, 'checkpoints', a)).toBeGreaterThan(0)
    expect(await countIn(env.DB_1, 'checkpoints', b)).toBeGreaterThan(0)
    expect(await countIn(env.DB_1, 'checkpoints', a)).toBe(0)
    expect(await countIn(env.DB, 'checkpoints', b)).toBe(0)
    // The monitor swept both and found nothing wrong.
    const status = await SELF.fetch(`${BASE}/v1/integrity/status`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    const body = (await status.json()) as { alarms: { tenant: string }[] }
    expect(body.alarms.filter((x) => x.tenant === a || x.tenant === b)).toEqual([])
  })

  it('moves a tenant to the other shard: verified, resumable, events posted meanwhile kept once', async () => {
    const t = await tenantOn('DB', 'mv')
    const k = await mintKey(t)
    const batch = Array.from({ length: 450 }, (_, i) =>
      event({ id: `mv-${i}`, occurred_at: `2026-01-${String(10 + (i % 5)).padStart(2, '0')}T10:00:00Z` }),
    )
    expect((await post(k.key, { events: batch })).status).toBe(202)
    await waitForEvents(t, 450)
    await tick() // a checkpoint and the monitor's state, copied too
    const before = await search(k.key, '?limit=1000')
    const counts = Object.fromEntries(
      await Promise.all(
        TENANT_TABLES.map(async ({ table }) => [table, await countIn(env.DB, table, t)] as const),
      ),
    )

    // Step by step with a small budget: every call resumes from the cursor in the shard map.
    let status = await advanceMove(env, t, 'DB_1', 2)
    expect(status.state).toBe('frozen')
    // Frozen: events are still accepted at the edge; the consumer keeps them waiting.
    expect((await post(k.key, event({ id: 'during-move' }))).status).toBe(202)
    // Another target while this move runs is refused.
    const elsewhere = await move(t, 'DB')
    await expectProblem(elsewhere, 409)
    let calls = 0
    while (status.state !== 'done') {
      if (status.wait_ms > 0) await new Promise((r) => setTimeout(r, status.wait_ms + 50))
      status = await advanceMove(env, t, 'DB_1', 2)
      calls++
      expect(calls).toBeLessThan(200)
    }
    expect(calls).toBeGreaterThan(5) // it took several resumed steps
    expect((await placementOf(env, t, true))?.shard).toBe('DB_1')
    expect((await tenantShard(env, t)).name).toBe('DB_1')
    // Nothing left on the source; everything on the target (reads record audit_log.searched events,
    // and the waiting event arrives, so the target may already hold more than was copied).
    for (const { table } of TENANT_TABLES) {
      expect(await countIn(env.DB, table, t)).toBe(0)
      expect(await countIn(env.DB_1, table, t)).toBeGreaterThanOrEqual(counts[table]!)
    }
    // The same answers from the new shard, and proofs verify against its tree.
    const mine = (page: { data: { id: string }[] }) => page.data.filter((e) => e.id.startsWith('mv-'))
    expect(mine(await search(k.key, '?limit=1000'))).toEqual(mine(before))
    const proof = await SELF.fetch(`${BASE}/v1/events/mv-7/proof`, {
      headers: { authorization: `Bearer ${k.key}` },
    })
    expect(proof.status).toBe(200)
    // The event posted during the move is stored once, after the chain copied (requeued, not lost).
    const deadline = Date.now() + 90_000
    let after = await search(k.key, '?limit=1000')
    while (!after.data.some((e) => e.id === 'during-move')) {
      expect(Date.now()).toBeLessThan(deadline)
      await new Promise((r) => setTimeout(r, 250))
      after = await search(k.key, '?limit=1000')
    }
    const ids = after.data.map((e) => e.id)
    expect(ids.filter((id) => id === 'during-move')).toHaveLength(1)
    expect(new Set(ids).size).toBe(ids.length)
    // One chain on the target, without gaps: as many rows as the head's seq, seqs 1..n.
    const chain = await env.DB_1.prepare(
      'SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM events WHERE tenant = ?',
    )
      .bind(t)
      .first<{ n: number; d: number; lo: number; hi: number }>()
    const head = await env.DB_1.prepare('SELECT seq FROM chain_heads WHERE tenant = ?')
      .bind(t)
      .first<{ seq: number }>()
    expect(chain).toEqual({ n: head!.seq, d: head!.seq, lo: 1, hi: head!.seq })
    await tick()
    const status2 = await SELF.fetch(`${BASE}/v1/integrity/status`, {
      headers: { authorization: `Bearer ${k.key}` },
    })
    expect(((await status2.json()) as { alarms: unknown[] }).alarms).toEqual([])
  }, 120_000)

  it('answers a move of a tenant with nothing stored, to an unknown shard, or with a bad body, with 4xx', async () => {
    await expectProblem(await move(uniqueTenant('none'), 'DB_1'), 404, /nothing to move/)
    const t = await tenantOn('DB', 'bad')
    const k = await mintKey(t)
    expect((await post(k.key, event({ id: 'x' }))).status).toBe(202)
    await waitForEvents(t, 1)
    await expectProblem(await move(t, 'DB_9'), 404, /no shard DB_9/)
    const bad = await SELF.fetch(`${BASE}/v1/admin/shards/moves`, {
      method: 'POST',
      headers: admin,
      body: '{"tenant": 1}',
    })
    await expectProblem(bad, 400)
    const asKey = await SELF.fetch(`${BASE}/v1/admin/shards`, {
      headers: { authorization: `Bearer ${k.key}` },
    })
    expect(asKey.status).toBe(403)
    const list = await SELF.fetch(`${BASE}/v1/admin/shards`, { headers: admin })
    expect(list.status).toBe(200)
    const body = (await list.json()) as { shards: { name: string; directory: boolean; tenants: number }[] }
    expect(body.shards.map((s) => [s.name, s.directory])).toEqual([
      ['DB', true],
      ['DB_1', false],
    ])
    // Moving to where it is already is a no-op answer.
    const same = await move(t, 'DB')
    expect(((await same.json()) as { state: string }).state).toBe('done')
  })

  it('stops a move whose copy does not match the source, and keeps serving the tenant from it', async () => {
    const t = await tenantOn('DB', 'tamper')
    const k = await mintKey(t)
    expect(
      (await post(k.key, { events: Array.from({ length: 30 }, (_, i) => event({ id: `tp-${i}` })) })).status,
    ).toBe(202)
    await waitForEvents(t, 30)
    let status = await advanceMove(env, t, 'DB_1', 50)
    await new Promise((r) => setTimeout(r, status.wait_ms + 50))
    // The target's clearing and the first tables go; then a stray row appears on the target.
    status = await advanceMove(env, t, 'DB_1', 12)
    expect(status.state).toBe('copying')
    await env.DB_1.prepare(
      "INSERT INTO alarms (id, tenant, kind, detail, raised_at) VALUES ('alm_stray', ?, 'x', 'stray', '2026-01-01T00:00:00.000Z')",
    )
      .bind(t)
      .run()
    await expect(advanceMove(env, t, 'DB_1', 500)).rejects.toThrow(/alarms/)
    // Nothing switched: reads still come from the source.
    expect((await placementOf(env, t, true))?.shard).toBe('DB')
    expect((await search(k.key)).data.filter((e) => e.id.startsWith('tp-'))).toHaveLength(30)
    // Given up, the tenant takes writes on its source again.
    const aborted = await SELF.fetch(`${BASE}/v1/admin/shards/moves`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ tenant: t, to: 'DB_1', abort: true }),
    })
    expect(((await aborted.json()) as { state: string }).state).toBe('aborted')
    expect((await post(k.key, event({ id: 'tp-after' }))).status).toBe(202)
    await waitForEvents(t, 32) // with the search's audit_log.searched record
    const stored = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE tenant = ? AND id = 'tp-after'",
    )
      .bind(t)
      .first<{ n: number }>()
    expect(stored?.n).toBe(1)
  })

  it('carries a D1 bookmark on reads and refuses a malformed one', async () => {
    const t = await tenantOn('DB_1', 'bm')
    const k = await mintKey(t)
    expect((await post(k.key, event({ id: 'bm-1' }))).status).toBe(202)
    await waitForEvents(t, 1)
    const res = await SELF.fetch(`${BASE}/v1/events`, { headers: { authorization: `Bearer ${k.key}` } })
    expect(res.status).toBe(200)
    const bookmark = res.headers.get('x-d1-bookmark')
    if (bookmark !== null) {
      const again = await SELF.fetch(`${BASE}/v1/events/bm-1`, {
        headers: { authorization: `Bearer ${k.key}`, 'x-d1-bookmark': bookmark },
      })
      expect(again.status).toBe(200)
    }
    const bad = await SELF.fetch(`${BASE}/v1/events`, {
      headers: { authorization: `Bearer ${k.key}`, 'x-d1-bookmark': 'not a bookmark; drop table' },
    })
    await expectProblem(bad, 400, /x-d1-bookmark/)
  })
})

// Retention classes end to end through the real Worker, queue, D1 and R2: events of the one-day
// `transient` class (retention.config.json), posted with a backdated occurred_at, expire on the
// next scheduled run and leave tombstones that keep every proof, the verifier and the monitor sound.

import { env, SELF } from 'cloudflare:test'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { partitionPrefix } from '../../core/archive/layout'
import { gunzipLines } from '../../core/archive/r2'
import { tenantDbs } from '../../core/db/shards'
import type { PublicKeyDocument } from '../../core/integrity/checkpoint'
import { parseTombstoneLine } from '../../core/retention/tombstone'
import { expireRetentionClasses } from '../../cron/class-expiry'
import type { ArchiveSource } from '../../verifier/archive-source'
import { checkProof } from '../../verifier/check-proof'
import { verifyArchive } from '../../verifier/verify-archive'
import {
  BASE,
  event,
  expectProblem,
  mintKey,
  post,
  tenantD1,
  tick,
  uniqueTenant,
  waitForEvents,
} from './helpers'

const DAY = 86_400_000

function get(key: string, path: string) {
  return SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })
}

/** The tenant's part of the bucket, as the offline verifier reads an archive copy. */
function r2Source(tenant: string): ArchiveSource {
  const mine = `tenant=${encodeURIComponent(tenant)}/`
  return {
    location: 'r2',
    async list(prefix) {
      const keys: string[] = []
      let cursor: string | undefined
      do {
        const page = await env.ARCHIVE.list({ prefix: `${prefix}${mine}`, cursor })
        keys.push(...page.objects.map((o) => o.key))
        cursor = page.truncated ? page.cursor : undefined
      } while (cursor)
      return keys.sort()
    },
    async read(key) {
      return Buffer.from(await (await env.ARCHIVE.get(key))!.arrayBuffer())
    },
    async open(key) {
      const bytes = Buffer.from(await (await env.ARCHIVE.get(key))!.arrayBuffer())
      return { stream: Readable.from([bytes]), decoded: false }
    },
  }
}

async function eventCount(tenant: string, where = '') {
  const row = await (await tenantD1(tenant))
    .prepare(`SELECT count(*) AS n FROM events WHERE tenant = ? ${where}`)
    .bind(tenant)
    .first<{ n: number }>()
  return row!.n
}

describe('retention classes', () => {
  it('expires a one-day class on the next scheduled run, leaving tombstones every proof still verifies', async () => {
    const tenant = uniqueTenant('classes')
    const { key } = await mintKey(tenant)
    const old = `${new Date(Date.now() - 3 * DAY).toISOString().slice(0, 19)}Z`
    const dt = old.slice(0, 10)
    const now = `${new Date(Date.now() - 60_000).toISOString().slice(0, 19)}Z`
    const heartbeat = (id: string, at: string) =>
      event({ id, occurred_at: at, action: 'service.heartbeat', changes: undefined })
    const res = await post(key, {
      events: [
        event({ id: 'kept-1', occurred_at: old }),
        heartbeat('beat-1', old),
        heartbeat('beat-2', old),
        event({ id: 'kept-2', occurred_at: old, action: 'user.login', changes: undefined }),
        heartbeat('beat-3', old),
        heartbeat('beat-new', now),
      ],
    })
    expect(res.status, await res.clone().text()).toBe(202)
    await waitForEvents(tenant, 6)

    // The class is fixed at ingest, part of the hashed record, and shown in the API.
    const shown = (await (await get(key, '/v1/events/beat-1')).json()) as { retention: string; seq: number }
    expect(shown.retention).toBe('transient')
    const kept = (await (await get(key, '/v1/events/kept-1')).json()) as { retention: string }
    expect(kept.retention).toBe('access')
    const login = (await (await get(key, '/v1/events/kept-2')).json()) as { retention: string }
    expect(login.retention).toBe('standard')
    // One class per archive object: the heartbeats of the old day sit in their own object.
    const before = (await env.ARCHIVE.list({ prefix: partitionPrefix(tenant, dt) })).objects.map((o) => o.key)
    expect(before.filter((k) => k.endsWith('.transient.ndjson.gz'))).toHaveLength(1)

    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    const proofsBefore = new Map<string, { leaf: string; hash: string }>()
    for (const id of ['kept-1', 'kept-2', 'beat-new']) {
      const p = await (await get(key, `/v1/events/${id}/proof`)).json()
      const r = await checkProof(p, keys)
      expect(r.ok, JSON.stringify(r)).toBe(true)
      proofsBefore.set(id, {
        leaf: (p as { event: { leaf_hash: string } }).event.leaf_hash,
        hash: (p as { event: { hash: string } }).event.hash,
      })
    }
    const beat1Proof = (await (await get(key, '/v1/events/beat-1/proof')).json()) as {
      event: { leaf_hash: string; hash: string; prev_hash: string; seq: number }
    }

    await tick()

    // D1: the expired rows are gone, their tombstones are there; the others stay.
    expect(await eventCount(tenant, "AND id IN ('beat-1', 'beat-2', 'beat-3')")).toBe(0)
    expect(await eventCount(tenant, "AND id IN ('kept-1', 'kept-2', 'beat-new')")).toBe(3)
    const { results: tombs } = await (await tenantD1(tenant))
      .prepare(
        'SELECT seq, retention, leaf, hash, prev_hash, dt FROM tombstones WHERE tenant = ? ORDER BY seq',
      )
      .bind(tenant)
      .all<{ seq: number; retention: string; leaf: string; hash: string; prev_hash: string; dt: string }>()
    expect(tombs).toHaveLength(3)
    expect(tombs.every((t) => t.retention === 'transient' && t.dt === dt)).toBe(true)
    const t1 = tombs.find((t) => t.seq === beat1Proof.event.seq)!
    expect(t1).toMatchObject({
      leaf: beat1Proof.event.leaf_hash,
      hash: beat1Proof.event.hash,
      prev_hash: beat1Proof.event.prev_hash,
    })

    // R2: the class's object is gone, replaced by its tombstones in the same partition.
    const after = (await env.ARCHIVE.list({ prefix: partitionPrefix(tenant, dt) })).objects.map((o) => o.key)
    const expiredKey = before.find((k) => k.endsWith('.transient.ndjson.gz'))!
    expect(after).not.toContain(expiredKey)
    const tombKey = after.find((k) => k.includes('/tombstones-'))!
    expect(tombKey).toBe(expiredKey.replace(/\/(?=[^/]+$)/, '/tombstones-'))
    const lines = await gunzipLines(await (await env.ARCHIVE.get(tombKey))!.arrayBuffer())
    const parsed = lines.map(parseTombstoneLine)
    expect(parsed.map((t) => t?.seq)).toEqual(tombs.map((t) => t.seq))
    for (const l of lines) expect(l).not.toMatch(/heartbeat|u_1|jane/)

    // By id: 410 with the tombstone; the proof route answers the same.
    const gone = await expectProblem(await get(key, '/v1/events/beat-1'), 410, /expired/)
    expect((gone as unknown as { tombstone: object }).tombstone).toMatchObject({
      seq: beat1Proof.event.seq,
      retention: 'transient',
      leaf: beat1Proof.event.leaf_hash,
      hash: beat1Proof.event.hash,
      dt,
    })
    await expectProblem(await get(key, '/v1/events/beat-2/proof'), 410)
    // The fresh heartbeat is a day younger than its class: it stays.
    expect((await get(key, '/v1/events/beat-new')).status).toBe(200)

    // Search no longer shows the expired events.
    const search = (await (await get(key, '/v1/events?limit=100')).json()) as { data: { id: string }[] }
    expect(search.data.map((e) => e.id).sort()).toEqual(['beat-new', 'kept-1', 'kept-2'])

    // Every other event's proof is unchanged: the same leaf and hash, still verifying.
    for (const [id, was] of proofsBefore) {
      const p = (await (await get(key, `/v1/events/${id}/proof`)).json()) as {
        event: { leaf_hash: string; hash: string }
      }
      expect(await checkProof(p, keys)).toMatchObject({ ok: true })
      expect({ leaf: p.event.leaf_hash, hash: p.event.hash }).toEqual(was)
    }

    // The offline verifier passes over the archive with tombstones and counts them per class.
    await tick()
    const verdict = await verifyArchive(r2Source(tenant), keys)
    const mine = verdict.tenants.find((t) => t.tenant === tenant)!
    expect(mine.break).toBeUndefined()
    expect(mine.ok).toBe(true)
    expect(mine.expired).toEqual({ transient: 3 })
    expect(mine.checkpoints).toBeGreaterThan(0)

    // The integrity monitor expects the tombstones: no alarm for the tenant.
    const status = (await (await get(key, '/v1/integrity/status')).json()) as {
      status: string
      alarms: unknown[]
    }
    expect(status.alarms).toEqual([])
    expect(status.status).toBe('ok')

    // A tombstone edited in D1 is an alarm: the monitor checks each one against the stored leaves.
    const other = uniqueTenant('classes-edit')
    const o = await mintKey(other)
    expect((await post(o.key, heartbeat('e-1', old))).status).toBe(202)
    await waitForEvents(other, 1)
    await tick()
    expect((await get(o.key, '/v1/events/e-1')).status).toBe(410)
    await (await tenantD1(other))
      .prepare('UPDATE tombstones SET leaf = ? WHERE tenant = ?')
      .bind('a'.repeat(64), other)
      .run()
    await tick()
    const raised = (await (await get(o.key, '/v1/integrity/status')).json()) as {
      alarms: { kind: string; seq: number }[]
    }
    // The edited leaf is no longer the stored one, and no longer links to the tombstone's hash.
    expect(raised.alarms.map((a) => [a.kind, a.seq]).sort()).toEqual([
      ['body_mismatch', 1],
      ['leaf_mismatch', 1],
    ])

    // Re-posting an expired event's id is still a duplicate: nothing is stored again.
    const again = await post(key, {
      events: [
        heartbeat('beat-1', old),
        event({ id: 'marker', occurred_at: now, action: 'user.login', changes: undefined }),
      ],
    })
    expect(again.status).toBe(202)
    const deadline = Date.now() + 15_000
    while (
      !(await (
        await tenantD1(tenant)
      )
        .prepare("SELECT 1 AS x FROM event_ids WHERE tenant = ? AND id = 'marker'")
        .bind(tenant)
        .first())
    ) {
      if (Date.now() > deadline) throw new Error('the re-post was never delivered')
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(await eventCount(tenant, "AND id = 'beat-1'")).toBe(0)
    const ids = await (await tenantD1(tenant))
      .prepare("SELECT count(*) AS n FROM event_ids WHERE tenant = ? AND id = 'beat-1'")
      .bind(tenant)
      .first<{ n: number }>()
    expect(ids!.n).toBe(1)
    expect((await get(key, '/v1/events/beat-1')).status).toBe(410)
    expect(await eventCount(tenant, "AND action = 'service.heartbeat'")).toBe(1)
  })

  it('works in bounded, resumable steps: a few listing pages per run, carrying on where it stopped', async () => {
    const tenant = uniqueTenant('classes-walk')
    const { key } = await mintKey(tenant)
    const day = (n: number) => `${new Date(Date.now() - n * DAY).toISOString().slice(0, 10)}T08:00:00Z`
    const beats = [5, 4, 3].map((n, i) =>
      event({ id: `w-${i}`, occurred_at: day(n), action: 'service.heartbeat', changes: undefined }),
    )
    const young = event({
      id: 'w-young',
      occurred_at: `${new Date(Date.now() - 60_000).toISOString().slice(0, 19)}Z`,
      action: 'service.heartbeat',
      changes: undefined,
    })
    expect((await post(key, { events: [...beats, young] })).status).toBe(202)
    await waitForEvents(tenant, 4)
    const dbs = await tenantDbs(env)
    const mine = (r: { expired: { tenant: string }[] }) => r.expired.filter((x) => x.tenant === tenant).length
    let expired = 0
    let runs = 0
    for (;;) {
      const r = await expireRetentionClasses(dbs, env, { pageSize: 1, maxPages: 1 })
      expect(r.pages).toBe(1)
      expect(r.refused).toEqual([])
      expired += mine(r)
      runs++
      if (r.sweep_finished) break
      expect(runs).toBeLessThan(50)
    }
    expect(expired).toBe(3)
    expect(runs).toBeGreaterThan(3)
    expect(await eventCount(tenant)).toBe(1)
    // Nothing is left to expire: a further sweep finds nothing of the tenant.
    for (let i = 0; i < 50; i++) {
      const r = await expireRetentionClasses(dbs, env, { pageSize: 1000 })
      expect(mine(r)).toBe(0)
      if (r.sweep_finished) break
    }
  })

  it('leaves a day alone while one of its archive segments is still pending, and expires it once written', async () => {
    const tenant = uniqueTenant('classes-pending')
    const { key } = await mintKey(tenant)
    const old = `${new Date(Date.now() - 3 * DAY).toISOString().slice(0, 19)}Z`
    const dt = old.slice(0, 10)
    const beat = event({ id: 'p-1', occurred_at: old, action: 'service.heartbeat', changes: undefined })
    expect((await post(key, beat)).status).toBe(202)
    await waitForEvents(tenant, 1)
    // As if the consumer had written a second object of the day and not yet marked its segment.
    await (await tenantD1(tenant))
      .prepare(
        `INSERT INTO archive_segments (tenant, dt, first_seq, last_seq, object_key, event_count, status, created_at)
       VALUES (?, ?, 1000, 1000, 'pending-object', 1, 'pending', ?)`,
      )
      .bind(tenant, dt, new Date().toISOString())
      .run()
    const held = await expireRetentionClasses(await tenantDbs(env), env)
    expect(held.refused.filter((r) => r.key.includes(encodeURIComponent(tenant)))).toEqual([
      expect.objectContaining({ error: expect.stringMatching(/pending/) }),
    ])
    expect(await eventCount(tenant)).toBe(1)
    expect((await get(key, '/v1/events/p-1')).status).toBe(200)
    await (await tenantD1(tenant))
      .prepare("DELETE FROM archive_segments WHERE tenant = ? AND object_key = 'pending-object'")
      .bind(tenant)
      .run()
    // The walk carries on from its cursor: run it until it has come round to the day again.
    for (let i = 0; i < 5 && (await eventCount(tenant)) > 0; i++)
      await expireRetentionClasses(await tenantDbs(env), env)
    expect(await eventCount(tenant)).toBe(0)
    expect((await get(key, '/v1/events/p-1')).status).toBe(410)
  })

  it('refuses to expire an object holding an event of another class, and keeps it', async () => {
    const tenant = uniqueTenant('classes-mixed')
    const { key } = await mintKey(tenant)
    const old = `${new Date(Date.now() - 3 * DAY).toISOString().slice(0, 19)}Z`
    const dt = old.slice(0, 10)
    expect(
      (
        await post(
          key,
          event({ id: 'x-1', occurred_at: old, action: 'service.heartbeat', changes: undefined }),
        )
      ).status,
    ).toBe(202)
    await waitForEvents(tenant, 1)
    // Rewrite the object so that it claims the one-day class but holds a seven-year event.
    const [obj] = (await env.ARCHIVE.list({ prefix: partitionPrefix(tenant, dt) })).objects
    const body = await env.ARCHIVE.get(obj!.key)
    const lines = await gunzipLines(await body!.arrayBuffer())
    const edited = lines.map((l) => l.replace('"retention":"transient"', '"retention":"access"'))
    const gz = new Response(
      new Blob([`${edited.join('\n')}\n`]).stream().pipeThrough(new CompressionStream('gzip')),
    )
    await env.ARCHIVE.put(obj!.key, await gz.arrayBuffer())
    await tick()
    expect((await env.ARCHIVE.head(obj!.key)) !== null).toBe(true)
    expect(await eventCount(tenant)).toBe(1)
    const n = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n FROM tombstones WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number }>()
    expect(n!.n).toBe(0)
  })
})

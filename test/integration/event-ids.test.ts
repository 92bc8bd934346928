// The id lookup (event_ids): idempotency and receipts at any age, and id conflicts, through the
// real Worker, queue, D1 and R2.
import { createExecutionContext, createMessageBatch, env, getQueueResult, SELF } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { compactPartition } from '../../core/archive/compaction'
import { EVENT_IDS_BACKFILL_STATE_KEY } from '../../core/archive/layout'
import { gunzipLines, gzipLines, listAll } from '../../core/archive/r2'
import { database } from '../../core/db/client'
import { findExistingIds } from '../../core/db/events'
import { unrecordedConflicts } from '../../core/db/id-conflicts'
import { forEachShard, tenantDbs } from '../../core/db/shards'
import type { Env } from '../../core/env'
import { contentHash } from '../../core/ingest/content-hash'
import type { ValidEvent } from '../../core/ingest/event-schema'
import { packMessages } from '../../core/ingest/queue-message'
import { type PendingEvent, type StoredEvent, toPendingEvent } from '../../core/ingest/stored-event'
import type { PublicKeyDocument } from '../../core/integrity/checkpoint'
import { privacyContext } from '../../core/privacy/context'
import { protectEvents } from '../../core/privacy/protect'
import { readEventById } from '../../core/search/event-by-id'
import { backfillEventIds } from '../../cron/event-ids-backfill'
import { enforceRetention } from '../../cron/retention'
import worker from '../../index'
import { checkProof } from '../../verifier/check-proof'
import {
  archivedLines,
  BASE,
  event,
  expectProblem,
  mintKey,
  post,
  tenantD1,
  tenantDbOf,
  tick,
  uniqueTenant,
} from './helpers'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Releases from D1 every archived day before February 2026, of every tenant, on every shard. */
async function releaseOldDays() {
  const runs = await forEachShard(env, ({ db }, owns) =>
    enforceRetention(db, env, '2026-02-01T00:00:00.000Z', 10_000, owns),
  )
  expect(runs.flatMap((r) => r.result.held)).toEqual([])
}

/** A count on the tenant's shard; the tenant is the statement's first parameter. */
async function count(sql: string, tenant: string, ...params: unknown[]) {
  const row = await (await tenantD1(tenant))
    .prepare(sql)
    .bind(tenant, ...params)
    .first<{ n: number }>()
  return row?.n ?? 0
}

const hotRows = (tenant: string) => count('SELECT count(*) AS n FROM events WHERE tenant = ?', tenant)
/** Stored ids of the tenant, but for the service's own events (reads, conflicts: audit_log.*). */
const storedIds = (tenant: string) =>
  count(
    "SELECT count(*) AS n FROM event_ids WHERE tenant = ? AND id NOT LIKE 'idc-%' AND id NOT GLOB '*-*-*-*-*'",
    tenant,
  )
const conflictRows = (tenant: string, id: string) =>
  count('SELECT count(*) AS n FROM id_conflicts WHERE tenant = ? AND id = ?', tenant, id)

async function waitFor(what: string, test: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Until the tenant has stored `ids` and every archive segment of it is written. */
async function settled(tenant: string, ids: string[]) {
  await waitFor(`${ids.join(',')} stored and archived`, async () => {
    const found = await findExistingIds(await tenantDbOf(tenant), tenant, ids)
    const pending = await count(
      "SELECT count(*) AS n FROM archive_segments WHERE tenant = ? AND status = 'pending'",
      tenant,
    )
    return found.size === ids.length && pending === 0
  })
}

const get = (key: string, path: string) =>
  SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })

type ApiEvent = Record<string, unknown> & {
  id: string
  seq: number
  action: string
  target: { id: string }
  conflicts?: { count: number; last_at: string }
}

async function byId(key: string, id: string) {
  const res = await get(key, `/v1/events/${id}`)
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as ApiEvent
}

/** One receipt time for the events a test builds, so that one message can carry them. */
const RECEIVED_AT = new Date().toISOString()

function pending(tenant: string, e: Record<string, unknown>, requestId = 'r-1'): PendingEvent {
  return toPendingEvent(
    { ...(event() as unknown as ValidEvent), outcome: { status: 'success' }, ...e } as ValidEvent,
    tenant,
    RECEIVED_AT,
    { key_id: 'k-test', request_id: requestId },
  )
}

let msgCounter = 0
async function deliver(e: Env, bodies: string[], attempts = 1) {
  const batch = createMessageBatch(
    'audit-events',
    bodies.map((body) => ({ id: `ids-${++msgCounter}`, timestamp: new Date(), attempts, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch as MessageBatch<unknown>, e)
  return getQueueResult(batch, ctx)
}

const messageOf = (tenant: string, events: PendingEvent[]) => {
  const [m, ...more] = packMessages(tenant, events)
  expect(more).toEqual([])
  return m!.text
}

async function conflictEvents(key: string, id: string) {
  const res = await get(key, '/v1/events?action=audit_log.id_conflict')
  expect(res.status).toBe(200)
  const { data } = (await res.json()) as { data: (ApiEvent & { metadata: Record<string, unknown> })[] }
  return data.filter((e) => e.metadata.event_id === id)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('idempotency at any age', () => {
  it('stores an old id posted again after retention released its day once, in the chain and the archive', async () => {
    const tenant = uniqueTenant('old-id')
    const { key } = await mintKey(tenant)
    const a = event({ id: 'old-1', occurred_at: '2026-01-03T10:00:00Z' })
    const b = event({ id: 'old-2', occurred_at: '2026-01-03T11:00:00Z', target: { type: 'doc', id: 'd-2' } })
    expect((await post(key, { events: [a, b] })).status).toBe(202)
    await settled(tenant, ['old-1', 'old-2'])
    // Read without the API here: a read through it records an audit_log.read event in the chain.
    const before = (await readEventById(await tenantDbOf(tenant), env.ARCHIVE, tenant, 'old-1')).event

    await releaseOldDays()
    expect(await hotRows(tenant)).toBe(0)
    expect(await storedIds(tenant)).toBe(2)

    // A client backfill retried: the same ids again, with one new event in the same request (so
    // that when it is stored, the retried copies have been through the consumer too).
    const c = event({ id: 'old-3', occurred_at: '2026-01-03T12:00:00Z' })
    expect((await post(key, { events: [a, b, c] })).status).toBe(202)
    await settled(tenant, ['old-1', 'old-2', 'old-3'])
    // A dead letter replayed: the first post's message straight to the consumer (its personal
    // data fields protected as the edge protected them: sealing is deterministic).
    const [replayed] = await protectEvents(privacyContext(env, tenant), tenant, [
      pending(tenant, { ...a, occurred_at: '2026-01-03T10:00:00.000Z' }, 'r-old'),
    ])
    const replay = await deliver(env, [messageOf(tenant, [replayed!])])
    expect(replay.explicitAcks).toHaveLength(1)

    expect(await storedIds(tenant)).toBe(3)
    const head = await (await tenantD1(tenant))
      .prepare('SELECT seq FROM chain_heads WHERE tenant = ?')
      .bind(tenant)
      .first<{ seq: number }>()
    expect(head?.seq).toBe(3)
    const { lines } = await archivedLines(tenant)
    expect(lines.map((l) => l.id).sort()).toEqual(['old-1', 'old-2', 'old-3'])
    expect(lines.map((l) => l.seq).sort()).toEqual([1, 2, 3])
    // Identical retries are not conflicts.
    expect(await conflictRows(tenant, 'old-1')).toBe(0)
    const after = await readEventById(await tenantDbOf(tenant), env.ARCHIVE, tenant, 'old-1')
    expect(after.from).toBe('archive')
    expect(after.event).toEqual(before)
  })
})

describe('the lookup backfilled from the archive', () => {
  it('adds the ids of days released before event_ids existed, keeping the first stored copy of an id', async () => {
    const tenant = uniqueTenant('backfill')
    const one = pending(tenant, { id: 'bf-1', occurred_at: '2026-01-08T01:00:00.000Z' }, 'req-1')
    const two = pending(tenant, { id: 'bf-2', occurred_at: '2026-01-08T02:00:00.000Z' }, 'req-1')
    await deliver(env, [messageOf(tenant, [one, two])])
    await releaseOldDays()
    // As before migrations/0003: the released day's ids are only in the archive, and a copy of one
    // of them posted then was stored a second time.
    await (await tenantD1(tenant)).prepare('DELETE FROM event_ids WHERE tenant = ?').bind(tenant).run()
    await deliver(env, [
      messageOf(tenant, [pending(tenant, { id: 'bf-1', occurred_at: one.occurred_at }, 'req-2')]),
    ])
    expect((await findExistingIds(await tenantDbOf(tenant), tenant, ['bf-1'])).get('bf-1')?.seq).toBe(3)

    await env.ARCHIVE.delete(EVENT_IDS_BACKFILL_STATE_KEY)
    let done = false
    for (let i = 0; i < 200 && !done; i++)
      done = (await backfillEventIds(await tenantDbs(env), env.ARCHIVE, { maxObjects: 25 })).done
    expect(done).toBe(true)
    const ids = await findExistingIds(await tenantDbOf(tenant), tenant, ['bf-1', 'bf-2'])
    expect(Object.fromEntries(ids)).toEqual({
      'bf-1': { seq: 1, occurredAt: one.occurred_at, contentHash: contentHash(one) },
      'bf-2': { seq: 2, occurredAt: two.occurred_at, contentHash: contentHash(two) },
    })
    const read = await readEventById(await tenantDbOf(tenant), env.ARCHIVE, tenant, 'bf-1')
    expect([read.from, read.event.seq]).toEqual(['archive', 1])
    // Recognised now: posted again, not stored again.
    await deliver(env, [
      messageOf(tenant, [pending(tenant, { id: 'bf-2', occurred_at: two.occurred_at }, 'req-3')]),
    ])
    const head = await (await tenantD1(tenant))
      .prepare('SELECT seq FROM chain_heads WHERE tenant = ?')
      .bind(tenant)
      .first<{ seq: number }>()
    expect(head?.seq).toBe(3)
    // Finished for good: the next run reads nothing.
    expect(await backfillEventIds(await tenantDbs(env), env.ARCHIVE)).toMatchObject({
      done: true,
      objects: 0,
    })
  })
})

describe('receipts at any age', () => {
  it('serves an event and its proof from the archive once its day left D1, also after compaction', async () => {
    const tenant = uniqueTenant('receipt')
    const { key } = await mintKey(tenant)
    // Content whose canonical form is not the input's text: escapes, non-ASCII, numbers.
    const tricky = event({
      id: 'rc-1',
      occurred_at: '2026-01-04T09:00:00+01:00',
      description: 'é ✓ 𝄞 "quoted" \\ back\nline\ttab \u2028 \u0007',
      metadata: { small: 1.5e-7, big: 123456789012345, neg: -0, int: 10, flag: true, none: null },
      changes: [{ field: 'x', before: { b: 1, a: [1.0, 'ü'] }, after: 2.5 }],
    })
    const other = event({ id: 'rc-2', occurred_at: '2026-01-04T10:00:00Z' })
    const posted = await post(key, { events: [tricky, other] })
    expect(posted.status, await posted.clone().text()).toBe(202)
    await settled(tenant, ['rc-1', 'rc-2'])
    // A second archive object for the same day, so compaction has files to merge.
    expect((await post(key, event({ id: 'rc-3', occurred_at: '2026-01-04T11:00:00Z' }))).status).toBe(202)
    await settled(tenant, ['rc-1', 'rc-2', 'rc-3'])
    const hot = await byId(key, 'rc-1')
    const hotRead = await readEventById(await tenantDbOf(tenant), env.ARCHIVE, tenant, 'rc-1')
    expect(hotRead.from).toBe('d1')

    await releaseOldDays()
    expect(await hotRows(tenant)).toBe(0)
    const cold = await readEventById(await tenantDbOf(tenant), env.ARCHIVE, tenant, 'rc-1')
    expect(cold.from).toBe('archive')
    expect(cold.line).toBe(hotRead.line)
    expect(await byId(key, 'rc-1')).toEqual(hot)
    expect((await byId(key, 'rc-3')).seq).toBe(3)

    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    const proofOf = async (id: string) => {
      const res = await get(key, `/v1/events/${id}/proof`)
      expect(res.status, await res.clone().text()).toBe(200)
      return (await res.json()) as { record: StoredEvent }
    }
    // The closed day compacted into one part (a manifest hides the two files it replaces), and a
    // scheduled tick signs a checkpoint.
    const manifest = await compactPartition(env.ARCHIVE, tenant, '2026-01-04')
    expect(manifest?.files.map((f) => [f.first_seq, f.last_seq])).toEqual([[1, 3]])
    await tick()
    for (const id of ['rc-1', 'rc-2', 'rc-3']) {
      const proof = await proofOf(id)
      expect(proof.record.id).toBe(id)
      expect(await checkProof(proof, keys)).toMatchObject({ ok: true, id, tenant })
    }
    expect(await byId(key, 'rc-1')).toEqual(hot)
    await expectProblem(await get(key, '/v1/events/rc-404'), 404)
    await expectProblem(await get(key, '/v1/events/rc-404/proof'), 404)
  })

  it('never serves an archived or hot line that fails its hash: integrity_violation', async () => {
    const tenant = uniqueTenant('tamper')
    const { key } = await mintKey(tenant)
    const old = [1, 2, 3].map((i) => event({ id: `tp-${i}`, occurred_at: `2026-01-05T0${i}:00:00Z` }))
    const recent = event({ id: 'tp-hot', occurred_at: '2026-11-30T10:00:00Z' })
    expect((await post(key, { events: [...old, recent] })).status).toBe(202)
    await settled(tenant, ['tp-1', 'tp-2', 'tp-3', 'tp-hot'])
    await releaseOldDays()
    await tick()

    // Rewrite one archived line's content, keeping its hashes.
    const [objectKey, ...more] = (await listAll(env.ARCHIVE, `events/tenant=${tenant}/dt=2026-01-05/`)).map(
      (o) => o.key,
    )
    expect(more).toEqual([])
    const obj = await env.ARCHIVE.get(objectKey!)
    const lines = await gunzipLines(await obj!.arrayBuffer())
    const i = lines.findIndex((l) => l.includes('"id":"tp-2"'))
    lines[i] = lines[i]!.replace('"action":"user.role.updated"', '"action":"user.role.removed"')
    await env.ARCHIVE.put(objectKey!, await gzipLines(lines))

    for (const path of ['/v1/events/tp-2', '/v1/events/tp-2/proof']) {
      const p = (await expectProblem(await get(key, path), 500, /integrity check/)) as unknown as {
        type: string
        event_id: string
        seq: number
      }
      expect(p).toMatchObject({ type: 'urn:audit-log:problem:integrity_violation', event_id: 'tp-2', seq: 2 })
    }
    // Its neighbours in the same object are fine.
    expect((await byId(key, 'tp-1')).seq).toBe(1)
    expect((await byId(key, 'tp-3')).seq).toBe(3)

    // A line removed from the archive is not "not found": the lookup knows it was stored.
    await env.ARCHIVE.put(objectKey!, await gzipLines(lines.filter((_, j) => j !== 0)))
    const gone = (await expectProblem(await get(key, '/v1/events/tp-1'), 500)) as unknown as { type: string }
    expect(gone.type).toBe('urn:audit-log:problem:integrity_violation')

    // A hot row whose body was rewritten.
    expect((await byId(key, 'tp-hot')).seq).toBe(4)
    await (await tenantD1(tenant))
      .prepare(
        `UPDATE events SET content = replace(content, '"action":"user.role.updated"', '"action":"user.role.removed"') WHERE tenant = ? AND id = 'tp-hot'`,
      )
      .bind(tenant)
      .run()
    await expectProblem(await get(key, '/v1/events/tp-hot'), 500, /integrity check/)
  })
})

describe('id conflicts: the first stored copy wins, and a differing copy is never silent', () => {
  it('across requests: a copy with other content is recorded and reported; an identical retry is not', async () => {
    const tenant = uniqueTenant('conflict')
    const { key } = await mintKey(tenant)
    const first = event({ id: 'cf-1', target: { type: 'doc', id: 'first' } })
    expect((await post(key, first)).status).toBe(202)
    await settled(tenant, ['cf-1'])
    expect((await byId(key, 'cf-1')).conflicts).toBeUndefined()

    const t0 = new Date().toISOString()
    const second = event({ id: 'cf-1', target: { type: 'doc', id: 'second' } })
    expect((await post(key, second)).status).toBe(202)
    await waitFor('the conflict event', async () => (await conflictEvents(key, 'cf-1')).length === 1)
    const got = await byId(key, 'cf-1')
    expect(got.target.id).toBe('first')
    expect(got.seq).toBe(1)
    expect(got.conflicts).toEqual({ count: 1, last_at: expect.any(String) })
    expect(got.conflicts!.last_at >= t0).toBe(true)
    const [ev] = await conflictEvents(key, 'cf-1')
    expect(ev).toMatchObject({
      action: 'audit_log.id_conflict',
      source: 'audit-log',
      target: { type: 'audit_event', id: 'cf-1' },
      outcome: { status: 'failure', code: 'id_conflict' },
      occurred_at: got.conflicts!.last_at,
      metadata: { event_id: 'cf-1', seq: 1 },
    })
    expect(ev!.metadata.stored_content_hash).not.toBe(ev!.metadata.posted_content_hash)
    // Hidden from plain searches like every service event.
    const plain = (await (await get(key, '/v1/events')).json()) as { data: ApiEvent[] }
    expect(plain.data.map((e) => e.id)).toEqual(['cf-1'])

    // An identical retry of the stored copy, with a new event to know when it went through.
    expect((await post(key, { events: [first, event({ id: 'cf-2' })] })).status).toBe(202)
    await settled(tenant, ['cf-2'])
    await sleep(1500)
    expect(await conflictRows(tenant, 'cf-1')).toBe(1)
    expect(await conflictEvents(key, 'cf-1')).toHaveLength(1)
    expect((await byId(key, 'cf-1')).conflicts?.count).toBe(1)
    expect((await byId(key, 'cf-2')).conflicts).toBeUndefined()
  })

  it('within one request: the same id twice is a 400 naming both indexes, and nothing is accepted', async () => {
    const tenant = uniqueTenant('dup-req')
    const { key } = await mintKey(tenant)
    const res = await post(key, {
      events: [
        event({ id: 'x' }),
        event({ id: 'y' }),
        event({ id: 'x', target: { type: 'doc', id: 'other' } }),
        event(),
        event({ id: 'y' }),
      ],
    })
    const p = await expectProblem(res, 400)
    expect(p.errors).toEqual([
      { path: 'events[2].id', message: 'duplicates events[0].id' },
      { path: 'events[4].id', message: 'duplicates events[1].id' },
    ])
    expect((await post(key, event({ id: 'after' }))).status).toBe(202)
    await settled(tenant, ['after'])
    expect(await storedIds(tenant)).toBe(1)
  })

  it('within one consumer batch: the first copy wins, the other is a conflict, recorded once however redelivered', async () => {
    const tenant = uniqueTenant('dup-batch')
    const { key } = await mintKey(tenant, ['events:read'])
    const a = pending(tenant, { id: 'b-1', target: { type: 'doc', id: 'a' } }, 'req-a')
    const b = pending(tenant, { id: 'b-1', target: { type: 'doc', id: 'b' } }, 'req-b')
    const same = pending(tenant, { id: 'b-1', target: { type: 'doc', id: 'a' } }, 'req-d')
    // One message carrying two copies of one id too (an old message version or a replay can).
    const c1 = pending(tenant, { id: 'b-2', target: { type: 'doc', id: 'c1' } }, 'req-d')
    const c2 = pending(tenant, { id: 'b-2', target: { type: 'doc', id: 'c2' } }, 'req-d')
    const bodies = [messageOf(tenant, [a]), messageOf(tenant, [b]), messageOf(tenant, [same, c1, c2])]
    const r = await deliver(env, bodies)
    expect(r.explicitAcks).toHaveLength(3)
    expect((await byId(key, 'b-1')).target.id).toBe('a')
    expect((await byId(key, 'b-2')).target.id).toBe('c1')
    expect(await storedIds(tenant)).toBe(2)
    const rows = (
      await (
        await tenantD1(tenant)
      )
        .prepare(
          'SELECT id, request_id, content_hash FROM id_conflicts WHERE tenant = ? ORDER BY id, request_id',
        )
        .bind(tenant)
        .all<{ id: string; request_id: string; content_hash: string }>()
    ).results
    expect(rows).toEqual([
      { id: 'b-1', request_id: 'req-b', content_hash: contentHash(b) },
      { id: 'b-2', request_id: 'req-d', content_hash: contentHash(c2) },
    ])
    await waitFor('two conflict events', async () => {
      const n = (await conflictEvents(key, 'b-1')).length + (await conflictEvents(key, 'b-2')).length
      return n === 2
    })

    // Redelivered (a lost ack): nothing new, no second conflict event, no conflict about a conflict.
    const again = await deliver(env, bodies, 2)
    expect(again.explicitAcks).toHaveLength(3)
    await sleep(1500)
    expect(await conflictRows(tenant, 'b-1')).toBe(1)
    expect(await conflictEvents(key, 'b-1')).toHaveLength(1)
    expect(await conflictEvents(key, 'b-2')).toHaveLength(1)
    expect(
      await count("SELECT count(*) AS n FROM id_conflicts WHERE tenant = ? AND id LIKE 'idc-%'", tenant),
    ).toBe(0)
    expect(await storedIds(tenant)).toBe(2)
    expect(
      await count("SELECT count(*) AS n FROM event_ids WHERE tenant = ? AND id LIKE 'idc-%'", tenant),
    ).toBe(2)
  })

  it('a copy of an old event whose content hash was backfilled as unknown is compared with the archived copy', async () => {
    const tenant = uniqueTenant('legacy')
    const { key } = await mintKey(tenant, ['events:read'])
    const original = pending(tenant, { id: 'lg-1', occurred_at: '2026-01-06T10:00:00.000Z' }, 'req-1')
    expect((await deliver(env, [messageOf(tenant, [original])])).explicitAcks).toHaveLength(1)
    // As migrations/0003 backfills rows of events already stored.
    await (await tenantD1(tenant))
      .prepare('UPDATE event_ids SET content_hash = NULL WHERE tenant = ?')
      .bind(tenant)
      .run()
    await releaseOldDays()
    expect(await hotRows(tenant)).toBe(0)

    const retry = pending(tenant, { id: 'lg-1', occurred_at: '2026-01-06T10:00:00.000Z' }, 'req-2')
    expect((await deliver(env, [messageOf(tenant, [retry])])).explicitAcks).toHaveLength(1)
    expect(await conflictRows(tenant, 'lg-1')).toBe(0)
    const row = await (await tenantD1(tenant))
      .prepare('SELECT content_hash FROM event_ids WHERE tenant = ? AND id = ?')
      .bind(tenant, 'lg-1')
      .first<{ content_hash: string }>()
    expect(row?.content_hash).toBe(contentHash(original))

    const changed = pending(tenant, { id: 'lg-1', action: 'user.role.removed' }, 'req-3')
    expect((await deliver(env, [messageOf(tenant, [changed])])).explicitAcks).toHaveLength(1)
    expect(await conflictRows(tenant, 'lg-1')).toBe(1)
    expect((await byId(key, 'lg-1')).conflicts?.count).toBe(1)
  })
})

describe('cost and plans', () => {
  it('writes at most 5.5 D1 rows per stored event (measured from D1 meta.rows_written)', async () => {
    const tenant = uniqueTenant('rows')
    const logs: string[] = []
    const log = console.log
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(' '))
      log(...args)
    })
    // The bench's events (bench/lib/worker-server.ts sampleEvent): actor, target, a correlation
    // id, no parent, success. Ten runs of 100, then 50 single-event messages in one batch.
    const sample = (i: number) =>
      pending(tenant, {
        id: `rw-${i}`,
        occurred_at: new Date(Date.now() - 60_000).toISOString(),
        actor: { type: 'user', id: `u_${i % 500}`, email: `user${i % 500}@example.com` },
        target: { type: 'user', id: `u_${(i * 7) % 1000}` },
        changes: [{ field: 'role', before: 'viewer', after: 'admin' }],
        context: { ip: '203.0.113.7', user_agent: 'bench/1.0', correlation_id: `c-${i % 100}` },
      })
    let n = 0
    for (let run = 0; run < 10; run++) {
      const events = Array.from({ length: 100 }, () => sample(n++))
      await deliver(env, [messageOf(tenant, events)])
    }
    await deliver(
      env,
      Array.from({ length: 50 }, () => messageOf(tenant, [sample(n++)])),
    )
    let events = 0
    let rows = 0
    for (const l of logs) {
      const m = /\{"msg":"events stored".*\}/.exec(l)
      if (!m) continue
      const o = JSON.parse(m[0]) as { tenant: string; events: number; rows_written: number }
      if (o.tenant !== tenant) continue
      events += o.events
      rows += o.rows_written
    }
    expect(events).toBe(n)
    const perEvent = rows / events
    console.info(JSON.stringify({ msg: 'rows written per stored event', events, rows, per_event: perEvent }))
    // events row + actor + target + correlation indexes + event_ids row = 5, plus each run's
    // chain head, chain guard, archive segment (insert, mark written) and chain_leaves row.
    expect(perEvent).toBeLessThanOrEqual(5.5)
    expect(perEvent).toBeGreaterThanOrEqual(5)
  })

  it('finds ids, locates events, records conflicts and releases days by primary keys only', async () => {
    const tenant = uniqueTenant('plans')
    await deliver(env, [
      messageOf(tenant, [pending(tenant, { id: 'pl-1', occurred_at: '2026-01-07T00:00:00Z' })]),
    ])
    const seen: { sql: string; params: unknown[] }[] = []
    const shard = await tenantD1(tenant)
    const recording = new Proxy(shard, {
      get(target, p) {
        if (p === 'prepare')
          return (query: string) => {
            const entry = { sql: query, params: [] as unknown[] }
            seen.push(entry)
            const stmt = target.prepare(query)
            return new Proxy(stmt, {
              get(s, q) {
                if (q === 'bind')
                  return (...args: unknown[]) => {
                    entry.params = args
                    return s.bind(...args)
                  }
                const v = Reflect.get(s, q)
                return typeof v === 'function' ? v.bind(s) : v
              },
            })
          }
        const v = Reflect.get(target, p)
        return typeof v === 'function' ? v.bind(target) : v
      },
    }) as D1Database
    const db = database(recording)
    await findExistingIds(db, tenant, ['pl-1', 'pl-2'])
    await readEventById(db, env.ARCHIVE, tenant, 'pl-1')
    await unrecordedConflicts(db, tenant, [
      { tenant, id: 'pl-1', requestId: 'r', contentHash: 'h', at: 'now' },
    ])
    await enforceRetention(db, env, '2026-01-08T00:00:00.000Z', 10_000)
    const queries = seen.filter((s) => /event_ids|id_conflicts|FROM events|DELETE FROM events/i.test(s.sql))
    expect(queries.length).toBeGreaterThanOrEqual(4)
    for (const q of queries) {
      const plan = await shard
        .prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>()
      const details = plan.results.map((r) => r.detail)
      expect(details.some((d) => /^SEARCH (events|event_ids|id_conflicts) /.test(d))).toBe(true)
      for (const d of details) {
        if (/json_each|LIST SUBQUERY|CORRELATED|SCALAR SUBQUERY|BLOOM FILTER/.test(d)) continue
        expect(d, `${q.sql}\n${details.join(' | ')}`).toMatch(/^SEARCH \S+ USING PRIMARY KEY \(tenant=\?/)
      }
      expect(details.join(' | ')).not.toMatch(/TEMP B-TREE/)
    }
  })
})

// Archive flushes by size and age (core/archive/segment-writer.ts): D1 takes every batch at once,
// R2 gets one object per tenant-day when the pending lines reach the size or the oldest the age;
// a crash between the D1 commit and the R2 write loses nothing and doubles nothing.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { flushArchive, flushPolicy } from '../../core/archive/segment-writer'
import type { Env } from '../../core/env'
import type { ValidEvent } from '../../core/ingest/event-schema'
import { packMessages } from '../../core/ingest/queue-message'
import { type PendingEvent, toPendingEvent } from '../../core/ingest/stored-event'
import worker from '../../index'
import { archivedLines, event, tenantD1, tenantDbOf, uniqueTenant } from './helpers'

function pendingEvents(tenant: string, from: number, n: number): PendingEvent[] {
  const receivedAt = new Date().toISOString()
  return Array.from({ length: n }, (_, i) =>
    toPendingEvent(
      {
        ...(event() as unknown as ValidEvent),
        id: `f-${from + i}`,
        occurred_at: `2026-03-04T00:00:${String((from + i) % 60).padStart(2, '0')}.000Z`,
        outcome: { status: 'success' },
      },
      tenant,
      receivedAt,
      { key_id: 'k', request_id: `r-${from}` },
    ),
  )
}

let counter = 0
async function deliver(e: Env, bodies: unknown[]) {
  const batch = createMessageBatch(
    'audit-events',
    bodies.map((body) => ({ id: `fm-${++counter}`, timestamp: new Date(), attempts: 1, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch as MessageBatch<unknown>, e)
  return getQueueResult(batch, ctx)
}

const post = (e: Env, tenant: string, from: number, n: number) =>
  deliver(
    e,
    packMessages(tenant, pendingEvents(tenant, from, n)).map((m) => m.text),
  )

/** The env with a flush policy, and the queue's sends recorded instead of delivered. */
function withPolicy(bytes: number, seconds: number, fail?: { puts: number }) {
  const sent: { body: unknown; delay?: number }[] = []
  let failPuts = fail?.puts ?? 0
  const archive = new Proxy(env.ARCHIVE, {
    get(t, p) {
      if (p === 'put' && failPuts > 0)
        return async () => {
          failPuts--
          throw new Error('R2 unavailable (injected)')
        }
      const v = Reflect.get(t, p)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
  const queue = {
    send: async (body: unknown, o?: { delaySeconds?: number }) => {
      sent.push({ body, delay: o?.delaySeconds })
    },
    sendBatch: async (msgs: { body: unknown }[]) => {
      for (const m of msgs) sent.push({ body: m.body })
    },
  }
  const e = {
    ...env,
    ARCHIVE_FLUSH_BYTES: String(bytes),
    ARCHIVE_FLUSH_SECONDS: String(seconds),
    ARCHIVE: archive,
    EVENTS_QUEUE: queue,
  } as unknown as Env
  return { e, sent }
}

async function segments(tenant: string) {
  const { results } = await (await tenantD1(tenant))
    .prepare(
      'SELECT first_seq, last_seq, status, object_key, bytes FROM archive_segments WHERE tenant = ? ORDER BY first_seq',
    )
    .bind(tenant)
    .all<{ first_seq: number; last_seq: number; status: string; object_key: string; bytes: number }>()
  return results
}

async function searchable(tenant: string) {
  const row = await (await tenantD1(tenant))
    .prepare('SELECT count(*) AS n FROM events WHERE tenant = ?')
    .bind(tenant)
    .first<{ n: number }>()
  return row?.n ?? 0
}

describe('archive flushes by size and age', () => {
  it('keeps small batches in D1 and writes one object once their lines reach the size', async () => {
    const tenant = uniqueTenant('fsize')
    const { e, sent } = withPolicy(10 * 1024 * 1024, 3600)
    for (let b = 0; b < 6; b++) {
      const r = await post(e, tenant, b * 5, 5)
      expect(r.explicitAcks.length).toBeGreaterThan(0)
      expect(r.retryMessages).toEqual([])
    }
    // Searchable at once, held in the outbox with their bytes, not yet in R2.
    expect(await searchable(tenant)).toBe(30)
    const segs = await segments(tenant)
    expect(segs).toHaveLength(6)
    expect(segs.every((s) => s.status === 'pending' && s.bytes > 1000)).toBe(true)
    expect((await archivedLines(tenant)).keys).toEqual([])
    // One delayed flush message, sent when the first segment opened; none for later batches.
    const flushes = sent.filter((s) => String(s.body).includes('"kind":"flush"'))
    expect(flushes).toHaveLength(1)
    expect(flushes[0]!.delay).toBe(3602)
    // The size is reached (here: the next batch's lines bring the day past it): ONE object holds
    // every pending event of the day, named after its first and last seq.
    const total = segs.reduce((n, s) => n + s.bytes, 0)
    const { e: sized } = withPolicy(total + 1, 3600)
    await post(sized, tenant, 30, 5)
    const { lines, keys } = await archivedLines(tenant)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/\/0+1-0+35(\.[a-z]+)?\.ndjson\.gz$/)
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1))
    expect((await segments(tenant)).every((s) => s.status === 'written')).toBe(true)
  })

  it('writes a segment once it is as old as the age: by the delayed flush message, or the cron', async () => {
    const tenant = uniqueTenant('fage')
    const { e, sent } = withPolicy(64 * 1024 * 1024, 4)
    await post(e, tenant, 0, 3)
    expect(await searchable(tenant)).toBe(3)
    expect((await archivedLines(tenant)).keys).toEqual([])
    const flush = sent.find((s) => String(s.body).includes('"kind":"flush"'))!
    expect(flush.delay).toBe(6) // the age and a second and a half
    // Delivered before the age: nothing is due yet, nothing is written.
    expect((await deliver(e, [flush.body])).explicitAcks).toHaveLength(1)
    expect((await archivedLines(tenant)).keys).toEqual([])
    await new Promise((r) => setTimeout(r, 2600))
    const r = await deliver(e, [flush.body])
    expect(r.explicitAcks).toHaveLength(1)
    const { lines, keys } = await archivedLines(tenant)
    expect(keys).toHaveLength(1)
    expect(lines.map((l) => l.id)).toEqual(['f-0', 'f-1', 'f-2'])
    expect((await segments(tenant)).every((s) => s.status === 'written')).toBe(true)

    // The cron's safety net: a tenant whose flush message was lost.
    const other = uniqueTenant('fcron')
    await post(e, other, 0, 2)
    await new Promise((r) => setTimeout(r, 4100))
    const db = await tenantDbOf(other)
    const flushed = await flushArchive(db, env.ARCHIVE, other, flushPolicy(e))
    expect(flushed.objects).toBe(1)
    expect((await archivedLines(other)).lines).toHaveLength(2)
  })

  it('loses nothing and doubles nothing when R2 fails between the D1 commit and the write', async () => {
    const tenant = uniqueTenant('fcrash')
    // Due at once (age 0), but the object's write fails after the segments were closed.
    const { e } = withPolicy(1, 0, { puts: 1 })
    const r = await post(e, tenant, 0, 40)
    expect(r.retryMessages.length).toBeGreaterThan(0)
    expect(await searchable(tenant)).toBe(40)
    const closing = await segments(tenant)
    expect(closing.map((s) => s.status)).toEqual(closing.map(() => 'closing'))
    expect((await archivedLines(tenant)).keys).toEqual([])
    // More events arrive before the retry: they do not join the object being written.
    const { e: ok } = withPolicy(1, 0)
    await post(ok, tenant, 40, 10)
    const redelivered = await post(ok, tenant, 0, 40)
    expect(redelivered.retryMessages).toEqual([])
    const { lines, keys } = await archivedLines(tenant)
    expect(lines).toHaveLength(50)
    expect(new Set(lines.map((l) => l.id)).size).toBe(50)
    expect(keys).toHaveLength(2)
    expect(await searchable(tenant)).toBe(50)
    expect((await segments(tenant)).every((s) => s.status === 'written')).toBe(true)
  })

  it('refuses a flush policy out of range', () => {
    expect(() => flushPolicy({ ARCHIVE_FLUSH_BYTES: '0' })).toThrow(/ARCHIVE_FLUSH_BYTES/)
    expect(() => flushPolicy({ ARCHIVE_FLUSH_SECONDS: '-1' })).toThrow(/ARCHIVE_FLUSH_SECONDS/)
    expect(flushPolicy({})).toEqual({ maxBytes: 1024 * 1024, maxAgeMs: 60_000 })
  })
})

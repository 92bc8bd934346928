import { createExecutionContext, createMessageBatch, env, getQueueResult, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { tenantShard } from '../../core/db/shards'
import type { Env } from '../../core/env'
import { uuidv7 } from '../../core/ids'
import type { ValidEvent } from '../../core/ingest/event-schema'
import { packMessages } from '../../core/ingest/queue-message'
import { type PendingEvent, toPendingEvent } from '../../core/ingest/stored-event'
import worker from '../../index'
import {
  archivedLines,
  BASE,
  event,
  TEST_ADMIN_TOKEN,
  tenantD1,
  uniqueTenant,
  waitForEvents,
} from './helpers'

function pendingEvents(tenant: string, n: number, day = '2026-03-04'): PendingEvent[] {
  // One receipt time for the whole request, as at the edge: events received at different
  // milliseconds would go in separate queue messages.
  const receivedAt = new Date().toISOString()
  return Array.from({ length: n }, (_, i) =>
    toPendingEvent(
      {
        ...(event() as unknown as ValidEvent),
        id: `e-${i}`,
        occurred_at: `${day}T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
        outcome: { status: 'success' },
      },
      tenant,
      receivedAt,
      { key_id: 'k', request_id: 'r' },
    ),
  )
}

let msgCounter = 0
async function deliver(e: Env, queue: string, bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body) => ({ id: `m-${++msgCounter}`, timestamp: new Date(), attempts, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch as MessageBatch<unknown>, e)
  return getQueueResult(batch, ctx)
}

const messagesFor = (tenant: string, events: PendingEvent[]): string[] =>
  packMessages(tenant, events).map((m) => m.text)

/** `target` with `method` throwing `message` the first `n` times it is called. */
function failingFirst<T extends object>(target: T, method: string, n: number, message: string): T {
  let left = n
  return new Proxy(target, {
    get(t, p) {
      if (p === method && left > 0) {
        return async () => {
          left--
          throw new Error(message)
        }
      }
      const v = Reflect.get(t, p)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
}

/** env with R2 puts (or the D1 batch of the tenant's shard) failing the first `n` times. */
async function failing(what: 'r2' | 'd1', n: number, tenant: string): Promise<Env> {
  if (what === 'r2')
    return { ...env, ARCHIVE: failingFirst(env.ARCHIVE, 'put', n, 'R2 unavailable (injected)') }
  const { name, d1 } = await tenantShard(env, tenant)
  return { ...env, [name]: failingFirst(d1, 'batch', n, 'D1_ERROR: storage unavailable (injected)') }
}

async function d1Count(tenant: string) {
  const r = await (await tenantD1(tenant))
    .prepare('SELECT count(*) AS n, count(DISTINCT id) AS d, max(seq) AS m FROM events WHERE tenant = ?')
    .bind(tenant)
    .first<{ n: number; d: number; m: number }>()
  return r!
}

describe('queue consumer under failure', () => {
  it('retries when R2 fails after the D1 commit; the redelivery archives each event exactly once', async () => {
    const tenant = uniqueTenant('r2fail')
    const msgs = messagesFor(tenant, pendingEvents(tenant, 250))
    const first = await deliver(await failing('r2', 1, tenant), 'audit-events', msgs)
    expect(first.retryMessages.length).toBe(msgs.length)
    expect(first.explicitAcks).toEqual([])
    expect((await d1Count(tenant)).n).toBe(250)
    expect((await archivedLines(tenant)).lines).toHaveLength(0)

    const second = await deliver(env, 'audit-events', msgs, 2)
    expect(second.explicitAcks.length).toBe(msgs.length)
    expect(await d1Count(tenant)).toEqual({ n: 250, d: 250, m: 250 })
    const { lines } = await archivedLines(tenant)
    expect(lines).toHaveLength(250)
    expect(new Set(lines.map((l) => l.id)).size).toBe(250)
  })

  it('retries when the D1 transaction fails; nothing is half-written and the retry stores all', async () => {
    const tenant = uniqueTenant('d1fail')
    const msgs = messagesFor(tenant, pendingEvents(tenant, 120))
    const first = await deliver(await failing('d1', 1, tenant), 'audit-events', msgs)
    expect(first.retryMessages.length).toBe(msgs.length)
    expect((await d1Count(tenant)).n).toBe(0)
    const second = await deliver(env, 'audit-events', msgs, 2)
    expect(second.explicitAcks.length).toBe(msgs.length)
    expect(await d1Count(tenant)).toEqual({ n: 120, d: 120, m: 120 })
    expect((await archivedLines(tenant)).lines).toHaveLength(120)
  })

  it('acks a redelivered message whose events are already stored, adding nothing', async () => {
    const tenant = uniqueTenant('redeliver')
    const msgs = messagesFor(tenant, pendingEvents(tenant, 30))
    await deliver(env, 'audit-events', msgs)
    const again = await deliver(env, 'audit-events', msgs, 3)
    expect(again.explicitAcks.length).toBe(msgs.length)
    expect(await d1Count(tenant)).toEqual({ n: 30, d: 30, m: 30 })
    expect((await archivedLines(tenant)).lines).toHaveLength(30)
  })

  it('concurrent invocations for one tenant yield one gap-free chain with every event once', async () => {
    const tenant = uniqueTenant('concurrent')
    const all = pendingEvents(tenant, 200)
    // Eight overlapping deliveries of slices of the same events, all at once.
    const slices = Array.from({ length: 8 }, (_, i) => all.slice(i * 20, i * 20 + 60))
    const results = await Promise.all(slices.map((s) => deliver(env, 'audit-events', messagesFor(tenant, s))))
    for (const r of results) expect(r.retryMessages).toEqual([])
    const stored = await d1Count(tenant)
    expect(stored.n).toBe(200)
    expect(stored.d).toBe(200)
    expect(stored.m).toBe(200)
    const chain = (
      await (
        await tenantD1(tenant)
      )
        .prepare('SELECT seq, body FROM events WHERE tenant = ? ORDER BY seq')
        .bind(tenant)
        .all<{ seq: number; body: string }>()
    ).results.map((r) => JSON.parse(r.body) as { seq: number; hash: string; prev_hash: string })
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev_hash).toBe(chain[i - 1]!.hash)
    const { lines } = await archivedLines(tenant)
    expect(lines).toHaveLength(200)
    expect(new Set(lines.map((l) => l.seq)).size).toBe(200)
  })
})

describe('dead letters', () => {
  it('parks an invalid message with its reason, and hands a message that exhausted its attempts to the DLQ', async () => {
    const sent: unknown[] = []
    const dlq = {
      send: async (b: unknown) => void sent.push(b),
      sendBatch: async () => {},
    } as unknown as Queue<unknown>
    const bad = await deliver({ ...env, DEAD_LETTER_QUEUE: dlq }, 'audit-events', [{ v: 99, junk: true }])
    expect(bad.explicitAcks.length).toBe(1)
    expect(sent[0]).toMatchObject({ dead_letter: 1, reason: expect.stringMatching(/invalid queue message/) })

    const tenant = uniqueTenant('exhausted')
    const msgs = messagesFor(tenant, pendingEvents(tenant, 3))
    const last = await deliver(
      { ...(await failing('r2', 100, tenant)), DEAD_LETTER_QUEUE: dlq },
      'audit-events',
      msgs,
      5,
    )
    expect(last.explicitAcks.length).toBe(1)
    expect(sent[1]).toMatchObject({
      dead_letter: 1,
      attempts: 5,
      reason: expect.stringMatching(/R2 unavailable/),
    })
  })

  it('stores dead letters in R2 and replays them through the real queue without duplicates', async () => {
    const tenant = uniqueTenant('replay')
    const events = pendingEvents(tenant, 5)
    const letter = {
      dead_letter: 1,
      reason: 'R2 unavailable (injected)',
      attempts: 5,
      message_id: `dl-${uuidv7()}`,
      failed_at: new Date().toISOString(),
      body: messagesFor(tenant, events)[0],
    }
    const stored = await deliver(env, 'audit-events-dlq', [letter])
    expect(stored.explicitAcks.length).toBe(1)
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
    const list = (await (await SELF.fetch(`${BASE}/v1/admin/dead-letters`, { headers: admin })).json()) as {
      dead_letters: { key: string; reason: string; events: number }[]
    }
    const mine = list.dead_letters.find((d) => d.key.includes(letter.message_id))
    expect(mine).toMatchObject({ reason: 'R2 unavailable (injected)', events: 5 })

    // Two of the five were in fact stored before the failure: replay must not double them.
    await deliver(env, 'audit-events', messagesFor(tenant, events.slice(0, 2)))
    const replay = await SELF.fetch(`${BASE}/v1/admin/dead-letters/replay`, {
      method: 'POST',
      headers: admin,
    })
    expect(replay.status).toBe(200)
    expect(((await replay.json()) as { replayed: number }).replayed).toBeGreaterThanOrEqual(1)
    await waitForEvents(tenant, 5)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await d1Count(tenant)).toEqual({ n: 5, d: 5, m: 5 })
    expect((await archivedLines(tenant)).lines).toHaveLength(5)
    const after = (await (await SELF.fetch(`${BASE}/v1/admin/dead-letters`, { headers: admin })).json()) as {
      dead_letters: { key: string }[]
    }
    expect(after.dead_letters.some((d) => d.key.includes(letter.message_id))).toBe(false)
  })
})

describe('optimistic chain head', () => {
  it('lets only one of two writers that read the same head commit', async () => {
    const { database } = await import('../../core/db/client')
    const { commitEvents, getChainHead, isWriteConflict } = await import('../../core/db/events')
    const { appendToChain, GENESIS_HASH } = await import('../../core/integrity/chain')
    const tenant = uniqueTenant('race')
    const db = database(await tenantD1(tenant))
    const [a, b, c] = pendingEvents(tenant, 3)
    const genesis = { seq: 0, hash: GENESIS_HASH }
    const r1 = await appendToChain(genesis, [a!])
    await commitEvents(db, tenant, null, r1, [])
    const head = (await getChainHead(db, tenant))!
    const r2 = await appendToChain(head, [b!])
    await commitEvents(db, tenant, head, r2, [])
    const r3 = await appendToChain(head, [c!])
    const lost = await commitEvents(db, tenant, head, r3, []).catch((e: unknown) => e)
    expect(isWriteConflict(lost)).toBe(true)
    expect(await d1Count(tenant)).toEqual({ n: 2, d: 2, m: 2 })
    const r4 = await appendToChain(genesis, [c!])
    await expect(commitEvents(db, tenant, null, r4, [])).rejects.toThrow()
  })
})

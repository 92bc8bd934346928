// The events queue consumer. A message is acked only once every event it carries is in D1
// together with its archive segment in the outbox (the same transaction), which guarantees the R2
// object: the segment writer (core/archive/segment-writer.ts) writes a tenant's day by size or age,
// and a crash before it does leaves the segment pending for the next flush, the delayed flush
// message or the cron tick; any failure retries the message with backoff. Processing is
// idempotent: events already stored are skipped, so redeliveries and concurrent invocations
// never store or archive an event twice. An id is looked up in event_ids, which retention never
// deletes, so an old id posted again (a backfill retried, a dead letter replayed) is not stored
// again however old. The first stored copy of an id wins, within a batch too; a later copy with
// other content is recorded as a conflict (core/ingest/id-conflicts.ts), an identical one is not.

import {
  commitEvents,
  findExistingIds,
  getChainHead,
  isWriteConflict,
  type StoredId,
  setMissingContentHash,
} from '../core/db/events'
import { segmentsFor } from '../core/db/outbox'
import { shardCacheMs, tenantDb, tenantWriteDb } from '../core/db/shards'
import { sendToDeadLetter } from '../core/dead-letters'
import type { Env } from '../core/env'
import { DomainError } from '../core/errors'
import { contentHash } from '../core/ingest/content-hash'
import { ID_CONFLICT_ACTION, type IdConflict, recordIdConflicts } from '../core/ingest/id-conflicts'
import { decodeQueueMessage, type QueueMessageBody } from '../core/ingest/queue-message'
import type { PendingEvent, StoredEvent } from '../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../core/integrity/chain'
import { EVENTS_QUEUE_MAX_RETRIES } from '../core/limits'
import { readEventById } from '../core/search/event-by-id'
import { flushArchiveOf, flushMessageOf, runFlushMessage } from './archive-writer'

const MAX_COMMIT_RACES = 8
/** The stored content hash of an id whose event expired (retention class ended): unknown. */
const EXPIRED_CONTENT = 'expired'

export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 8))
}

type Copy = { e: PendingEvent; hash: string }

/**
 * Stores one tenant's events (skipping those already stored), archives them, then records the
 * conflicting copies. The first copy of each id in `events` is the one that may be stored.
 */
export async function ingestTenantEvents(env: Env, tenant: string, events: PendingEvent[]): Promise<number> {
  // The tenant's shard (pinned on its first event); `unavailable` while the tenant is being moved.
  const db = await tenantWriteDb(env, tenant)
  const copies: Copy[] = events.map((e) => ({ e, hash: contentHash(e) }))
  const firsts = new Map<string, Copy>()
  for (const c of copies) if (!firsts.has(c.e.id)) firsts.set(c.e.id, c)
  const unique = [...firsts.values()]
  let existing = new Map<string, StoredId>()
  const storedNow = new Map<string, number>()
  for (let race = 0; ; race++) {
    existing = await findExistingIds(
      db,
      tenant,
      unique.map((c) => c.e.id),
    )
    const fresh = unique.filter((c) => !existing.has(c.e.id))
    if (fresh.length === 0) {
      await flushArchiveOf(env, db, tenant)
      break
    }
    const head = await getChainHead(db, tenant)
    const chained = await appendToChain(
      head ?? { seq: 0, hash: GENESIS_HASH },
      fresh.map((c) => c.e),
    )
    const { stored } = chained
    const segments = segmentsFor(tenant, stored, chained.lines)
    try {
      const committed = await commitEvents(
        db,
        tenant,
        head,
        chained,
        segments,
        fresh.map((c) => c.hash),
      )
      const archived = await flushArchiveOf(env, db, tenant, segments[0]?.createdAt)
      // One line per committed run: D1 rows written is the main running cost to watch.
      console.log(
        JSON.stringify({
          msg: 'events stored',
          tenant,
          events: stored.length,
          rows_written: committed + archived.rowsWritten,
          objects: archived.objects,
        }),
      )
      for (const e of stored) storedNow.set(e.id, e.seq)
      break
    } catch (err) {
      if (!isWriteConflict(err) || race >= MAX_COMMIT_RACES) throw err
    }
  }
  const conflicts = await conflictsOf(env, tenant, copies, firsts, existing, storedNow)
  if (conflicts.length > 0) await recordIdConflicts(env.EVENTS_QUEUE, db, tenant, conflicts)
  return storedNow.size
}

/**
 * The copies that lost to a stored copy of their id with other content: a copy of an id stored
 * before, or a later copy in this batch of an id stored now. Identical copies are not conflicts.
 */
async function conflictsOf(
  env: Env,
  tenant: string,
  copies: Copy[],
  firsts: Map<string, Copy>,
  existing: Map<string, StoredId>,
  storedNow: Map<string, number>,
): Promise<IdConflict[]> {
  const out: IdConflict[] = []
  const backfilled = new Map<string, string>()
  for (const c of copies) {
    const { id } = c.e
    const before = existing.get(id)
    if (!before && firsts.get(id) === c) continue // the copy that was stored
    let stored = before ? before.contentHash : firsts.get(id)!.hash
    if (stored === c.hash) continue
    if (before && stored === null) {
      // A row backfilled without its content hash: hash the stored copy once, and keep it.
      stored = backfilled.get(id) ?? (await storedContentHash(env, tenant, id))
      backfilled.set(id, stored)
      if (stored === c.hash) continue
    }
    if (c.e.action === ID_CONFLICT_ACTION) {
      console.error(JSON.stringify({ msg: 'conflicting copy of a conflict event not recorded', tenant, id }))
      continue
    }
    out.push({
      id,
      seq: before?.seq ?? storedNow.get(id)!,
      storedHash: stored!,
      postedHash: c.hash,
      receivedAt: c.e.received_at,
      keyId: c.e.ingest.key_id,
      requestId: c.e.ingest.request_id,
    })
  }
  return out
}

async function storedContentHash(env: Env, tenant: string, id: string): Promise<string> {
  const db = await tenantDb(env, tenant)
  let event: StoredEvent
  try {
    ;({ event } = await readEventById(db, env.ARCHIVE, tenant, id))
  } catch (err) {
    // Its retention class ended: only the tombstone is left, so the copies cannot be compared and
    // the later one is recorded as a conflict (it is never stored either way).
    if (err instanceof DomainError && err.code === 'gone') return EXPIRED_CONTENT
    throw err
  }
  const hash = contentHash(event)
  await setMissingContentHash(db, tenant, id, hash)
  return hash
}

export async function handleEventBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const start = Date.now()
  const totals = { events: 0, stored: 0, retried: 0, dead: 0 }
  const byTenant = new Map<string, { msg: Message<unknown>; body: QueueMessageBody }[]>()
  for (const msg of batch.messages) {
    const flush = flushMessageOf(msg.body)
    if (flush) {
      // A tenant's archive flush that came due (sent when its first pending segment opened).
      try {
        await runFlushMessage(env, flush)
        msg.ack()
      } catch (err) {
        console.error(JSON.stringify({ msg: 'archive flush failed', reason: String(err) }))
        msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) })
      }
      continue
    }
    const parsed = decodeQueueMessage(msg.body)
    if (!parsed.success) {
      // A malformed message never becomes valid: park it with the reason instead of retrying.
      await settleDead(env, msg, `invalid queue message: ${parsed.reason}`)
      totals.dead++
      continue
    }
    const list = byTenant.get(parsed.data.tenant) ?? []
    list.push({ msg, body: parsed.data })
    totals.events += parsed.data.events.length
    byTenant.set(parsed.data.tenant, list)
  }
  for (const [tenant, items] of byTenant) {
    try {
      totals.stored += await ingestTenantEvents(
        env,
        tenant,
        items.flatMap((i) => i.body.events),
      )
      for (const i of items) i.msg.ack()
    } catch (err) {
      if (isTenantMoving(err) && (await requeueWhileMoving(env, tenant, items))) {
        totals.retried += items.length
        continue
      }
      const reason = err instanceof Error ? err.message : String(err)
      console.error(JSON.stringify({ msg: 'event batch failed', tenant, reason }))
      for (const { msg } of items) {
        if (msg.attempts >= EVENTS_QUEUE_MAX_RETRIES) {
          await settleDead(env, msg, reason)
          totals.dead++
        } else {
          msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) })
          totals.retried++
        }
      }
    }
  }
  // One line per delivered batch, next to the per-tenant "events stored" lines (D1 rows written).
  console.log(
    JSON.stringify({
      msg: 'event batch',
      queue: batch.queue,
      messages: batch.messages.length,
      tenants: byTenant.size,
      events: totals.events,
      events_stored: totals.stored,
      messages_retried: totals.retried,
      messages_dead_lettered: totals.dead,
      duration_ms: Date.now() - start,
    }),
  )
}

/** Two map-cache periods: a move's freeze and copy take at least that. */
const requeueSeconds = (env: Env) => Math.max(2, Math.ceil((2 * shardCacheMs(env)) / 1000))

function isTenantMoving(err: unknown): boolean {
  return err instanceof DomainError && err.code === 'unavailable' && err.extra?.retry_after !== undefined
}

/**
 * A tenant being moved between shards takes no writes until the move switches, which may take
 * longer than the queue's retries: its messages go back on the queue as new messages (delayed),
 * and the originals are acked once the copies are on it, so none is dead-lettered for waiting.
 */
async function requeueWhileMoving(
  env: Env,
  tenant: string,
  items: { msg: Message<unknown>; body: QueueMessageBody }[],
): Promise<boolean> {
  try {
    for (const { msg } of items) await env.EVENTS_QUEUE.send(msg.body, { delaySeconds: requeueSeconds(env) })
  } catch {
    return false
  }
  for (const { msg } of items) msg.ack()
  console.log(
    JSON.stringify({ msg: 'events requeued while their tenant moves', tenant, messages: items.length }),
  )
  return true
}

async function settleDead(env: Env, msg: Message<unknown>, reason: string) {
  try {
    await sendToDeadLetter(env, { reason, attempts: msg.attempts, message_id: msg.id, body: msg.body })
    msg.ack()
  } catch {
    // The platform moves it to the dead-letter queue after max_retries anyway.
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) })
  }
}

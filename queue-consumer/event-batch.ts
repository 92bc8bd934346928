// The events queue consumer. A message is acked only once every event it carries is in D1
// and in an R2 archive object; any failure retries the message with backoff. Processing is
// idempotent: events already stored are skipped, so redeliveries and concurrent invocations
// never store or archive an event twice.
import { database } from '../core/db/client'
import { commitEvents, findExistingIds, getChainHead, isWriteConflict } from '../core/db/events'
import { segmentsFor } from '../core/db/outbox'
import { sendToDeadLetter } from '../core/dead-letters'
import type { Env } from '../core/env'
import { decodeQueueMessage, type QueueMessageBody } from '../core/ingest/queue-message'
import type { PendingEvent } from '../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../core/integrity/chain'
import { EVENTS_QUEUE_MAX_RETRIES } from '../core/limits'
import { flushPendingSegments } from './archive-writer'

const MAX_COMMIT_RACES = 8

export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 8))
}

/** Stores one tenant's events (skipping those already stored) and archives them. */
export async function ingestTenantEvents(env: Env, tenant: string, events: PendingEvent[]): Promise<void> {
  const db = database(env.DB)
  const unique = [...new Map(events.map((e) => [e.id, e] as const)).values()]
  for (let race = 0; ; race++) {
    const existing = await findExistingIds(
      db,
      tenant,
      unique.map((e) => e.id),
    )
    const fresh = unique.filter((e) => !existing.has(e.id))
    if (fresh.length === 0) break
    const head = await getChainHead(db, tenant)
    const chained = await appendToChain(head ?? { seq: 0, hash: GENESIS_HASH }, fresh)
    const { stored } = chained
    try {
      const committed = await commitEvents(db, tenant, head, chained, segmentsFor(tenant, stored))
      const archived = await flushPendingSegments(db, env.ARCHIVE, tenant, chained)
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
      return
    } catch (err) {
      if (!isWriteConflict(err) || race >= MAX_COMMIT_RACES) throw err
    }
  }
  await flushPendingSegments(db, env.ARCHIVE, tenant)
}

export async function handleEventBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byTenant = new Map<string, { msg: Message<unknown>; body: QueueMessageBody }[]>()
  for (const msg of batch.messages) {
    const parsed = decodeQueueMessage(msg.body)
    if (!parsed.success) {
      // A malformed message never becomes valid: park it with the reason instead of retrying.
      await settleDead(env, msg, `invalid queue message: ${parsed.reason}`)
      continue
    }
    const list = byTenant.get(parsed.data.tenant) ?? []
    list.push({ msg, body: parsed.data })
    byTenant.set(parsed.data.tenant, list)
  }
  for (const [tenant, items] of byTenant) {
    try {
      await ingestTenantEvents(
        env,
        tenant,
        items.flatMap((i) => i.body.events),
      )
      for (const i of items) i.msg.ack()
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      console.error(JSON.stringify({ msg: 'event batch failed', tenant, reason }))
      for (const { msg } of items) {
        if (msg.attempts >= EVENTS_QUEUE_MAX_RETRIES) await settleDead(env, msg, reason)
        else msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) })
      }
    }
  }
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

// Dead letters. Messages that failed every attempt (or can never be valid) end up as JSON
// objects under `dead-letter/` in R2 (core/archive/layout.ts), with the reason, until an
// operator replays them. Replay re-enqueues the original message; the consumer's idempotency
// makes replaying a message whose events were in fact stored harmless.
import { z } from 'zod'
import { DEAD_LETTER_PREFIX, deadLetterKey, replayedKey } from './archive/layout'
import type { Env } from './env'
import { decodeQueueMessage } from './ingest/queue-message'

const envelopeSchema = z.object({
  dead_letter: z.literal(1),
  reason: z.string(),
  attempts: z.number(),
  message_id: z.string(),
  failed_at: z.string(),
  body: z.unknown(),
})
export type DeadLetter = z.infer<typeof envelopeSchema>

export async function sendToDeadLetter(
  env: Env,
  d: { reason: string; attempts: number; message_id: string; body: unknown },
): Promise<void> {
  const letter: DeadLetter = { dead_letter: 1, failed_at: new Date().toISOString(), ...d }
  await env.DEAD_LETTER_QUEUE.send(letter, { contentType: 'json' })
}

/** A dead-letter queue message as a letter: ours carry a reason, the queue's own moves do not. */
export function asDeadLetter(msg: Message<unknown>): DeadLetter {
  const wrapped = envelopeSchema.safeParse(msg.body)
  return wrapped.success
    ? wrapped.data
    : {
        dead_letter: 1,
        reason: `delivery failed ${msg.attempts} times (moved by the queue)`,
        attempts: msg.attempts,
        message_id: msg.id,
        failed_at: new Date().toISOString(),
        body: msg.body,
      }
}

export async function parkDeadLetter(bucket: R2Bucket, letter: DeadLetter): Promise<void> {
  await bucket.put(deadLetterKey(letter.failed_at, letter.message_id), JSON.stringify(letter), {
    httpMetadata: { contentType: 'application/json' },
  })
}

export async function listDeadLetters(env: Env, limit = 100) {
  const listing = await env.ARCHIVE.list({ prefix: DEAD_LETTER_PREFIX, limit })
  const out: { key: string; reason: string; failed_at: string; events: number }[] = []
  for (const o of listing.objects) {
    const obj = await env.ARCHIVE.get(o.key)
    if (!obj) continue
    const letter = envelopeSchema.safeParse(await obj.json())
    if (!letter.success) continue
    const msg = decodeQueueMessage(letter.data.body)
    out.push({
      key: o.key,
      reason: letter.data.reason,
      failed_at: letter.data.failed_at,
      events: msg.success ? msg.data.events.length : 0,
    })
  }
  return { dead_letters: out, truncated: listing.truncated }
}

/**
 * Re-enqueues parked messages. Letters whose body is not a valid queue message stay where
 * they are and are reported, since replaying them would only fail again.
 */
export async function replayDeadLetters(env: Env, limit = 100) {
  const listing = await env.ARCHIVE.list({ prefix: DEAD_LETTER_PREFIX, limit })
  let replayed = 0
  const skipped: { key: string; reason: string }[] = []
  for (const o of listing.objects) {
    const obj = await env.ARCHIVE.get(o.key)
    if (!obj) continue
    const text = await obj.text()
    const letter = envelopeSchema.safeParse(JSON.parse(text))
    const msg = letter.success ? decodeQueueMessage(letter.data.body) : null
    if (!msg?.success) {
      skipped.push({ key: o.key, reason: 'not a valid queue message; fix or delete it by hand' })
      continue
    }
    // The original body goes back as it came (either message version), the consumer decodes it.
    const original = letter.success ? letter.data.body : undefined
    await env.EVENTS_QUEUE.send(original, { contentType: typeof original === 'string' ? 'text' : 'json' })
    await env.ARCHIVE.put(replayedKey(o.key), text)
    await env.ARCHIVE.delete(o.key)
    replayed++
  }
  return { replayed, skipped, remaining: listing.truncated }
}

// Queue message format (versioned). One message carries events of one tenant, packed so a
// message stays under the queue's 128 KB limit and a sendBatch under 100 messages / 256 KB.
// On the wire a message is the JSON text of the body: each event is serialized exactly once,
// at the edge, and the consumer parses and re-validates it.
import { z } from 'zod'
import { DomainError, type FieldError } from './errors'
import { LIMITS } from './limits'
import { type PendingEvent, pendingEventSchema } from './stored-event'

export const QUEUE_MESSAGE_VERSION = 1

export const queueMessageSchema = z.object({
  v: z.literal(QUEUE_MESSAGE_VERSION),
  tenant: z.string().min(1),
  events: z.array(pendingEventSchema).min(1),
})
export type QueueMessageBody = z.infer<typeof queueMessageSchema>

const enc = new TextEncoder()
const NON_ASCII = /[\u0080-\uffff]/

function byteLength(s: string): number {
  return NON_ASCII.test(s) ? enc.encode(s).length : s.length
}

export type PackedMessage = { text: string; bytes: number; eventIds: string[] }

/**
 * Packs one tenant's events into messages, in order. Throws a validation error naming every
 * event that is over the per-event size limit once serialized.
 */
export function packMessages(
  tenant: string,
  events: PendingEvent[],
  opts: { batch?: boolean } = {},
): PackedMessage[] {
  const head = `{"v":${QUEUE_MESSAGE_VERSION},"tenant":${JSON.stringify(tenant)},"events":[`
  const headBytes = byteLength(head) + 2
  const out: PackedMessage[] = []
  const tooLarge: FieldError[] = []
  let lines: string[] = []
  let ids: string[] = []
  let bytes = headBytes
  const flush = () => {
    if (lines.length === 0) return
    out.push({ text: `${head}${lines.join(',')}]}`, bytes, eventIds: ids })
    lines = []
    ids = []
    bytes = headBytes
  }
  events.forEach((e, i) => {
    const line = JSON.stringify(e)
    const size = byteLength(line) + 1
    if (size > LIMITS.maxEventBytes) {
      tooLarge.push({
        path: opts.batch ? `events[${i}]` : '(root)',
        message: `event exceeds ${LIMITS.maxEventBytes} bytes`,
      })
      return
    }
    if (bytes + size > LIMITS.maxMessageBytes) flush()
    lines.push(line)
    ids.push(e.id)
    bytes += size
  })
  if (tooLarge.length > 0) {
    throw new DomainError(
      'validation_failed',
      `${tooLarge.length} event(s) are too large; nothing was accepted.`,
      tooLarge,
    )
  }
  flush()
  return out
}

/** Groups messages into sendBatch calls within the platform's count and byte limits. */
export function groupForSend(messages: PackedMessage[]): PackedMessage[][] {
  const groups: PackedMessage[][] = []
  let cur: PackedMessage[] = []
  let bytes = 0
  for (const m of messages) {
    if (
      cur.length > 0 &&
      (cur.length >= LIMITS.maxMessagesPerSend || bytes + m.bytes > LIMITS.maxBytesPerSend)
    ) {
      groups.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(m)
    bytes += m.bytes
  }
  if (cur.length > 0) groups.push(cur)
  return groups
}

/** Parses a delivered message body (JSON text, or an object when re-enqueued by replay). */
export function decodeQueueMessage(
  body: unknown,
): { success: true; data: QueueMessageBody } | { success: false; reason: string } {
  let value = body
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body)
    } catch {
      return { success: false, reason: 'body is not JSON' }
    }
  }
  const r = queueMessageSchema.safeParse(value)
  return r.success ? r : { success: false, reason: r.error.issues[0]?.message ?? 'invalid' }
}

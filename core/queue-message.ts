// Queue message format (versioned). One message carries events of one tenant, packed so a
// message stays under the queue's 128 KB limit and a sendBatch under 100 messages / 256 KB.
import { z } from 'zod'
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
const ENVELOPE_OVERHEAD = 256

export type PackedMessage = { body: QueueMessageBody; bytes: number; eventIds: string[] }

/** Packs one tenant's events into messages, in order. Each event must fit a message alone. */
export function packMessages(tenant: string, events: PendingEvent[]): PackedMessage[] {
  const out: PackedMessage[] = []
  let cur: PendingEvent[] = []
  let curBytes = ENVELOPE_OVERHEAD
  const flush = () => {
    if (cur.length === 0) return
    out.push({
      body: { v: QUEUE_MESSAGE_VERSION, tenant, events: cur },
      bytes: curBytes,
      eventIds: cur.map((e) => e.id),
    })
    cur = []
    curBytes = ENVELOPE_OVERHEAD
  }
  for (const e of events) {
    const size = enc.encode(JSON.stringify(e)).length + 1
    if (curBytes + size > LIMITS.maxMessageBytes) flush()
    cur.push(e)
    curBytes += size
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

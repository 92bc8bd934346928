import { DomainError } from '../errors'
import { groupForSend, packMessages } from './queue-message'
import type { PendingEvent } from './stored-event'

/**
 * Sends one tenant's events to the queue within the platform's limits. If a send fails after
 * earlier ones succeeded, the 503 lists exactly which events were accepted, so the client
 * retries only the rest (a retry of accepted ids is harmless too: the consumer dedupes).
 */
export async function enqueueEvents(
  queue: Queue<unknown>,
  tenant: string,
  events: PendingEvent[],
  opts: { batch?: boolean } = {},
) {
  const accepted: string[] = []
  for (const group of groupForSend(packMessages(tenant, events, opts))) {
    try {
      await queue.sendBatch(group.map((m) => ({ body: m.text, contentType: 'text' as const })))
    } catch (err) {
      console.error(JSON.stringify({ msg: 'queue send failed', tenant, error: String(err) }))
      const acceptedSet = new Set(accepted)
      throw new DomainError(
        'unavailable',
        accepted.length === 0
          ? 'The event queue is unavailable; nothing was accepted. Retry after the given delay.'
          : `The event queue failed part-way: ${accepted.length} of ${events.length} events were accepted (listed); retry the others.`,
        undefined,
        {
          accepted: accepted.map((id) => ({ id })),
          not_accepted: events.filter((e) => !acceptedSet.has(e.id)).map((e) => ({ id: e.id })),
          retry_after: 5,
        },
      )
    }
    for (const m of group) accepted.push(...m.eventIds)
  }
  return accepted
}

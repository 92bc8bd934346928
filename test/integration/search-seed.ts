import { env } from 'cloudflare:test'
import type { EventInput } from '../../core/ingest/event-schema'
import { eventInputSchema } from '../../core/ingest/event-schema'
import { toPendingEvent } from '../../core/ingest/stored-event'
import { ingestTenantEvents } from '../../queue-consumer/event-batch'

/** Stores events for a tenant through the consumer's own code path (no queue wait). */
export async function seed(tenant: string, inputs: (Partial<EventInput> & { id: string })[]) {
  const now = new Date().toISOString()
  const pending = inputs.map((i) => {
    const v = eventInputSchema.parse({
      occurred_at: '2026-01-10T00:00:00Z',
      action: 'thing.updated',
      actor: { type: 'user', id: 'u_default' },
      target: { type: 'thing', id: 't_default' },
      ...i,
    })
    return toPendingEvent({ ...v, id: i.id }, tenant, now, { key_id: 'seed', request_id: 'seed' })
  })
  for (let i = 0; i < pending.length; i += 1000)
    await ingestTenantEvents(env, tenant, pending.slice(i, i + 1000))
}

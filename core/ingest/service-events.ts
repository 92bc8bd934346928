// Events the service records about itself, in the tenant's own chain and through the same queue
// as ingest: reads (audit_log.searched|read|exported), the key lifecycle (audit_log.key.*),
// integrity alarms (audit_log.integrity.*) and id conflicts (audit_log.id_conflict).
// Invariant: the `audit_log.` action namespace and the source "audit-log" are the service's
// own; client events using either are refused at validation, in every input format, so nothing
// a client posts can pass for one of these.
import { uuidv7 } from '../ids'
import { enqueueEvents } from './enqueue'
import type { EventInput } from './event-schema'
import { type PendingEvent, toPendingEvent } from './stored-event'

export const SERVICE_ACTION_PREFIX = 'audit_log.'
export const SERVICE_SOURCE = 'audit-log'

export type ServiceEvent = {
  action: `audit_log.${string}`
  actor: EventInput['actor']
  target: EventInput['target']
  outcome?: EventInput['outcome']
  metadata?: Record<string, string | number | boolean | null>
  description?: string
  /**
   * For an event that may be recorded more than once (a job that retries): a deterministic id and
   * time, so every copy is the same event and the consumer stores it once. Default: a new UUIDv7, now.
   */
  id?: string
  occurred_at?: string
}

/** The stored form of a service event: `key_id` is the key that caused it, or "system". */
export function serviceEvent(
  tenant: string,
  e: ServiceEvent,
  cause: { keyId: string; requestId: string },
  now = new Date(),
): PendingEvent {
  const at = now.toISOString()
  return toPendingEvent(
    {
      id: e.id ?? uuidv7(now.getTime()),
      occurred_at: e.occurred_at ?? at,
      action: e.action,
      actor: e.actor,
      target: e.target,
      outcome: e.outcome ?? { status: 'success' },
      source: SERVICE_SOURCE,
      ...(e.metadata ? { metadata: e.metadata } : {}),
      ...(e.description ? { description: e.description } : {}),
    },
    tenant,
    at,
    { key_id: cause.keyId, request_id: cause.requestId },
  )
}

/** Records service events of one tenant (through the events queue, like any event). */
export async function recordServiceEvents(
  queue: Queue<unknown>,
  tenant: string,
  events: ServiceEvent[],
  cause: { keyId: string; requestId: string },
): Promise<void> {
  if (events.length === 0) return
  const now = new Date()
  await enqueueEvents(
    queue,
    tenant,
    events.map((e) => serviceEvent(tenant, e, cause, now)),
  )
}

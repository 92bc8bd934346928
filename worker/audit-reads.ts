// Reads are audited: every search, read and export is recorded as an event in the caller's
// tenant, through the same queue as ingest, after the response (waitUntil) so it adds no latency.
import type { Context } from 'hono'
import { uuidv7 } from '../core/ids'
import { toPendingEvent } from '../core/ingest/stored-event'
import type { AppEnv } from './context'
import { enqueueEvents } from './ingest/enqueue'

export type ReadAction = 'audit_log.searched' | 'audit_log.read' | 'audit_log.exported'

export function recordRead(
  c: Context<AppEnv>,
  action: ReadAction,
  target: { type: string; id: string },
  metadata: Record<string, string | number | boolean | null>,
) {
  const auth = c.get('auth')
  if (auth.kind !== 'key') return
  const now = new Date()
  const event = toPendingEvent(
    {
      id: uuidv7(now.getTime()),
      occurred_at: now.toISOString(),
      action,
      actor: { type: 'api_key', id: auth.keyId },
      target,
      outcome: { status: 'success' },
      source: 'audit-log',
      metadata,
    },
    auth.tenant,
    now.toISOString(),
    { key_id: auth.keyId, request_id: c.get('requestId') },
  )
  const write = enqueueEvents(c.env.EVENTS_QUEUE, auth.tenant, [event]).catch((err: unknown) =>
    console.error(JSON.stringify({ msg: 'audit of a read failed', action, error: String(err) })),
  )
  try {
    c.executionCtx.waitUntil(write)
  } catch {
    // No execution context (direct app.fetch in tests): the promise still runs.
  }
}

/** Filters as metadata: a JSON string, so the record stays flat. */
export function filtersMetadata(filters: object): string {
  return JSON.stringify(filters)
}

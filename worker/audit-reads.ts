// Reads are audited: every search, read and export is recorded as an event in the caller's
// tenant, through the same queue as ingest, after the response (waitUntil) so it adds no latency.
import type { Context } from 'hono'
import { scopeLabel } from '../core/auth/viewer-scope'
import { recordServiceEvents } from '../core/ingest/service-events'
import { raiseAlarms } from '../core/integrity/alarms'
import { type ServedEvent, violationsOf } from '../core/integrity/verified-read'
import type { AppEnv } from './context'

export type ReadAction = 'audit_log.searched' | 'audit_log.read' | 'audit_log.exported'

export function recordRead(
  c: Context<AppEnv>,
  action: ReadAction,
  target: { type: string; id: string },
  metadata: Record<string, string | number | boolean | null>,
) {
  const auth = c.get('auth')
  if (auth.kind === 'admin-token') return
  // A session reads as its key; a viewer token as the key that minted it, with its scope noted; a
  // Cloudflare Access identity as that user.
  const keyId = auth.kind === 'access' ? `access:${auth.email}` : auth.keyId
  const actor =
    auth.kind === 'access'
      ? { type: 'user' as const, id: auth.email }
      : { type: 'api_key' as const, id: auth.keyId }
  const noted =
    auth.kind === 'viewer'
      ? { ...metadata, viewer_token: auth.tokenId, viewer_scope: scopeLabel(auth.scope) }
      : auth.kind === 'access'
        ? { ...metadata, via: 'cloudflare-access' }
        : metadata
  const cause = { keyId, requestId: c.get('requestId') }
  const event = { action, actor, target, metadata: noted }
  afterResponse(
    c,
    recordServiceEvents(c.env.EVENTS_QUEUE, auth.tenant, [event], cause).catch((err: unknown) =>
      console.error(JSON.stringify({ msg: 'audit of a read failed', action, error: String(err) })),
    ),
  )
}

/** Runs `work` after the response is sent (waitUntil), so recording adds no latency. */
export function afterResponse(c: Context<AppEnv>, work: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(work)
  } catch {
    // No execution context (direct app.fetch in tests): the promise still runs.
  }
}

/** Filters as metadata: a JSON string, so the record stays flat. */
export function filtersMetadata(filters: object): string {
  return JSON.stringify(filters)
}

/** Raises alarms, after the response, for served events that failed their check. */
export function alarmOnViolations(
  c: Context<AppEnv>,
  tenant: string,
  events: readonly ServedEvent[],
  where: string,
) {
  const findings = violationsOf(tenant, events, where)
  if (findings.length === 0) return
  afterResponse(
    c,
    raiseAlarms(c.env, findings, 'read').catch((err: unknown) =>
      console.error(JSON.stringify({ msg: 'raising an alarm failed', tenant, error: String(err) })),
    ),
  )
}

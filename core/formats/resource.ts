// Resource-style events from common system-design write-ups. `tenantId`, when present, must
// be the key's tenant: it is checked, never used to choose the tenant.
import { z } from 'zod'
import { DomainError } from '../errors'
import { ACTOR_TYPES } from '../event-schema'
import { dottedAction, type Metadata, parseSource, putMeta } from './common'

export const resourceSchema = z
  .object({
    eventId: z.string().min(1),
    tenantId: z.string().optional(),
    actor: z
      .object({ type: z.string().min(1), id: z.string().min(1), emailHash: z.string().optional() })
      .strict(),
    action: z.string().min(1),
    resource: z.object({ type: z.string().min(1), id: z.union([z.string().min(1), z.number()]) }).strict(),
    result: z.string().min(1),
    ipAddress: z.string().optional(),
    userAgent: z.string().optional(),
    requestId: z.string().optional(),
    occurredAt: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

/** "user.login" stays; a bare verb is qualified by the resource type: "login" -> "session.login". */
function actionOf(action: string, resourceType: string): string {
  const parts = action.split(/[.:/]/).filter(Boolean)
  return dottedAction(...(parts.length >= 2 ? parts : [resourceType, ...parts]))
}

const FAILURES = new Set([
  'failure',
  'failed',
  'fail',
  'denied',
  'error',
  'rejected',
  'forbidden',
  'unauthorized',
])

export function mapResource(body: unknown, tenant: string, prefix = ''): unknown[] {
  const r = parseSource(resourceSchema, body, 'resource', prefix)
  if (r.tenantId !== undefined && r.tenantId !== tenant) {
    throw new DomainError('forbidden', `tenantId "${r.tenantId}" is not the tenant of this API key.`, [
      { path: `${prefix ? `${prefix}.` : ''}tenantId`, message: 'must match the API key tenant' },
    ])
  }
  const type = r.actor.type.toLowerCase()
  const known = (ACTOR_TYPES as readonly string[]).includes(type)
  const metadata: Metadata = putMeta(
    {},
    {
      actor_email_hash: r.actor.emailHash,
      actor_kind: known ? undefined : r.actor.type,
      result: r.result,
      action_raw: r.action,
    },
  )
  for (const [k, v] of Object.entries(r.metadata ?? {})) putMeta(metadata, { [k]: v })
  const context = {
    ...(r.ipAddress ? { ip: r.ipAddress } : {}),
    ...(r.userAgent ? { user_agent: r.userAgent } : {}),
    ...(r.requestId ? { request_id: r.requestId } : {}),
  }
  const failed = FAILURES.has(r.result.toLowerCase())
  return [
    {
      id: r.eventId,
      occurred_at: r.occurredAt,
      action: actionOf(r.action, r.resource.type),
      actor: { type: known ? type : 'service', id: r.actor.id },
      target: { type: r.resource.type, id: String(r.resource.id) },
      outcome: failed
        ? { status: 'failure', code: r.result }
        : { status: 'success', ...(r.result.toLowerCase() === 'success' ? {} : { code: r.result }) },
      ...(Object.keys(context).length ? { context } : {}),
      metadata,
    },
  ]
}

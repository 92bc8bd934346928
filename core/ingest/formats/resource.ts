// Resource-style events from common system-design write-ups. Invariant: `tenantId`, when
// present, must be the key's tenant; it is checked, never used to choose the tenant.
import { z } from 'zod'
import { DomainError } from '../../errors'
import { ACTOR_TYPES } from '../event-schema'
import { at, deriveId, dottedAction, nonEmpty, parseSource } from './common'
import type { MapOptions } from './map-options'
import { MetadataBuilder } from './metadata'
import type { Mapped } from './provenance'

const idish = z.union([z.string().min(1), z.number()], { error: 'must be a non-empty string or a number' })

export const resourceSchema = z
  .object({
    eventId: idish,
    tenantId: z.string().optional(),
    actor: z
      .object({
        type: z.string().min(1),
        id: idish,
        emailHash: z.string().optional(),
      })
      .strict(),
    action: z.string().min(1),
    resource: z.object({ type: z.string().min(1), id: idish }).strict(),
    result: z.string().min(1),
    ipAddress: z.string().optional(),
    userAgent: z.string().optional(),
    requestId: z.string().optional(),
    occurredAt: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
export type ResourceEvent = z.input<typeof resourceSchema>

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

/** success/failure as they are; any other result is kept as the outcome code. */
function outcomeOf(result: string) {
  const lower = result.toLowerCase()
  const status = FAILURES.has(lower) ? 'failure' : 'success'
  return { status, ...(result === status ? {} : { code: result }) }
}

export function mapResource(body: unknown, opts: MapOptions): Mapped[] {
  const p = (path: string) => at(opts.prefix, path)
  const r = parseSource(resourceSchema, body, 'resource', opts.prefix)
  if (r.tenantId !== undefined && r.tenantId !== opts.tenant) {
    throw new DomainError('forbidden', `tenantId "${r.tenantId}" is not the tenant of this API key.`, [
      { path: p('tenantId'), message: 'must match the API key tenant' },
    ])
  }
  const id = deriveId(r.eventId)
  const type = r.actor.type.toLowerCase()
  const actorType = (ACTOR_TYPES as readonly string[]).includes(type) ? type : 'service'
  const action = actionOf(r.action, r.resource.type)
  const metadata = new MetadataBuilder()
  opts.envelopeMeta?.(metadata)
  metadata
    .put('resource_event_id', id === String(r.eventId) ? undefined : r.eventId, p('eventId'))
    .put('resource_actor_type', actorType === r.actor.type ? undefined : r.actor.type, p('actor.type'))
    .put('resource_actor_email_hash', r.actor.emailHash, p('actor.emailHash'))
    .put('resource_action', action === r.action ? undefined : r.action, p('action'))
    .putAll(r.metadata, p('metadata'))
  const event = nonEmpty({
    id,
    occurred_at: r.occurredAt,
    action,
    actor: { type: actorType, id: String(r.actor.id) },
    target: { type: r.resource.type, id: String(r.resource.id) },
    outcome: outcomeOf(r.result),
    context: nonEmpty({ ip: r.ipAddress, user_agent: r.userAgent, request_id: r.requestId }),
    metadata: metadata.build(),
  })!
  return [
    {
      event,
      from: {
        id: p('eventId'),
        occurred_at: p('occurredAt'),
        action: p('action'),
        'actor.id': p('actor.id'),
        'target.type': p('resource.type'),
        'target.id': p('resource.id'),
        outcome: p('result'),
        'context.ip': p('ipAddress'),
        'context.user_agent': p('userAgent'),
        'context.request_id': p('requestId'),
      },
    },
  ]
}

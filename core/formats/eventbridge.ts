// Amazon EventBridge envelopes carrying the common audit `detail` contract. One envelope with
// N entities becomes N events, with ids `<envelope id>:<index>`.
import { z } from 'zod'
import { deriveId, diffChanges, dottedAction, type Metadata, parseSource, putMeta } from './common'

const idish = z.union([z.string().min(1), z.number()])
const entitySchema = z
  .object({
    entity: z.object({ id: idish, name: z.string().optional() }).catchall(z.unknown()),
    before: z.record(z.string(), z.unknown()).optional(),
    after: z.record(z.string(), z.unknown()).optional(),
    parent: z
      .object({ id: idish, name: z.string().optional(), type: z.string().min(1) })
      .strict()
      .optional(),
    channel_code: z.string().optional(),
    channel_account_code: z.string().optional(),
  })
  .strict()

export const eventBridgeSchema = z
  .object({
    version: z.string(),
    id: z.string().min(1),
    source: z.string().min(1),
    'detail-type': z.string(),
    time: z.string(),
    region: z.string().optional(),
    account: z.string().optional(),
    resources: z.array(z.string()).optional(),
    detail: z
      .object({
        entities: z.array(entitySchema).min(1).max(1000),
        entity_type: z.string().min(1),
        action: z.string().min(1),
        correlation_id: z.string().optional(),
        actor: z
          .object({ type: z.union([z.literal(0), z.literal(1), z.literal(2)]), name: z.string().min(1) })
          .strict(),
      })
      .strict(),
  })
  .strict()

const ACTOR_TYPES = { 0: 'service', 1: 'user', 2: 'service' } as const
const ACTOR_NAMES = { 0: 'service', 1: 'user', 2: 'client' } as const

export function mapEventBridge(body: unknown, prefix = ''): unknown[] {
  const env = parseSource(eventBridgeSchema, body, 'EventBridge', prefix)
  const d = env.detail
  return d.entities.map((e, i) => {
    const { id, name, ...entityExtra } = e.entity
    const metadata: Metadata = putMeta(
      {},
      {
        eventbridge_id: env.id,
        eventbridge_version: env.version,
        detail_type: env['detail-type'],
        region: env.region,
        account: env.account,
        resources: env.resources,
        actor_kind: ACTOR_NAMES[d.actor.type],
        eventbridge_action: d.action,
        channel_code: e.channel_code,
        channel_account_code: e.channel_account_code,
      },
    )
    for (const [k, v] of Object.entries(entityExtra)) putMeta(metadata, { [`entity_${k}`]: v })
    const changes = diffChanges(e.before, e.after)
    return {
      id: deriveId(env.id, i),
      occurred_at: env.time,
      action: dottedAction(d.entity_type, d.action),
      actor: { type: ACTOR_TYPES[d.actor.type], id: d.actor.name, name: d.actor.name },
      target: { type: d.entity_type, id: String(id), ...(name ? { name } : {}) },
      ...(e.parent
        ? {
            parent: {
              type: e.parent.type,
              id: String(e.parent.id),
              ...(e.parent.name ? { name: e.parent.name } : {}),
            },
          }
        : {}),
      ...(changes.length ? { changes } : {}),
      ...(d.correlation_id ? { context: { correlation_id: d.correlation_id } } : {}),
      source: env.source,
      metadata,
    }
  })
}

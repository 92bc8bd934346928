// Amazon EventBridge envelopes carrying the common audit `detail` contract. One envelope with
// N entities becomes N events with ids `<envelope id>:<index>` (hashed when that is not a valid
// v1 id), so a redelivered envelope maps to the same ids and is stored once.
import { z } from 'zod'
import { at, deriveId, diffChanges, dottedAction, nonEmpty, parseSource } from './common'
import type { MapOptions } from './map-options'
import { MetadataBuilder } from './metadata'
import type { Mapped } from './provenance'

const idish = z.union([z.string().min(1), z.number()], { error: 'must be a non-empty string or a number' })
const changeMap = z.record(z.string(), z.unknown()).nullish()

const entityItemSchema = z
  .object({
    entity: z.object({ id: idish, name: z.string().optional() }).catchall(z.unknown()),
    before: changeMap,
    after: changeMap,
    parent: z
      .object({ id: idish, name: z.string().optional(), type: z.string().min(1) })
      .catchall(z.unknown())
      .nullish(),
    channel_code: z.string().optional(),
    channel_account_code: z.string().optional(),
  })
  .catchall(z.unknown())

export const eventBridgeSchema = z
  .object({
    version: z.string(),
    id: z.string().min(1),
    source: z.string().min(1),
    'detail-type': z.string(),
    time: z.string(),
    region: z.string().optional(),
    account: z.string().optional(),
    detail: z
      .object({
        entities: z.array(entityItemSchema).min(1).max(1000),
        entity_type: z.string().min(1),
        action: z.string().min(1),
        correlation_id: z.string().optional(),
        actor: z
          .object({
            type: z.union([z.literal(0), z.literal(1), z.literal(2)], {
              error: 'must be 0 (service), 1 (user) or 2 (client)',
            }),
            name: z.string().min(1),
          })
          .strict(),
      })
      .catchall(z.unknown()),
  })
  .catchall(z.unknown())
export type EventBridgeEnvelope = z.input<typeof eventBridgeSchema>

/** v1 has no "client" actor: a client application acts like a service; actor_kind keeps which. */
const ACTOR_TYPES = { 0: 'service', 1: 'user', 2: 'service' } as const
const ACTOR_KINDS = { 0: 'service', 1: 'user', 2: 'client' } as const

export function mapEventBridge(body: unknown, opts: MapOptions): Mapped[] {
  const p = (path: string) => at(opts.prefix, path)
  const env = parseSource(eventBridgeSchema, body, 'EventBridge', opts.prefix)
  const { version, id, source, 'detail-type': detailType, time, detail: d, ...envExtra } = env
  const { entities, entity_type, action, correlation_id, actor, ...detailExtra } = d
  return entities.map((item, i) => {
    const e = `detail.entities[${i}]`
    const { entity, before, after, parent, channel_code, channel_account_code, ...itemExtra } = item
    const { id: entityId, name: entityName, ...entityExtra } = entity
    const {
      id: parentId,
      name: parentName,
      type: parentType,
      ...parentExtra
    } = parent ?? ({} as Partial<NonNullable<typeof parent>>)
    const metadata = new MetadataBuilder()
    opts.envelopeMeta?.(metadata)
    metadata
      .put('eventbridge_id', id, p('id'))
      .put('eventbridge_version', version, p('version'))
      .put('eventbridge_detail_type', detailType, p('detail-type'))
      .putAll(envExtra, opts.prefix, 'eventbridge_')
      .put('eventbridge_action', action, p('detail.action'))
      .put('actor_kind', ACTOR_KINDS[actor.type], p('detail.actor.type'))
      .putAll(detailExtra, p('detail'), 'detail_')
      .put('channel_code', channel_code, p(`${e}.channel_code`))
      .put('channel_account_code', channel_account_code, p(`${e}.channel_account_code`))
      .putAll(itemExtra, p(e), 'entity_item_')
      .putAll(entityExtra, p(`${e}.entity`), 'entity_')
      .putAll(parentExtra, p(`${e}.parent`), 'parent_')
    const changes = diffChanges(before, after)
    const event = nonEmpty({
      id: deriveId(id, i),
      occurred_at: time,
      action: dottedAction(entity_type, action),
      // The envelope's actor has only a name, which is its identifier: it becomes actor.id and
      // only that. Copying it into actor.name too would keep a plaintext copy next to the value
      // the privacy policy seals there, which erasure could not remove.
      actor: { type: ACTOR_TYPES[actor.type], id: actor.name },
      target: nonEmpty({ type: entity_type, id: String(entityId), name: entityName }),
      parent: parent ? nonEmpty({ type: parentType, id: String(parentId), name: parentName }) : undefined,
      changes: changes.length ? changes : undefined,
      context: correlation_id === undefined ? undefined : { correlation_id },
      source,
      metadata: metadata.build(),
    })!
    return {
      event,
      from: {
        id: p('id'),
        occurred_at: p('time'),
        action: [p('detail.entity_type'), p('detail.action')],
        actor: [p('detail.actor.name')],
        'target.type': p('detail.entity_type'),
        'target.id': p(`${e}.entity.id`),
        'target.name': p(`${e}.entity.name`),
        'parent.type': p(`${e}.parent.type`),
        'parent.id': p(`${e}.parent.id`),
        'parent.name': p(`${e}.parent.name`),
        changes: [p(`${e}.before`), p(`${e}.after`)],
        context: [p('detail.correlation_id')],
        source: p('source'),
      },
    }
  })
}

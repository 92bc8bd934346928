// Record-style events common in TypeScript apps: {kind, occurredAt, entity, author|agent,
// origin, fields, description, metadata}. One record is one event.
import { z } from 'zod'
import { at, deriveId, dottedAction, nonEmpty, parseSource } from './common'
import type { MapOptions } from './map-options'
import { MetadataBuilder } from './metadata'
import type { Mapped } from './provenance'

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()])
const valueLabel = z.object({ value: z.unknown().optional(), label: z.string().optional() }).strict()

const idish = z.union([z.string().min(1), z.number()], { error: 'must be a non-empty string or a number' })

export const recordSchema = z
  .object({
    id: idish.optional(),
    kind: z.enum(['CREATE', 'UPDATE', 'DELETE']),
    occurredAt: z.string(),
    description: z
      .object({ template: z.string(), values: z.record(z.string(), scalar).optional() })
      .strict()
      .optional(),
    entity: z
      .object({
        id: idish,
        title: z.string().optional(),
        url: z.string().optional(),
        kind: z.object({ kind: z.string().min(1), label: z.string().optional() }).strict(),
      })
      .strict(),
    author: z
      .object({
        id: z.string().min(1),
        name: z.string().optional(),
        email: z.string().optional(),
        ip: z.string().optional(),
        userAgent: z.string().optional(),
      })
      .strict()
      .optional(),
    agent: z
      .object({ id: z.string().min(1), name: z.string().optional() })
      .strict()
      .optional(),
    origin: z.enum(['USER', 'SYSTEM', 'AI']).optional(),
    fields: z
      .array(
        z
          .object({
            name: z.string().min(1),
            label: z.string().optional(),
            before: valueLabel.optional(),
            after: valueLabel.optional(),
          })
          .strict(),
      )
      .optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((r) => Boolean(r.author) !== Boolean(r.agent), {
    message: 'needs exactly one of author or agent',
    path: ['author'],
  })
export type RecordEvent = z.input<typeof recordSchema>

const VERB = { CREATE: 'created', UPDATE: 'updated', DELETE: 'deleted' } as const

/** An author is a person unless origin says AI; an agent is a system, an AI, or else a service. */
function actorType(r: z.output<typeof recordSchema>) {
  if (r.origin === 'AI') return 'ai'
  if (r.author) return 'user'
  return r.origin === 'SYSTEM' ? 'system' : 'service'
}

export function mapRecord(body: unknown, opts: MapOptions): Mapped[] {
  const p = (path: string) => at(opts.prefix, path)
  const r = parseSource(recordSchema, body, 'record', opts.prefix)
  const who = r.author ?? r.agent!
  const whoPath = r.author ? 'author' : 'agent'
  const id = r.id === undefined ? undefined : deriveId(r.id)
  const labels = Object.fromEntries(
    (r.fields ?? [])
      .filter((f) => f.label !== undefined || f.before?.label !== undefined || f.after?.label !== undefined)
      .map((f) => [f.name, nonEmpty({ label: f.label, before: f.before?.label, after: f.after?.label })]),
  )
  const metadata = new MetadataBuilder()
  opts.envelopeMeta?.(metadata)
  metadata
    .put('record_id', id === String(r.id) ? undefined : r.id, p('id'))
    .put('record_origin', r.origin, p('origin'))
    .put('record_entity_kind_label', r.entity.kind.label, p('entity.kind.label'))
    .put('record_field_labels', Object.keys(labels).length ? labels : undefined, p('fields'))
    .putAll(r.metadata, p('metadata'))
  const changes = (r.fields ?? []).map((f) =>
    nonEmpty({ field: f.name, before: f.before?.value, after: f.after?.value }),
  )
  const event = nonEmpty({
    id,
    occurred_at: r.occurredAt,
    action: dottedAction(r.entity.kind.kind, VERB[r.kind]),
    actor: nonEmpty({ type: actorType(r), id: who.id, name: who.name, email: r.author?.email }),
    target: nonEmpty({
      type: r.entity.kind.kind,
      id: String(r.entity.id),
      name: r.entity.title,
      url: r.entity.url,
    }),
    changes: changes.length ? changes : undefined,
    context: nonEmpty({ ip: r.author?.ip, user_agent: r.author?.userAgent }),
    description: r.description,
    metadata: metadata.build(),
  })!
  return [
    {
      event,
      from: {
        id: p('id'),
        occurred_at: p('occurredAt'),
        action: p('entity.kind.kind'),
        'actor.type': p('origin'),
        'actor.id': p(`${whoPath}.id`),
        'actor.name': p(`${whoPath}.name`),
        'actor.email': p('author.email'),
        'target.type': p('entity.kind.kind'),
        'target.id': p('entity.id'),
        'target.name': p('entity.title'),
        'target.url': p('entity.url'),
        changes: [p('fields')],
        ...Object.fromEntries(
          (r.fields ?? []).flatMap((_, i) => [
            [`changes[${i}]`, [p(`fields[${i}]`)]],
            [`changes[${i}].field`, p(`fields[${i}].name`)],
          ]),
        ),
        'context.ip': p('author.ip'),
        'context.user_agent': p('author.userAgent'),
        description: { under: p('description') },
      },
    },
  ]
}

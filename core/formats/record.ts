// Record-style events common in TypeScript apps: {kind, occurredAt, entity, author|agent, fields, ...}.
import { z } from 'zod'
import { dottedAction, type Metadata, parseSource, putMeta } from './common'

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()])
const valueLabel = z.object({ value: z.unknown().optional(), label: z.string().optional() }).strict()

export const recordSchema = z
  .object({
    id: z.string().optional(),
    kind: z.enum(['CREATE', 'UPDATE', 'DELETE']),
    occurredAt: z.string(),
    description: z
      .object({ template: z.string(), values: z.record(z.string(), scalar).default({}) })
      .strict()
      .optional(),
    entity: z
      .object({
        id: z.union([z.string().min(1), z.number()]),
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
    origin: z.enum(['USER', 'SYSTEM', 'AI']).default('USER'),
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

const VERB = { CREATE: 'created', UPDATE: 'updated', DELETE: 'deleted' } as const

export function mapRecord(body: unknown, prefix = ''): unknown[] {
  const r = parseSource(recordSchema, body, 'record', prefix)
  const who = r.author ?? r.agent!
  const actorType =
    r.origin === 'AI' ? 'ai' : r.author ? 'user' : r.origin === 'SYSTEM' ? 'system' : 'service'
  const metadata: Metadata = putMeta({}, { origin: r.origin, entity_kind_label: r.entity.kind.label })
  for (const [k, v] of Object.entries(r.metadata ?? {})) putMeta(metadata, { [k]: v })
  const labels = Object.fromEntries(
    (r.fields ?? [])
      .filter((f) => f.label || f.before?.label || f.after?.label)
      .map((f) => [f.name, { label: f.label, before: f.before?.label, after: f.after?.label }]),
  )
  if (Object.keys(labels).length) putMeta(metadata, { field_labels: labels })
  const context = r.author
    ? {
        ...(r.author.ip ? { ip: r.author.ip } : {}),
        ...(r.author.userAgent ? { user_agent: r.author.userAgent } : {}),
      }
    : {}
  return [
    {
      ...(r.id ? { id: r.id } : {}),
      occurred_at: r.occurredAt,
      action: dottedAction(r.entity.kind.kind, VERB[r.kind]),
      actor: {
        type: actorType,
        id: who.id,
        ...(who.name ? { name: who.name } : {}),
        ...(r.author?.email ? { email: r.author.email } : {}),
      },
      target: {
        type: r.entity.kind.kind,
        id: String(r.entity.id),
        ...(r.entity.title ? { name: r.entity.title } : {}),
        ...(r.entity.url ? { url: r.entity.url } : {}),
      },
      ...(r.fields?.length
        ? {
            changes: r.fields.map((f) => ({
              field: f.name,
              ...(f.before && 'value' in f.before ? { before: f.before.value } : {}),
              ...(f.after && 'value' in f.after ? { after: f.after.value } : {}),
            })),
          }
        : {}),
      ...(Object.keys(context).length ? { context } : {}),
      ...(r.description ? { description: r.description } : {}),
      metadata,
    },
  ]
}

// Event v1 as clients send it. Defined once: the ingest route validates with it, the types
// are inferred from it, and the OpenAPI document is generated from it.
import { z } from '@hono/zod-openapi'
import { LIMITS } from '../limits'

export const ACTOR_TYPES = ['user', 'service', 'api_key', 'system', 'ai'] as const

export const eventIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')

export const actionSchema = z
  .string()
  .max(128)
  .regex(
    /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/,
    'must be a lower-case dotted verb such as "user.role.updated"',
  )

const text = (max: number) => z.string().min(1).max(max)

/** RFC 3339 with a zone; normalised to UTC with milliseconds. */
export const timestampSchema = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i,
    'must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date')
  .transform((s) => new Date(Date.parse(s)).toISOString())

const scalar = z.union([z.string().max(LIMITS.metadataMaxValueLength), z.number(), z.boolean(), z.null()])

export const actorSchema = z
  .object({
    type: z.enum(ACTOR_TYPES),
    id: text(256),
    name: text(256).optional(),
    email: z.email().max(320).optional(),
  })
  .strict()

export const targetSchema = z
  .object({ type: text(128), id: text(256), name: text(256).optional(), url: z.url().max(2048).optional() })
  .strict()

export const parentSchema = z.object({ type: text(128), id: text(256), name: text(256).optional() }).strict()

export const outcomeSchema = z
  .object({
    status: z.enum(['success', 'failure']),
    code: text(128).optional(),
    reason: text(1024).optional(),
  })
  .strict()

const jsonValue: z.ZodType<unknown> = z.unknown()

export const changeSchema = z
  .object({ field: text(256), before: jsonValue.optional(), after: jsonValue.optional() })
  .strict()

export const contextSchema = z
  .object({
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    user_agent: text(1024).optional(),
    request_id: text(256).optional(),
    session_id: text(256).optional(),
    correlation_id: text(256).optional(),
  })
  .strict()

export const descriptionSchema = z.union([
  text(2048),
  z.object({ template: text(2048), values: z.record(z.string().max(64), scalar).default({}) }).strict(),
])

export const metadataSchema = z
  .record(z.string().min(1).max(LIMITS.metadataMaxKeyLength), scalar)
  .refine((m) => Object.keys(m).length <= LIMITS.metadataMaxKeys, {
    message: `may hold at most ${LIMITS.metadataMaxKeys} keys`,
  })

export const eventInputSchema = z
  .object({
    id: eventIdSchema.optional(),
    occurred_at: timestampSchema,
    action: actionSchema,
    actor: actorSchema,
    target: targetSchema,
    parent: parentSchema.optional(),
    outcome: outcomeSchema.optional(),
    changes: z.array(changeSchema).max(LIMITS.maxChanges).optional(),
    context: contextSchema.optional(),
    source: text(128).optional(),
    description: descriptionSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .openapi('EventInput')

export type EventInput = z.input<typeof eventInputSchema>
export type ValidEvent = z.output<typeof eventInputSchema>

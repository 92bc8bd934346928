// The stored event: one record shape shared by D1 (`body`), every archived NDJSON line, the
// hash chain and the API.
//
// Invariants:
// - `hash` and `prev_hash` are the only fields not covered by the event's leaf hash.
// - Absent optional fields are omitted, never null, so the canonical form is unique.
// - Free-form values (`changes[].before/after`) are kept as JSON text so every column of the
//   archive has one fixed type (what Athena's Hive JSON SerDe needs); the API decodes them.
import { z } from '@hono/zod-openapi'
import { hexHash } from '../integrity/sha256'
import { compact } from '../objects'
import { protectedValueSchema, shownProtectedSchema } from '../privacy/protected-value'
import { classNameSchema, retentionClassOf } from '../retention/classes'
import {
  actionSchema,
  actorSchema,
  contextSchema,
  eventIdSchema,
  outcomeSchema,
  parentSchema,
  targetSchema,
  type ValidEvent,
} from './event-schema'

export const STORED_EVENT_VERSION = 1

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()])

// The fields a privacy policy may protect (core/privacy/policy.ts) hold either what the client
// sent (validated as sent, at ingest) or its protected form (hmac:v1:..., sealed:v1:...).
const orProtected = <T extends z.ZodType>(s: T) => z.union([s, protectedValueSchema])
const storedActorSchema = actorSchema.extend({
  name: orProtected(actorSchema.shape.name.unwrap()).optional(),
  email: orProtected(actorSchema.shape.email.unwrap()).optional(),
})
const storedContextSchema = contextSchema.extend({
  ip: orProtected(contextSchema.shape.ip.unwrap()).optional(),
  user_agent: orProtected(contextSchema.shape.user_agent.unwrap()).optional(),
})
// As the API shows them: the plaintext, a hash, or a mask (core/privacy/reveal.ts).
const orShown = <T extends z.ZodType>(s: T, what: string) =>
  z.union([s, shownProtectedSchema]).openapi({
    description: `${what}; under the privacy policy: hmac:v1:<hex> when hashed, "[sealed]" when sealed and the key lacks pii:read, "[erased]" once the subject is erased`,
  })
const apiActorSchema = actorSchema.extend({
  name: orShown(actorSchema.shape.name.unwrap(), 'Display name').optional(),
  email: orShown(actorSchema.shape.email.unwrap(), 'E-mail address').optional(),
})
const apiContextSchema = contextSchema.extend({
  ip: orShown(contextSchema.shape.ip.unwrap(), 'Client IP address').optional(),
  user_agent: orShown(contextSchema.shape.user_agent.unwrap(), 'User agent').optional(),
})

export const ingestFactsSchema = z
  .object({
    key_id: z.string(),
    request_id: z.string(),
    colo: z.string().optional(),
    country: z.string().optional(),
  })
  .strict()

/** An event accepted at the edge, before the consumer gives it a place in the chain. */
export const pendingEventSchema = z
  .object({
    v: z.literal(STORED_EVENT_VERSION),
    tenant: z.string().min(1).max(128),
    id: eventIdSchema,
    occurred_at: z.string(),
    received_at: z.string(),
    action: actionSchema,
    actor: storedActorSchema,
    target: targetSchema,
    parent: parentSchema.optional(),
    outcome: outcomeSchema,
    changes: z
      .array(
        z.object({ field: z.string(), before: z.string().optional(), after: z.string().optional() }).strict(),
      )
      .optional(),
    context: storedContextSchema.optional(),
    source: z.string().optional(),
    description: z
      .object({ template: z.string(), values: z.record(z.string(), scalar) })
      .strict()
      .optional(),
    metadata: z.record(z.string(), scalar).optional(),
    ingest: ingestFactsSchema,
    /** The retention class, fixed at ingest (core/retention/classes.ts); absent before classes existed. */
    retention: classNameSchema.optional(),
  })
  .strict()

export const storedEventSchema = pendingEventSchema
  .extend({
    seq: z.number().int().positive(),
    prev_hash: hexHash,
    hash: hexHash,
  })
  .strict()

export type PendingEvent = z.infer<typeof pendingEventSchema>
export type StoredEvent = z.infer<typeof storedEventSchema>
export type IngestFacts = z.infer<typeof ingestFactsSchema>

/** What the edge knows of an ingest request: the key that posted it, its id, where it arrived. */
export function ingestFacts(keyId: string, requestId: string, cf?: object): IngestFacts {
  // request.cf is the platform's untyped bag (absent under some runtimes); take only strings.
  const { colo, country } = (cf ?? {}) as { colo?: unknown; country?: unknown }
  return {
    key_id: keyId,
    request_id: requestId,
    ...(typeof colo === 'string' && colo ? { colo } : {}),
    ...(typeof country === 'string' && country ? { country } : {}),
  }
}

/**
 * Builds the record from a validated event. Optional fields are only set when present (never
 * added then deleted: objects that lose keys become slow to copy and serialize, and every event
 * is serialized at least twice on its way). Nested objects are taken as zod produced them (fresh
 * objects holding only the keys present).
 */
export function toPendingEvent(
  e: ValidEvent,
  tenant: string,
  receivedAt: string,
  ingest: IngestFacts,
  id: string | undefined = e.id,
): PendingEvent {
  if (id === undefined) throw new Error("an event needs its id (the client's or one minted at the edge)")
  const out: PendingEvent = {
    v: STORED_EVENT_VERSION as 1,
    tenant,
    id,
    occurred_at: e.occurred_at,
    received_at: receivedAt,
    action: e.action,
    actor: e.actor,
    target: e.target,
    outcome: e.outcome ?? { status: 'success' as const },
    ingest,
    retention: retentionClassOf(tenant, e.action),
  }
  if (e.parent !== undefined) out.parent = e.parent
  if (e.changes !== undefined)
    out.changes = e.changes.map((c) => {
      const change: { field: string; before?: string; after?: string } = { field: c.field }
      if (c.before !== undefined) change.before = JSON.stringify(c.before)
      if (c.after !== undefined) change.after = JSON.stringify(c.after)
      return change
    })
  if (e.context !== undefined) out.context = e.context
  if (e.source !== undefined) out.source = e.source
  if (e.description !== undefined)
    out.description =
      typeof e.description === 'string'
        ? { template: e.description, values: {} }
        : { template: e.description.template, values: e.description.values ?? {} }
  if (e.metadata !== undefined) out.metadata = e.metadata
  return out
}

/** The API's view: free-form values decoded back to JSON, a plain description as a string. */
export function toApiEvent(s: StoredEvent & { integrity_violation?: object }) {
  // Built field by field, in reading order (who, what, to which resource, ...; chain fields
  // last), whatever order the stored line has its keys in.
  return compact({
    id: s.id,
    tenant: s.tenant,
    seq: s.seq,
    occurred_at: s.occurred_at,
    received_at: s.received_at,
    action: s.action,
    actor: s.actor,
    target: s.target,
    parent: s.parent,
    outcome: s.outcome,
    changes: s.changes?.map((c) =>
      compact({
        field: c.field,
        before: c.before === undefined ? undefined : (JSON.parse(c.before) as unknown),
        after: c.after === undefined ? undefined : (JSON.parse(c.after) as unknown),
      }),
    ),
    context: s.context,
    source: s.source,
    description:
      s.description === undefined
        ? undefined
        : Object.keys(s.description.values).length === 0
          ? s.description.template
          : s.description,
    metadata: s.metadata,
    ingest: s.ingest,
    retention: s.retention,
    hash: s.hash,
    prev_hash: s.prev_hash,
    // Present only when the stored line failed its check (core/integrity/verified-read.ts).
    integrity_violation: s.integrity_violation,
  })
}
export type ApiEvent = ReturnType<typeof toApiEvent>

const apiTime = z.iso
  .datetime({ offset: false, precision: 3 })
  .openapi({ description: 'UTC, with milliseconds', example: '2026-01-31T12:00:00.000Z' })

/** The event as the API serves it (toApiEvent): the OpenAPI document's Event. */
export const apiEventSchema = z
  .object({
    id: eventIdSchema,
    tenant: z.string().min(1).max(128),
    seq: z.number().int().positive().openapi({ description: "Position in the tenant's hash chain, from 1" }),
    occurred_at: apiTime,
    received_at: apiTime,
    action: actionSchema,
    actor: apiActorSchema.openapi('Actor'),
    target: targetSchema.openapi('Target'),
    parent: parentSchema.openapi('Parent').optional(),
    outcome: outcomeSchema.openapi('Outcome'),
    changes: z
      .array(
        z
          .object({
            field: z.string(),
            before: z.unknown().optional().openapi({ description: 'Any JSON value' }),
            after: z.unknown().optional().openapi({ description: 'Any JSON value' }),
          })
          .strict(),
      )
      .optional(),
    context: apiContextSchema.openapi('EventContext').optional(),
    source: z.string().optional(),
    description: z
      .union([z.string(), z.object({ template: z.string(), values: z.record(z.string(), scalar) }).strict()])
      .optional(),
    metadata: z.record(z.string(), scalar).optional(),
    ingest: ingestFactsSchema.openapi('IngestFacts'),
    retention: classNameSchema.optional().openapi({
      description:
        'Retention class, fixed at ingest and hashed with the event; absent on events stored before classes (the default class)',
      example: 'access',
    }),
    hash: hexHash.clone().openapi({ description: 'SHA-256 chain hash, 64 lower-case hex digits' }),
    prev_hash: hexHash.clone().openapi({ description: "The previous event's hash (64 zeros for seq 1)" }),
    integrity_violation: z
      .object({ reason: z.string(), expected: z.string().optional(), computed: z.string().optional() })
      .strict()
      .optional()
      .openapi({ description: 'Present only when the stored line failed its check' }),
  })
  .strict()
  .openapi('Event', {
    example: {
      id: 'evt_0001',
      tenant: 'acme',
      seq: 1,
      occurred_at: '2026-01-31T12:00:00.000Z',
      received_at: '2026-01-31T12:00:00.123Z',
      action: 'user.role.updated',
      actor: { type: 'user', id: 'u_1', email: 'ada@example.com' },
      target: { type: 'user', id: 'u_2' },
      outcome: { status: 'success' },
      ingest: { key_id: 'key_01', request_id: '01950c1e-7a4b-7c3d-8e9f-0a1b2c3d4e5f' },
      retention: 'access',
      hash: 'b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78',
      prev_hash: '0000000000000000000000000000000000000000000000000000000000000000',
    },
  })

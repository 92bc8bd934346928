import { z } from '@hono/zod-openapi'
import { Hono } from 'hono'
import { uuidv7 } from '../../core/ids'
import { rejectDuplicateIds } from '../../core/ingest/duplicate-ids'
import { enqueueEvents } from '../../core/ingest/enqueue'
import { eventInputSchema } from '../../core/ingest/event-schema'
import { CLOUDEVENTS_BATCH, CLOUDEVENTS_STRUCTURED } from '../../core/ingest/formats'
import { cloudEventSchema } from '../../core/ingest/formats/cloudevents'
import { ingestFacts, toPendingEvent } from '../../core/ingest/stored-event'
import { validateEvents } from '../../core/ingest/validate-events'
import { LIMITS } from '../../core/limits'
import { privacyContext } from '../../core/privacy/context'
import { protectEvents } from '../../core/privacy/protect'
import type { AppEnv } from '../context'
import { checkMediaType, FORMAT_CHOICES, selectFormat } from '../ingest/formats'
import { parseJson, readBodyText } from '../ingest/read-body'
import { keyOf, requireScope } from '../middleware/auth'
import type { router } from '../openapi'
import { bearerSecurity, problemResponse } from '../openapi'

const acceptedSchema = z
  .object({ accepted: z.array(z.object({ id: z.string() }).strict()) })
  .strict()
  .openapi('Accepted', { example: { accepted: [{ id: '01950c1e-7a4b-7c3d-8e9f-0a1b2c3d4e5f' }] } })

/** A structured CloudEvent as the ingest route reads it (core/ingest/formats/cloudevents.ts). */
const cloudEventDoc = z
  .object({
    ...cloudEventSchema.shape,
    // The same media types the decoder accepts, without a regex flag (JSON Schema has none).
    datacontenttype: z
      .string()
      .regex(
        /^([Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn]|[Tt][Ee][Xx][Tt])\/([A-Za-z0-9.-]+\+)?[Jj][Ss][Oo][Nn](\s*;.*)?$/,
      )
      .optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()]))
  .openapi('CloudEvent', {
    description:
      'CloudEvents 1.0, structured mode. data holds a v1 event (or an eventbridge, record or resource one, chosen by dataschema urn:audit-log:format:<name> or by its fields); extension attributes without a v1 field go to metadata as ce_<name>.',
    example: {
      specversion: '1.0',
      id: 'ce-1',
      source: 'orders',
      type: 'order.updated',
      time: '2026-01-31T12:00:00Z',
      data: { actor: { type: 'user', id: 'u_1' }, target: { type: 'order', id: 'o_1' } },
    },
  })

const eventExample = {
  occurred_at: '2026-01-31T12:00:00Z',
  action: 'user.role.updated',
  actor: { type: 'user', id: 'u_1', email: 'ada@example.com' },
  target: { type: 'user', id: 'u_2' },
  changes: [{ field: 'role', before: 'viewer', after: 'admin' }],
}

export const ingestRoutes = new Hono<AppEnv>().post(
  '/v1/events',
  requireScope('events:write'),
  async function ingestEvents(c) {
    const { tenant, keyId } = keyOf(c.get('auth'))
    const contentType = c.req.header('content-type')
    const format = selectFormat(c.req.query('format'), c.req.raw.headers)
    checkMediaType(format, contentType)
    const body = parseJson(await readBodyText(c.req.raw, LIMITS.maxBodyBytes))
    const now = Date.now()
    const decoded = format.decode(body, { headers: c.req.raw.headers, tenant })
    const valid = validateEvents(decoded.events, { now, batch: decoded.batch })
    rejectDuplicateIds(valid)
    const ingest = ingestFacts(keyId, c.get('requestId'), c.req.raw.cf)
    const receivedAt = new Date(now).toISOString()
    const pending = valid.map((e) => toPendingEvent(e, tenant, receivedAt, ingest, e.id ?? uuidv7(now)))
    // Personal data fields are hashed or sealed here, before anything leaves the request.
    const stored = await protectEvents(privacyContext(c.env, tenant), tenant, pending, {
      batch: decoded.batch,
    })
    const accepted = await enqueueEvents(c.env.EVENTS_QUEUE, tenant, stored, { batch: decoded.batch })
    return c.json({ accepted: accepted.map((id) => ({ id })) }, 202)
  },
)

/** Documents the ingest route, which reads its body itself (size limits, formats). */
export function documentIngest(app: ReturnType<typeof router>) {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/events',
    operationId: 'ingestEvents',
    tags: ['Events'],
    summary: 'Ingest one event, or a batch as {"events": [...]}',
    description: `Needs the events:write scope. At most ${LIMITS.maxEventsPerRequest} events and ${LIMITS.maxBodyBytes} bytes per request. A 202 means every listed event is on the queue: deployed, Cloudflare Queues hold it durably until the consumer has stored it in D1 and R2; under a local npm start the queue is in memory, so a crash of that process loses what was still queued. Other formats: ?format=${FORMAT_CHOICES.join('|')}; CloudEvents also by Content-Type application/cloudevents+json, application/cloudevents-batch+json, or a ce-specversion header (binary mode). Fields the tenant's privacy policy names (default: actor.email, actor.name, context.ip, context.user_agent) are validated as sent, then stored only hashed or sealed (docs/privacy.md); values beginning with hmac:v1: or sealed:v1: are refused there.`,
    security: bearerSecurity,
    request: {
      query: z.object({
        format: z
          .enum(FORMAT_CHOICES)
          .optional()
          .openapi({ description: 'The input format; absent: v1 (or CloudEvents by Content-Type)' }),
      }),
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.union([
              eventInputSchema.openapi('EventInput'),
              z
                .object({ events: z.array(eventInputSchema.openapi('EventInput')) })
                .strict()
                .openapi('EventBatch'),
            ]),
            examples: {
              one: { summary: 'One event', value: eventExample },
              batch: { summary: 'A batch', value: { events: [eventExample] } },
            },
          },
          [CLOUDEVENTS_STRUCTURED]: { schema: cloudEventDoc },
          [CLOUDEVENTS_BATCH]: { schema: z.array(cloudEventDoc) },
        },
      },
    },
    responses: {
      202: {
        description: 'Accepted onto the queue',
        content: { 'application/json': { schema: acceptedSchema } },
      },
      400: problemResponse('Invalid JSON or events; errors name the index and field'),
      401: problemResponse('Missing or unknown API key'),
      403: problemResponse('Key lacks events:write'),
      413: problemResponse('Body too large'),
      415: problemResponse('Unsupported content type'),
      503: problemResponse(
        'Queue unavailable (Retry-After says when to retry, accepted lists what was taken), or the PII keys are unset and an event holds a field the privacy policy protects (nothing was accepted)',
      ),
    },
  })
}

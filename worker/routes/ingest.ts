import { z } from '@hono/zod-openapi'
import { Hono } from 'hono'
import { uuidv7 } from '../../core/ids'
import { rejectDuplicateIds } from '../../core/ingest/duplicate-ids'
import { enqueueEvents } from '../../core/ingest/enqueue'
import { eventInputSchema } from '../../core/ingest/event-schema'
import { ingestFacts, toPendingEvent } from '../../core/ingest/stored-event'
import { validateEvents } from '../../core/ingest/validate-events'
import { LIMITS } from '../../core/limits'
import type { AppEnv } from '../context'
import { checkMediaType, FORMAT_CHOICES, selectFormat } from '../ingest/formats'
import { parseJson, readBodyText } from '../ingest/read-body'
import { keyOf, requireScope } from '../middleware/auth'
import type { router } from '../openapi'
import { bearerSecurity, problemResponse } from '../openapi'

const acceptedSchema = z.object({ accepted: z.array(z.object({ id: z.string() })) }).openapi('Accepted')

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
    const accepted = await enqueueEvents(c.env.EVENTS_QUEUE, tenant, pending, { batch: decoded.batch })
    return c.json({ accepted: accepted.map((id) => ({ id })) }, 202)
  },
)

/** Documents the ingest route, which reads its body itself (size limits, formats). */
export function documentIngest(app: ReturnType<typeof router>) {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/events',
    tags: ['Events'],
    summary: 'Ingest one event, or a batch as {"events": [...]}',
    description: `Needs the events:write scope. At most ${LIMITS.maxEventsPerRequest} events and ${LIMITS.maxBodyBytes} bytes per request. A 202 means every listed event is on the queue: deployed, Cloudflare Queues hold it durably until the consumer has stored it in D1 and R2; under a local npm start the queue is in memory, so a crash of that process loses what was still queued. Other formats: ?format=${FORMAT_CHOICES.join('|')}; CloudEvents also by Content-Type application/cloudevents+json, application/cloudevents-batch+json, or a ce-specversion header (binary mode).`,
    security: bearerSecurity,
    request: {
      query: z.object({ format: z.string().optional() }),
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.union([
              eventInputSchema,
              z.object({ events: z.array(eventInputSchema) }).openapi('EventBatch'),
            ]),
          },
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
        'Queue unavailable; Retry-After says when to retry, accepted lists what was taken',
      ),
    },
  })
}

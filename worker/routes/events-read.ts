import { createRoute, z } from '@hono/zod-openapi'
import { database } from '../../core/db/client'
import { getEventBody } from '../../core/db/events'
import { notFound } from '../../core/errors'
import { type StoredEvent, toApiEvent } from '../../core/ingest/stored-event'
import { recordRead } from '../audit-reads'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

export const readRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/v1/events/{id}',
    tags: ['Events'],
    summary: 'One stored event, with its seq and chain hash (the receipt)',
    security: bearerSecurity,
    middleware: [requireScope('events:read')] as const,
    request: { params: z.object({ id: z.string().min(1).max(128) }) },
    responses: {
      200: {
        description: 'The event',
        content: { 'application/json': { schema: z.record(z.string(), z.any()) } },
      },
      401: problemResponse('Missing or unknown API key'),
      403: problemResponse('Key lacks events:read'),
      404: problemResponse('No such event in this tenant'),
    },
  }),
  async function getEvent(c) {
    const { id } = c.req.valid('param')
    const tenant = tenantOf(c.get('auth'))
    const body = await getEventBody(database(c.env.DB), tenant, id)
    // The same answer for another tenant's id as for an unknown one.
    if (!body) throw notFound(`No event "${id}".`)
    recordRead(c, 'audit_log.read', { type: 'audit_event', id }, { event_id: id })
    return c.json(toApiEvent(JSON.parse(body) as StoredEvent) as unknown as Record<string, never>, 200)
  },
)

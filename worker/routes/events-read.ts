import { createRoute, z } from '@hono/zod-openapi'
import { readInScope } from '../../core/auth/viewer-scope'
import { tenantDb } from '../../core/db/shards'
import { DomainError } from '../../core/errors'
import { apiEventSchema, toApiEvent } from '../../core/ingest/stored-event'
import { readEventById } from '../../core/search/event-by-id'
import { recordRead } from '../audit-reads'
import { goneResponse } from '../expired-problem'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'
import { revealed } from '../privacy'
import { readSession, sendBookmark } from '../read-session'

const storedEventAnswer = apiEventSchema
  .extend({
    conflicts: z
      .object({ count: z.number().int().positive(), last_at: z.string() })
      .strict()
      .optional()
      .openapi({ description: 'Later posts of this id that carried other content' }),
  })
  .strict()
  .openapi('StoredEvent')

export const readRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/v1/events/{id}',
    operationId: 'getEvent',
    tags: ['Events'],
    summary: 'One stored event, with its seq and chain hash (the receipt)',
    description:
      'Any age: past the hot window the line is read from the archive. Every line is re-hashed before it is served (a record that fails is an integrity_violation). `conflicts` ({count, last_at}) is present when later posts of this id carried other content: the first stored copy always stands.',
    security: bearerSecurity,
    middleware: [requireScope('events:read', { allowViewer: true })] as const,
    request: { params: z.object({ id: z.string().min(1).max(128) }) },
    responses: {
      200: {
        description: 'The event',
        content: { 'application/json': { schema: storedEventAnswer } },
      },
      401: problemResponse('Missing or unknown API key'),
      403: problemResponse('Key lacks events:read'),
      404: problemResponse('No such event in this tenant'),
      503: problemResponse('The key holds pii:read but PII_KEYS is unset: sealed values cannot be opened'),
      410: goneResponse,
      500: problemResponse('integrity_violation: the stored record failed its check and is not served'),
    },
  }),
  async function getEvent(c) {
    const { id } = c.req.valid('param')
    const auth = c.get('auth')
    const tenant = tenantOf(auth)
    const session = await readSession(c, tenant)
    // A replica that has not caught up yet answers "no such event" for one just stored: such an
    // answer is asked of the primary before it is given (read-your-writes without a bookmark).
    const read = async () => {
      try {
        return await readEventById(session.db, c.env.ARCHIVE, tenant, id)
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'not_found')) throw err
        return readEventById(await tenantDb(c.env, tenant), c.env.ARCHIVE, tenant, id)
      }
    }
    const { event, conflicts } = await (auth.kind === 'viewer' ? readInScope(auth.scope, read, id) : read())
    sendBookmark(c, session)
    recordRead(c, 'audit_log.read', { type: 'audit_event', id }, { event_id: id })
    const [shown] = await revealed(c, tenant, [event])
    const answer = { ...toApiEvent(shown!), ...(conflicts ? { conflicts } : {}) }
    return c.json(answer as z.infer<typeof storedEventAnswer>, 200)
  },
)

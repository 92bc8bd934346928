import { createRoute, z } from '@hono/zod-openapi'
import { listDeadLetters, replayDeadLetters } from '../../core/dead-letters'
import { pageLimitSchema } from '../../core/limits'
import { requireAdminToken } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const operatorOnly = requireAdminToken()
const limitQuery = z.object({ limit: pageLimitSchema })

export const adminRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/dead-letters',
      tags: ['Operations'],
      summary: 'List messages parked in the dead-letter store, with the reason',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: limitQuery },
      responses: {
        200: {
          description: 'Dead letters',
          content: { 'application/json': { schema: z.object({}).passthrough() } },
        },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function listLetters(c) {
      return c.json(await listDeadLetters(c.env, c.req.valid('query').limit), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/dead-letters/replay',
      tags: ['Operations'],
      summary: 'Re-enqueue parked messages (idempotent: stored events are skipped)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: limitQuery },
      responses: {
        200: {
          description: 'Replay result',
          content: { 'application/json': { schema: z.object({}).passthrough() } },
        },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function replayLetters(c) {
      return c.json(await replayDeadLetters(c.env, c.req.valid('query').limit), 200)
    },
  )

import { createRoute, z } from '@hono/zod-openapi'
import { listDeadLetters, replayDeadLetters } from '../../core/dead-letters'
import { pageLimitSchema } from '../../core/limits'
import { requireAdminToken } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const operatorOnly = requireAdminToken()
const limitQuery = z.object({ limit: pageLimitSchema })

const deadLetterList = z
  .object({
    dead_letters: z.array(
      z
        .object({
          key: z.string(),
          reason: z.string(),
          failed_at: z.string(),
          events: z.number().int().nonnegative(),
        })
        .strict()
        .openapi('DeadLetter'),
    ),
    truncated: z.boolean().openapi({ description: 'More letters than limit are parked' }),
  })
  .strict()
  .openapi('DeadLetterList', { example: { dead_letters: [], truncated: false } })

const replayResult = z
  .object({
    replayed: z.number().int().nonnegative(),
    skipped: z.array(z.object({ key: z.string(), reason: z.string() }).strict()),
    remaining: z.boolean().openapi({ description: 'More letters remain parked beyond limit' }),
  })
  .strict()
  .openapi('DeadLetterReplay', { example: { replayed: 0, skipped: [], remaining: false } })

export const adminRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/dead-letters',
      operationId: 'listLetters',
      tags: ['Operations'],
      summary: 'List messages parked in the dead-letter store, with the reason',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: limitQuery },
      responses: {
        200: {
          description: 'Dead letters',
          content: { 'application/json': { schema: deadLetterList } },
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
      operationId: 'replayLetters',
      tags: ['Operations'],
      summary: 'Re-enqueue parked messages (idempotent: stored events are skipped)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: limitQuery },
      responses: {
        200: {
          description: 'Replay result',
          content: { 'application/json': { schema: replayResult } },
        },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function replayLetters(c) {
      return c.json(await replayDeadLetters(c.env, c.req.valid('query').limit), 200)
    },
  )

import { createRoute, z } from '@hono/zod-openapi'
import { abortMove, advanceMove, shardsReport } from '../../core/db/shard-move'
import { shards } from '../../core/db/shards'
import { listDeadLetters, replayDeadLetters } from '../../core/dead-letters'
import { recordServiceEvents } from '../../core/ingest/service-events'
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

const moveState = z.enum(['frozen', 'copying', 'switched', 'done', 'aborted'])

const shardList = z
  .object({
    shards: z.array(
      z
        .object({
          name: z.string().openapi({ description: 'The D1 binding (D1_SHARDS)' }),
          directory: z.boolean().openapi({ description: 'Also holds API keys, sessions and the shard map' }),
          tenants: z.number().int().nonnegative(),
          moving: z.array(
            z.object({ tenant: z.string(), from: z.string(), to: z.string(), state: z.string() }).strict(),
          ),
        })
        .strict()
        .openapi('Shard'),
    ),
  })
  .strict()
  .openapi('ShardList')

const moveRequest = z
  .object({
    tenant: z.string().min(1).max(128),
    to: z
      .string()
      .min(1)
      .max(64)
      .openapi({ description: 'The target shard, a name from GET /v1/admin/shards' }),
    abort: z.literal(true).optional().openapi({
      description: 'Give up the move (before it switched): the tenant takes writes on its source again',
    }),
  })
  .strict()
  .openapi('ShardMoveRequest')

const moveStatus = z
  .object({
    tenant: z.string(),
    from: z.string(),
    to: z.string(),
    state: moveState,
    copied: z.record(z.string(), z.number().int().nonnegative()),
    wait_ms: z.number().int().nonnegative().openapi({ description: 'Call again after this long' }),
  })
  .strict()
  .openapi('ShardMove')

export const adminRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/shards',
      operationId: 'listShards',
      tags: ['Operations'],
      summary: 'The D1 shards, how many tenants each holds, and tenant moves under way',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      responses: {
        200: { description: 'Shards', content: { 'application/json': { schema: shardList } } },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function listShards(c) {
      return c.json({ shards: await shardsReport(c.env, shards(c.env)) }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/shards/moves',
      operationId: 'moveTenant',
      tags: ['Operations'],
      summary: "Start or advance a tenant's move to another shard (resumable; repeat until done)",
      description:
        'Each call does a bounded part of the move and says where it stands. While the move is under way the tenant takes no writes: its queued events wait (nothing is lost) and write routes answer 503; reads go on. Every copied page is read back and compared, and each table is recounted before the switch. Recorded as audit_log.tenant.moved once done.',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { body: { required: true, content: { 'application/json': { schema: moveRequest } } } },
      responses: {
        200: {
          description: 'Where the move stands',
          content: { 'application/json': { schema: moveStatus } },
        },
        400: problemResponse('Invalid body'),
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
        404: problemResponse('No such shard, or the tenant has stored nothing'),
        409: problemResponse('The tenant is moving elsewhere, or another request advanced this move'),
      },
    }),
    async function moveTenant(c) {
      const { tenant, to, abort } = c.req.valid('json')
      const status = abort ? await abortMove(c.env, tenant) : await advanceMove(c.env, tenant, to)
      if (status.state === 'done' && status.from !== status.to)
        await recordServiceEvents(
          c.env.EVENTS_QUEUE,
          tenant,
          [
            {
              action: 'audit_log.tenant.moved',
              actor: { type: 'system', id: 'admin-token' },
              target: { type: 'audit_log', id: tenant },
              metadata: { from: status.from, to: status.to },
            },
          ],
          { keyId: 'admin-token', requestId: c.get('requestId') },
        )
      return c.json(status, 200)
    },
  )
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

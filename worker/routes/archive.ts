import { createRoute, z } from '@hono/zod-openapi'
import { compactClosedDays } from '../../core/archive/compaction-sweep'
import { mirrorStatus, reconcileMirror } from '../../core/archive/mirror'
import { requireAdminToken } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const operatorOnly = requireAdminToken()
const json = z.record(z.string(), z.any())
const errors = { 401: problemResponse('Missing or unknown credentials'), 403: problemResponse('Not allowed') }

export const archiveRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/archive/status',
      tags: ['Operations'],
      summary: 'Mirror backlog: archive objects in R2 not yet (or not identically) in S3',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      responses: {
        200: { description: 'Status', content: { 'application/json': { schema: json } } },
        ...errors,
      },
    }),
    async function getArchiveStatus(c) {
      return c.json((await mirrorStatus(c.env)) as unknown as Record<string, never>, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/archive/compact',
      tags: ['Operations'],
      summary: 'Compact closed days now (the cron does it every 5 minutes)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: {
        query: z.object({ grace_days: z.coerce.number().int().min(0).max(365).default(1) }).strict(),
      },
      responses: {
        200: { description: 'Manifests written', content: { 'application/json': { schema: json } } },
        400: problemResponse('Invalid query'),
        ...errors,
      },
    }),
    async function compactArchive(c) {
      const { manifests, failed } = await compactClosedDays(c.env.ARCHIVE, {
        graceDays: c.req.valid('query').grace_days,
      })
      return c.json(
        { compacted: manifests.length, manifests, failed } as unknown as Record<string, never>,
        200,
      )
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/archive/reconcile',
      tags: ['Operations'],
      summary: 'Run one bounded step of the mirror reconciler now (the cron runs one every 5 minutes)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: z.object({ max: z.coerce.number().int().min(1).max(10_000).default(500) }).strict() },
      responses: {
        200: { description: 'What was copied', content: { 'application/json': { schema: json } } },
        400: problemResponse('Invalid query'),
        ...errors,
      },
    }),
    async function reconcileArchive(c) {
      const report = await reconcileMirror(c.env, { maxCopies: c.req.valid('query').max })
      return c.json(report as unknown as Record<string, never>, 200)
    },
  )

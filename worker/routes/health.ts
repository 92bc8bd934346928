// GET /healthz: cheap by default (no I/O, no credentials); `?deep=1` takes the admin token and
// checks the dependencies (core/health.ts).
import { createRoute, z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { deepHealth } from '../../core/health'
import type { AppEnv } from '../context'
import { requireAdminToken } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const operatorOnly = requireAdminToken()

/** `deep` asks for the deep check unless it is 0 or false. */
function wantsDeep(deep: string | undefined): boolean {
  return deep !== undefined && deep !== '0' && deep.toLowerCase() !== 'false'
}

const deepNeedsAdmin = createMiddleware<AppEnv>((c, next) =>
  wantsDeep(c.req.query('deep')) ? operatorOnly(c, next) : next(),
)

const check = z
  .object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() })
  .catchall(z.unknown())
  .openapi('HealthCheck', { description: 'A check; other fields are facts the check reports' })
const report = z
  .object({
    status: z.enum(['ok', 'degraded']),
    checks: z.record(z.string(), check).optional(),
  })
  .openapi('Health', { example: { status: 'ok' } })

export const healthRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tags: ['Operations'],
    summary: 'Liveness; with deep=1 (admin token) also D1, R2, the queue bindings and the signing keys',
    security: [{}, ...bearerSecurity],
    description: 'Public without deep=1 (no credentials needed); deep=1 takes the admin token.',
    middleware: [deepNeedsAdmin] as const,
    request: {
      query: z.object({
        deep: z.string().optional().openapi({ description: '1 runs the deep checks (admin token only)' }),
      }),
    },
    responses: {
      200: { description: 'Healthy', content: { 'application/json': { schema: report } } },
      401: problemResponse('deep=1 without credentials'),
      403: problemResponse('deep=1 without the admin token'),
      503: { description: 'A deep check failed', content: { 'application/json': { schema: report } } },
    },
  }),
  async function health(c) {
    c.header('cache-control', 'no-store')
    if (!wantsDeep(c.req.valid('query').deep)) return c.json({ status: 'ok' as const }, 200)
    const r = await deepHealth(c.env)
    return r.status === 'ok' ? c.json(r, 200) : c.json(r, 503)
  },
)

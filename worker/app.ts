import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { routePath } from 'hono/route'
import { TrieRouter } from 'hono/router/trie-router'
import { uuidv7 } from '../core/ids'
import type { AppEnv } from './context'
import { responseHeaders } from './middleware/headers'
import { limitAnonymous } from './middleware/rate-limit'
import { problemResponse, router } from './openapi'
import { onError, problem } from './problem'
import { adminRoutes } from './routes/admin'
import { archiveRoutes } from './routes/archive'
import { consoleRoutes } from './routes/console'
import { docsRoutes } from './routes/docs'
import { readRoutes } from './routes/events-read'
import { searchRoutes } from './routes/events-search'
import { exportRoutes } from './routes/export'
import { healthRoutes } from './routes/health'
import { documentIngest, ingestRoutes } from './routes/ingest'
import { integrityRoutes } from './routes/integrity'
import { integrityStatusRoutes } from './routes/integrity-status'
import { keysRoutes } from './routes/keys'
import { sessionRoutes } from './routes/sessions'
import { subjectRoutes } from './routes/subjects'
import { viewerTokenRoutes } from './routes/viewer-tokens'

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/**
 * The methods each registered path answers (HEAD wherever GET is), for 405 answers: a path no
 * route has stays a 404.
 */
function allowedMethods(routes: readonly { method: string; path: string }[]) {
  const table = new TrieRouter<string>()
  // Middleware is registered for every method; only routes say what a path answers.
  for (const r of routes) if (r.method !== 'ALL') table.add('ALL', r.path, r.method)
  return (path: string): string[] => {
    const methods = new Set(table.match('GET', path)[0].map(([method]) => method))
    if (methods.has('GET')) methods.add('HEAD')
    return [...methods].sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b))
  }
}

/** Any operation may be rate limited (worker/middleware/rate-limit.ts). */
function documentRateLimits(app: ReturnType<typeof router>) {
  for (const d of app.openAPIRegistry.definitions) {
    if (d.type !== 'route') continue
    d.route.responses[429] ??= {
      ...problemResponse('Too many requests: retry after Retry-After seconds'),
      headers: {
        'Retry-After': {
          description: 'Seconds to wait before retrying',
          schema: { type: 'integer', minimum: 1 },
        },
      },
    }
  }
}

/**
 * The HTTP API. `extend` mounts extra routes before the documented ones are described (the
 * benchmarks' own entry uses it; the production Worker mounts none).
 */
export function createApp(extend?: (app: ReturnType<typeof router>) => void) {
  const app = router()
  // One structured log line per request (Workers Logs indexes its JSON fields).
  app.use('*', async (c, next) => {
    const start = Date.now()
    const requestId = uuidv7()
    c.set('requestId', requestId)
    try {
      await next()
    } finally {
      c.header('x-request-id', requestId)
      const auth = c.get('auth')
      const route = routePath(c, -1)
      console.log(
        JSON.stringify({
          msg: 'request',
          request_id: requestId,
          tenant: auth && auth.kind !== 'admin-token' ? auth.tenant : null,
          principal: auth?.kind ?? null,
          method: c.req.method,
          route: route === '*' || route === '/*' ? null : route,
          status: c.res.status,
          duration_ms: Date.now() - start,
        }),
      )
    }
  })
  app.use('*', responseHeaders())
  app.use('*', limitAnonymous())
  app.onError(onError)
  let allowed: ReturnType<typeof allowedMethods> | undefined
  app.notFound((c: Context<AppEnv>) => {
    const path = c.req.path
    allowed ??= allowedMethods(app.routes)
    const methods = allowed(path)
    if (methods.length === 0) return problem(c, 'not_found', `No route for ${c.req.method} ${path}.`)
    c.header('Allow', methods.join(', '))
    return problem(
      c,
      'method_not_allowed',
      `${c.req.method} is not allowed on ${path}; it answers ${methods.join(', ')}.`,
    )
  })

  app.route('/', healthRoutes)
  app.route('/', docsRoutes)
  app.route('/', consoleRoutes)
  app.route('/', keysRoutes)
  app.route('/', sessionRoutes)
  app.route('/', viewerTokenRoutes)
  app.route('/', ingestRoutes)
  app.route('/', searchRoutes)
  app.route('/', readRoutes)
  app.route('/', exportRoutes)
  app.route('/', integrityRoutes)
  app.route('/', integrityStatusRoutes)
  app.route('/', adminRoutes)
  app.route('/', archiveRoutes)
  app.route('/', subjectRoutes)
  extend?.(app)

  documentIngest(app)
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (scopes events:write, events:read, pii:read, admin), where stated the admin token or a read-only viewer token (avt_…); a console session cookie stands for the credential it was made from',
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tags: ['Operations'],
    summary: 'This OpenAPI 3.1 document',
    security: [],
    responses: {
      200: {
        description: 'The document',
        content: { 'application/json': { schema: z.object({ openapi: z.string() }).catchall(z.unknown()) } },
      },
    },
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'docsPage',
    tags: ['Operations'],
    summary: 'The API reference, rendered from this document',
    security: [],
    responses: {
      200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } },
    },
  })
  documentRateLimits(app)
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Audit Log API',
      version: '1.0.0',
      description:
        'Tamper-evident audit events at the edge: ingest, search, export, and verify them against signed checkpoints. Errors are application/problem+json.',
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    servers: [
      { url: '/', description: 'The origin serving this document' },
      { url: 'http://localhost:8787', description: 'Local: npm start' },
      {
        url: 'https://{host}',
        description: 'A deployment',
        variables: { host: { default: 'audit-log.example.com', description: "The Worker's host name" } },
      },
    ],
    tags: [
      { name: 'Events', description: 'Ingest, search, read and export audit events' },
      {
        name: 'Integrity',
        description: 'Signed checkpoints, inclusion and consistency proofs, the integrity monitor',
      },
      { name: 'Keys', description: 'API keys: mint, list, revoke' },
      { name: 'Console', description: 'Console sign-in (sessions, Cloudflare Access) and viewer tokens' },
      { name: 'Operations', description: 'Health, this document, dead letters and the archive mirror' },
      { name: 'Privacy', description: 'Data subjects: erasure by crypto-shredding, what is held' },
    ],
  })
  return app
}

export const app = createApp()

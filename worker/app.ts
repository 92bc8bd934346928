import { uuidv7 } from '../core/ids'
import { router } from './openapi'
import { onError, problem } from './problem'
import { adminRoutes } from './routes/admin'
import { archiveRoutes } from './routes/archive'
import { docsRoutes } from './routes/docs'
import { readRoutes } from './routes/events-read'
import { searchRoutes } from './routes/events-search'
import { exportRoutes } from './routes/export'
import { documentIngest, ingestRoutes } from './routes/ingest'
import { integrityRoutes } from './routes/integrity'
import { keysRoutes } from './routes/keys'

/**
 * The HTTP API. `extend` mounts extra routes before the documented ones are described (the
 * benchmarks' own entry uses it; the production Worker mounts none).
 */
export function createApp(extend?: (app: ReturnType<typeof router>) => void) {
  const app = router()
  app.use('*', async (c, next) => {
    const requestId = uuidv7()
    c.set('requestId', requestId)
    await next()
    c.header('x-request-id', requestId)
  })
  app.onError(onError)
  app.notFound((c) => problem(c, 'not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`))

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.route('/', docsRoutes)
  app.route('/', keysRoutes)
  app.route('/', ingestRoutes)
  app.route('/', searchRoutes)
  app.route('/', readRoutes)
  app.route('/', exportRoutes)
  app.route('/', integrityRoutes)
  app.route('/', adminRoutes)
  app.route('/', archiveRoutes)
  extend?.(app)

  documentIngest(app)
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Audit Log API',
      version: '1.0.0',
      description: 'Tamper-evident audit events at the edge.',
    },
  })
  return app
}

export const app = createApp()

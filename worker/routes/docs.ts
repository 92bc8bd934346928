// GET /docs: the API reference, rendered by Swagger UI from /openapi.json. Swagger UI's
// standalone bundle (swagger-ui-dist) is copied into the static assets by the asset build
// (scripts/build-console.ts) and served from this origin: no CDN, works offline. The page's own
// start-up script is served here too, so the page needs no inline script at all.
import { Hono } from 'hono'
import { pagePolicy, serveAsset } from '../assets'
import type { AppEnv } from '../context'

export const DOCS_ASSETS = '/docs/assets'

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Audit Log API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
</head><body><main id="swagger-ui"><noscript>This page renders <a href="/openapi.json">/openapi.json</a>; it needs JavaScript.</noscript></main>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`

// Reads the document from this origin only (validatorUrl null: no call to an online validator),
// shows every operation's request and response bodies with their examples.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  docExpansion: 'list',
  defaultModelsExpandDepth: 1,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  validatorUrl: null,
})
`

/**
 * The page's Content-Security-Policy: scripts and styles from this origin only (no inline
 * script), the data: images Swagger UI draws its icons with, fetches to this origin
 * (/openapi.json), nothing else, and no framing.
 */
export const DOCS_POLICY = pagePolicy()

const ASSET_TYPES: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
}

export const docsRoutes = new Hono<AppEnv>()
  .get('/docs', function docsPage(c) {
    c.header('Content-Security-Policy', DOCS_POLICY)
    return c.html(PAGE)
  })
  .get('/docs/init.js', function docsInit(c) {
    c.header('Cache-Control', 'public, max-age=300')
    return c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' })
  })
  .get(`${DOCS_ASSETS}/:file`, function docsAsset(c) {
    return serveAsset(c, DOCS_ASSETS, ASSET_TYPES, 'API reference')
  })

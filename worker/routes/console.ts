// GET /console and every path below it: the admin console's page shell, and its script and
// stylesheet from the static assets (dist/assets, built by scripts/build-console.ts). The shell
// is rendered here rather than served as a static file so that each answer carries the
// console's own Content-Security-Policy: scripts, styles and fetches from this origin only, no
// inline code, no framing. /console/embed (a viewer token's read-only view) may be framed by
// the origins in CONSOLE_FRAME_ORIGINS, and only by them.
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { DomainError } from '../../core/errors'
import { pagePolicy, serveAsset } from '../assets'
import type { AppEnv } from '../context'
import { problemResponse, router } from '../openapi'

export const CONSOLE_ASSETS = '/console/assets'

const ASSET_TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
}

const SHELL = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Audit Log console</title>
<link rel="stylesheet" href="${CONSOLE_ASSETS}/style.css">
<script type="module" src="${CONSOLE_ASSETS}/app.js"></script>
</head><body><div id="app"><main id="main"><p>Loading the console…</p>
<noscript><p>The console needs JavaScript. The same API is documented at <a href="/docs">/docs</a>.</p></noscript>
</main></div></body></html>`

const policy = (frameAncestors: string) => pagePolicy({ frameAncestors, formAction: "'self'" })

export const CONSOLE_POLICY = policy("'none'")

const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i

/** The embed page's frame-ancestors from CONSOLE_FRAME_ORIGINS (space-separated origins). */
export function frameAncestors(value: string | undefined): string {
  const origins = (value ?? '').split(/\s+/).filter(Boolean)
  if (origins.length === 0) return "'none'"
  const bad = origins.find((o) => !ORIGIN.test(o))
  if (bad)
    throw new DomainError(
      'unavailable',
      `CONSOLE_FRAME_ORIGINS holds "${bad}", which is not an origin such as https://app.example.com; the embed page is off until it is fixed.`,
    )
  return origins.join(' ')
}

function shell(c: Context<AppEnv>, csp: string) {
  c.header('Content-Security-Policy', csp)
  c.header('Cache-Control', 'no-store')
  return c.html(SHELL, 200)
}

const html = { 'text/html': { schema: z.string() } }

export const consoleRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/console',
      operationId: 'consolePage',
      tags: ['Console'],
      summary: 'The admin console (sign in with an API key or the admin token)',
      description:
        'Every path below /console (such as /console/events/{id}) answers the same page; the page reads the API with a session cookie (POST /v1/sessions).',
      security: [],
      responses: { 200: { description: 'An HTML page', content: html } },
    }),
    function consolePage(c) {
      return shell(c, CONSOLE_POLICY)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/console/embed',
      operationId: 'consoleEmbedPage',
      tags: ['Console'],
      summary: "A viewer token's read-only events list and detail, for framing",
      description:
        'Takes ?token=avt_… (POST /v1/viewer-tokens); may be framed by the origins in CONSOLE_FRAME_ORIGINS only.',
      security: [],
      request: { query: z.object({ token: z.string().optional(), event: z.string().optional() }) },
      responses: {
        200: { description: 'An HTML page', content: html },
        503: problemResponse('CONSOLE_FRAME_ORIGINS is not a list of origins'),
      },
    }),
    function consoleEmbedPage(c) {
      return shell(c, policy(frameAncestors(c.env.CONSOLE_FRAME_ORIGINS)))
    },
  )
  .get(`${CONSOLE_ASSETS}/:file`, function consoleAsset(c) {
    return serveAsset(c, CONSOLE_ASSETS, ASSET_TYPES, 'console')
  })
  .get('/console/*', function consoleDeepLink(c) {
    return shell(c, CONSOLE_POLICY)
  })

// What the pages this Worker renders (/console, /docs) share: their Content-Security-Policy and
// the route that hands their scripts and stylesheets over from the static assets (ASSETS,
// wrangler.toml [assets], built by scripts/build-console.ts).
import type { Context } from 'hono'
import type { AppEnv } from './context'
import { problem } from './problem'

/**
 * Scripts, styles and fetches from this origin only, no inline code, data: images; framing and
 * form targets as given.
 */
export function pagePolicy({
  frameAncestors = "'none'",
  formAction = "'none'",
}: {
  frameAncestors?: string
  formAction?: string
} = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    `form-action ${formAction}`,
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
}

/**
 * GET `<prefix>/:file` for the files named in `types` (name -> content type). Names carry no
 * content hash, so the browser revalidates each load: the asset's ETag answers 304.
 */
export async function serveAsset(
  c: Context<AppEnv>,
  prefix: string,
  types: Record<string, string>,
  what: string,
): Promise<Response> {
  const file = c.req.param('file') ?? ''
  const type = types[file]
  if (!type) return problem(c, 'not_found', `No ${what} asset ${file}.`)
  const ifNoneMatch = c.req.header('if-none-match')
  const res = c.env.ASSETS
    ? await c.env.ASSETS.fetch(new URL(`${prefix}/${file}`, c.req.url), {
        headers: ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {},
      })
    : null
  if (res?.status === 304)
    return new Response(null, { status: 304, headers: { 'cache-control': 'no-cache' } })
  if (!res?.ok) {
    await res?.body?.cancel()
    return problem(c, 'unavailable', `The ${what} asset ${file} is not built; run npm ci or npm start.`)
  }
  const headers: Record<string, string> = { 'content-type': type, 'cache-control': 'no-cache' }
  const etag = res.headers.get('etag')
  if (etag) headers.etag = etag
  return new Response(res.body, { status: 200, headers })
}

// Response headers every answer gets, set once the answer is made (errors included):
// - X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer on every response;
// - Cache-Control: no-store on every answer to a request that carried credentials, whatever
//   the route set (a public answer such as /.well-known/audit-log-keys keeps its own otherwise);
// - on HTML, a Content-Security-Policy: a page sets its own (worker/routes/docs.ts); one that
//   does not gets DEFAULT_HTML_POLICY, which allows nothing, framing included. A page meant to be
//   framed (an embed) must set its own frame-ancestors.
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../context'

export const DEFAULT_HTML_POLICY =
  "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export function responseHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    if (c.req.header('authorization') !== undefined || c.get('auth') !== undefined)
      c.header('Cache-Control', 'no-store')
    if (/^text\/html\b/i.test(c.res.headers.get('content-type') ?? '')) {
      if (!c.res.headers.has('Content-Security-Policy'))
        c.header('Content-Security-Policy', DEFAULT_HTML_POLICY)
      // The same for browsers that predate frame-ancestors.
      if (/frame-ancestors 'none'/.test(c.res.headers.get('Content-Security-Policy') ?? ''))
        c.header('X-Frame-Options', 'DENY')
    }
  }
}

// A small JSON request body, read the way POST /v1/keys reads its body: JSON only (else 415), at
// most `max` bytes (else 413, without buffering more), valid JSON kept exactly (else 400). The
// route's schema validator then takes the parsed value from the request's body cache.
import type { MiddlewareHandler } from 'hono'
import { DomainError } from '../../core/errors'
import { mediaTypeOf } from '../../core/ingest/formats'
import type { AppEnv } from '../context'
import { parseJson, readBodyText } from '../ingest/read-body'

export function jsonBody(max: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const mt = mediaTypeOf(c.req.header('content-type'))
    if (mt !== 'application/json')
      throw new DomainError(
        'unsupported_media_type',
        `Content-Type "${mt || '(none)'}" is not accepted here; send application/json.`,
      )
    const body = parseJson(await readBodyText(c.req.raw, max), 'a JSON object')
    c.req.bodyCache.json = Promise.resolve(body)
    await next()
  }
}

// The one mapping from domain errors to application/problem+json, used by validation
// failures and thrown errors alike.
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DomainError, type ErrorCode, type FieldError } from '../core/errors'
import type { AppEnv } from './context'

const STATUS: Record<ErrorCode, { status: ContentfulStatusCode; title: string }> = {
  validation_failed: { status: 400, title: 'Invalid request' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unavailable: { status: 503, title: 'Service unavailable' },
  integrity_violation: { status: 500, title: 'Integrity violation' },
  gone: { status: 410, title: 'Gone' },
}

export const PROBLEM_TYPE_BASE = 'urn:audit-log:problem:'

export function problem(
  c: Context<AppEnv>,
  code: ErrorCode,
  detail: string,
  errors?: FieldError[],
  extra?: Record<string, unknown>,
) {
  const { status, title } = STATUS[code]
  const body = {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title,
    status,
    detail,
    request_id: c.get('requestId'),
    ...(errors && errors.length > 0 ? { errors } : {}),
    ...extra,
  }
  if (code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer')
  if (code === 'unavailable' || code === 'rate_limited')
    c.header('Retry-After', String(extra?.retry_after ?? 5))
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' })
}

/**
 * The problem answer for `err` as a Response of its own, carrying none of the headers already
 * set on `c` (for replacing an answer that is already made; call it before clearing `c.res`).
 */
export function standaloneProblem(c: Context<AppEnv>, err: DomainError): Response {
  const res = problem(c, err.code, err.message, err.errors, err.extra)
  const headers = new Headers({ 'content-type': 'application/problem+json' })
  for (const name of ['retry-after', 'www-authenticate']) {
    const value = res.headers.get(name)
    if (value !== null) headers.set(name, value)
  }
  return new Response(res.body, { status: res.status, headers })
}

export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof DomainError) return problem(c, err.code, err.message, err.errors, err.extra)
  if (err instanceof HTTPException) {
    const status = err.status
    const code: ErrorCode =
      status === 413
        ? 'payload_too_large'
        : status === 401
          ? 'unauthorized'
          : status === 404
            ? 'not_found'
            : 'validation_failed'
    return problem(c, code, err.message || 'Invalid request')
  }
  console.error(
    JSON.stringify({
      msg: 'unhandled error',
      request_id: c.get('requestId'),
      error: String(err.stack ?? err),
    }),
  )
  return c.body(
    JSON.stringify({
      type: `${PROBLEM_TYPE_BASE}internal`,
      title: 'Internal error',
      status: 500,
      detail: 'An unexpected error occurred. Retry later; quote the request_id when reporting it.',
      request_id: c.get('requestId'),
    }),
    500,
    { 'content-type': 'application/problem+json' },
  )
}

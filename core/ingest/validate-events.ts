// Validation of raw events beyond the schema: the reserved service namespace, size, clock skew,
// and error paths that name the event's index in a batch.
import type { z } from 'zod'
import { DomainError, type FieldError, fieldErrors } from '../errors'
import { LIMITS } from '../limits'
import { isObject } from '../objects'
import { eventInputSchema, type ValidEvent } from './event-schema'
import { SERVICE_ACTION_PREFIX, SERVICE_SOURCE } from './service-events'

const MAX_REPORTED_ERRORS = 100

type Issue = z.core.$ZodIssue

/**
 * A union that fails reports one issue at its own path ("Invalid input"); when exactly one
 * alternative fits the value's type (a description object, not text), its issues are the
 * useful ones, so they replace it (`description.values.x` rather than `description`).
 */
function withUnionsResolved(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((i): Issue[] => {
    if (i.code !== 'invalid_union' || i.errors.length === 0) return [i]
    const fitting = i.errors.filter((b) => !b.some((x) => x.code === 'invalid_type' && x.path.length === 0))
    if (fitting.length === 1)
      return withUnionsResolved(fitting[0]!).map((x) => ({ ...x, path: [...i.path, ...x.path] }))
    if (fitting.length > 0) return [i]
    const expected = i.errors.flatMap((b) =>
      b.flatMap((x) => (x.code === 'invalid_type' ? [x.expected] : [])),
    )
    return [{ ...i, message: `must be one of: ${[...new Set(expected)].join(', ')}` }]
  })
}

/**
 * The service's own events (core/ingest/service-events.ts) are built without this validation;
 * a client event may not use their action namespace or their source, in any input format.
 */
function reservedIssues(raw: unknown): Issue[] {
  if (!isObject(raw)) return []
  const out: Issue[] = []
  if (typeof raw.action === 'string' && raw.action.startsWith(SERVICE_ACTION_PREFIX))
    out.push({
      code: 'custom',
      path: ['action'],
      input: raw.action,
      message: `is reserved: actions under "${SERVICE_ACTION_PREFIX}" are the service's own events`,
    })
  if (typeof raw.source === 'string' && raw.source.toLowerCase() === SERVICE_SOURCE)
    out.push({
      code: 'custom',
      path: ['source'],
      input: raw.source,
      message: `is reserved: "${SERVICE_SOURCE}" is the source of the service's own events`,
    })
  return out
}

/** One raw event against event v1 and its rules: the valid event, or the issues (zod paths). */
export function checkEvent(raw: unknown): { data: ValidEvent; issues?: undefined } | { issues: Issue[] } {
  const reserved = reservedIssues(raw)
  const r = eventInputSchema.safeParse(raw)
  if (r.success && reserved.length === 0) return { data: r.data }
  return { issues: [...reserved, ...(r.success ? [] : withUnionsResolved(r.error.issues))] }
}

export function validateEvents(raw: unknown[], opts: { now: number; batch: boolean }): ValidEvent[] {
  if (raw.length === 0)
    throw new DomainError('validation_failed', 'The batch holds no events.', [
      { path: 'events', message: 'must contain at least 1 event' },
    ])
  if (raw.length > LIMITS.maxEventsPerRequest) {
    throw new DomainError(
      'validation_failed',
      `A request may carry at most ${LIMITS.maxEventsPerRequest} events.`,
      [{ path: 'events', message: `has ${raw.length} events; the limit is ${LIMITS.maxEventsPerRequest}` }],
    )
  }
  const errors: FieldError[] = []
  const out: ValidEvent[] = []
  let invalid = 0
  for (let i = 0; i < raw.length; i++) {
    const prefix = opts.batch ? `events[${i}]` : ''
    const item = raw[i]
    const r = checkEvent(item)
    if (r.issues) {
      invalid++
      errors.push(...fieldErrors(r.issues, prefix))
      continue
    }
    if (Date.parse(r.data.occurred_at) > opts.now + LIMITS.maxFutureSkewMs) {
      invalid++
      errors.push({
        path: prefix ? `${prefix}.occurred_at` : 'occurred_at',
        message: `is more than ${LIMITS.maxFutureSkewMs / 60000} minutes in the future`,
      })
      continue
    }
    out.push(r.data)
  }
  if (invalid > 0) {
    const shown = errors.slice(0, MAX_REPORTED_ERRORS)
    const more = errors.length > shown.length ? ` (first ${shown.length} errors shown)` : ''
    throw new DomainError(
      'validation_failed',
      opts.batch
        ? `${invalid} of ${raw.length} events are invalid; nothing was accepted${more}.`
        : `The event is invalid; see errors${more}.`,
      shown,
    )
  }
  return out
}

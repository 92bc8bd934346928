// Validation of raw events beyond the schema: size, clock skew, and error paths that name the
// event's index in a batch.
import { DomainError, type FieldError, fieldErrors } from '../errors'
import { LIMITS } from '../limits'
import { eventInputSchema, type ValidEvent } from './event-schema'

const MAX_REPORTED_ERRORS = 100

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
    const r = eventInputSchema.safeParse(item)
    if (!r.success) {
      invalid++
      errors.push(...fieldErrors(r.error.issues, prefix))
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

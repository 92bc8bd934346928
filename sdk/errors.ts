// Typed errors of the client. Every failure is an AuditLogError with a `kind`; answers of the
// service that are errors are AuditLogHttpError, carrying the problem+json body.
import type { Problem } from './types'

export type AuditLogErrorKind =
  /** The request never got an answer (connection refused, reset, DNS), after every retry. */
  | 'network'
  /** The service answered with an error status (`status`, `problem`). */
  | 'http'
  /** The buffer was full and its overflow policy is `reject`. */
  | 'buffer_full'
  /** The buffer was full and these events were dropped to make room (`drop-oldest`). */
  | 'dropped'
  /** send() after close(). */
  | 'closed'
  /** The event cannot be sent at all: not an object, not serializable, or larger than a batch. */
  | 'invalid_event'
  /** An export ended without its completeness marker, or with a row count that differs. */
  | 'incomplete_export'

export class AuditLogError extends Error {
  override name = 'AuditLogError'
  /** Ids of the events that failed with this error, when it is about events being sent. */
  ids: string[]
  constructor(
    readonly kind: AuditLogErrorKind,
    message: string,
    opts: { ids?: string[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.ids = opts.ids ?? []
  }
}

/** One error of a refused batch, named by the event's id instead of its place in the batch. */
export type EventError = { id: string; path: string; message: string }

export class AuditLogHttpError extends AuditLogError {
  override name = 'AuditLogHttpError'
  /** The errors of `problem.errors` that name an event, by that event's id (batches only). */
  eventErrors: EventError[] = []
  constructor(
    readonly status: number,
    /** The problem+json body; undefined when the answer was not one. */
    readonly problem: Problem | undefined,
    /** What the answer's Retry-After asked for, in ms. */
    readonly retryAfterMs: number | undefined,
    opts: { ids?: string[] } = {},
  ) {
    super(
      'http',
      problem ? `${status} ${problem.title}: ${problem.detail}` : `the service answered ${status}`,
      opts,
    )
  }
}

/** What flush() and close() reject with: every failure among the events they waited for. */
export class AuditLogSendError extends AuditLogError {
  override name = 'AuditLogSendError'
  constructor(readonly failures: { ids: string[]; error: AuditLogError }[]) {
    const n = failures.reduce((s, f) => s + f.ids.length, 0)
    super(
      failures[0]?.error.kind ?? 'http',
      `${n} event(s) were not accepted: ${failures.map((f) => f.error.message).join('; ')}`,
      { ids: failures.flatMap((f) => f.ids) },
    )
  }
}

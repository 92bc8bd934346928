// Domain errors: HTTP-free. The worker maps each code to a status and a problem+json body in
// one place (worker/problem.ts); the consumer uses the same classes to decide retry vs drop.
export type FieldError = { path: string; message: string }

export type ErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'method_not_allowed'
  | 'rate_limited'
  | 'unavailable'
  | 'integrity_violation'
  | 'gone'

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
    readonly extra?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const validationError = (message: string, errors?: FieldError[]) =>
  new DomainError('validation_failed', message, errors)
export const notFound = (message: string) => new DomainError('not_found', message)
export const forbidden = (message: string) => new DomainError('forbidden', message)
export const unauthorized = (message: string) => new DomainError('unauthorized', message)
export const conflict = (message: string) => new DomainError('conflict', message)
/** Stored data failed its integrity check: never served as if fine (an alarm is raised too). */
export const integrityViolation = (message: string, extra?: Record<string, unknown>) =>
  new DomainError('integrity_violation', message, undefined, extra)
/** The event's retention period ended: only its tombstone is kept (`extra.tombstone`). */
export const gone = (message: string, extra: Record<string, unknown>) =>
  new DomainError('gone', message, undefined, extra)

type Issue = { path: readonly PropertyKey[]; message: string }

/** The first `limit` zod issues as one line, `keys.0.id: message; ...`, for messages outside HTTP. */
export function issuesText(issues: readonly Issue[], limit = issues.length): string {
  const text = issues
    .slice(0, limit)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ')
  return text || 'invalid'
}

/** Turns zod issues into field errors, with a prefix such as `events[3]`. */
export function fieldErrors(issues: readonly Issue[], prefix = ''): FieldError[] {
  return issues.map((i) => {
    let path = prefix
    for (const p of i.path) path += typeof p === 'number' ? `[${p}]` : path ? `.${String(p)}` : String(p)
    return { path: path || '(root)', message: i.message }
  })
}

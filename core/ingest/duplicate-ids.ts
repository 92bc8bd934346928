// One request lists each id at most once: a second copy of an id in the same request is refused
// (400) naming both indexes, so a client never learns only later that one of its copies lost.
// (Across requests the first stored copy wins; queue-consumer/event-batch.ts records conflicts.)
import { DomainError, type FieldError } from '../errors'

const MAX_REPORTED = 100

export function rejectDuplicateIds(events: readonly { id?: string }[]): void {
  if (events.length < 2) return
  const firstAt = new Map<string, number>()
  const errors: FieldError[] = []
  events.forEach((e, i) => {
    if (e.id === undefined) return
    const first = firstAt.get(e.id)
    if (first === undefined) firstAt.set(e.id, i)
    else errors.push({ path: `events[${i}].id`, message: `duplicates events[${first}].id` })
  })
  if (errors.length === 0) return
  const shown = errors.slice(0, MAX_REPORTED)
  throw new DomainError(
    'validation_failed',
    `${errors.length} event(s) repeat an id listed earlier in the request; nothing was accepted${errors.length > shown.length ? ` (first ${shown.length} shown)` : ''}.`,
    shown,
  )
}

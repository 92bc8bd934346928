// Reading and replacing the fields a privacy policy names, on the stored record's shape.
import type { PendingEvent } from '../ingest/stored-event'
import type { PrivacyPath } from './policy'

type Rec = Pick<PendingEvent, 'actor' | 'context' | 'metadata'>

/** Every protectable path the event holds a non-null value at, with the value. */
export function protectablePaths(e: Rec): [PrivacyPath, unknown][] {
  const out: [PrivacyPath, unknown][] = []
  if (e.actor.email !== undefined) out.push(['actor.email', e.actor.email])
  if (e.actor.name !== undefined) out.push(['actor.name', e.actor.name])
  if (e.context?.ip !== undefined) out.push(['context.ip', e.context.ip])
  if (e.context?.user_agent !== undefined) out.push(['context.user_agent', e.context.user_agent])
  if (e.metadata)
    for (const [k, v] of Object.entries(e.metadata)) if (v !== null) out.push([`metadata.${k}`, v])
  return out
}

/**
 * A copy of the event with the given paths replaced; objects that change are copied (the
 * input's objects are never mutated), the rest is shared.
 */
export function withValues<T extends Rec>(e: T, values: Map<PrivacyPath, unknown>): T {
  if (values.size === 0) return e
  const out = { ...e }
  for (const [path, v] of values) {
    const dot = path.indexOf('.')
    const head = path.slice(0, dot) as 'actor' | 'context' | 'metadata'
    const field = path.slice(dot + 1)
    if (out[head] === e[head]) (out as Record<string, unknown>)[head] = { ...e[head] }
    ;(out[head] as Record<string, unknown>)[field] = v
  }
  return out
}

// What a viewer token may see. Invariant: every read made with a viewer token goes through one of
// these: a search has its filters forced into the scope (a filter naming another target or actor
// is refused, never silently replaced), and a single event outside the scope is answered exactly
// as an event that does not exist. A target scope includes the target's children (events whose
// `parent` is the target), as the target history does.
import { DomainError, forbidden, notFound } from '../errors'
import type { SearchFilters } from '../search/filters'
import type { ViewerScope } from './viewer-tokens'

/** An event's place, as far as a viewer scope is concerned. */
export type ScopedEvent = {
  actor: { id: string }
  target: { type: string; id: string }
  parent?: { type: string; id: string }
}

/** Whether an event is inside a scope: its target or parent is the scope's target, or its actor the scope's actor. */
export function inViewerScope(scope: ViewerScope, e: ScopedEvent): boolean {
  const t = scope.target
  if (t) {
    const is = (x: { type: string; id: string } | undefined) =>
      x !== undefined && x.type === t.type && x.id === t.id
    return is(e.target) || is(e.parent)
  }
  if (scope.actor_id !== undefined) return e.actor.id === scope.actor_id
  return true
}

/** The scope as one flat string for audit metadata: `tenant`, `target:<type>/<id>` or `actor:<id>`. */
export function scopeLabel(scope: ViewerScope): string {
  if (scope.target) return `target:${scope.target.type}/${scope.target.id}`
  if (scope.actor_id !== undefined) return `actor:${scope.actor_id}`
  return 'tenant'
}

/**
 * A search's filters within a scope. A target scope sets the target (with its children unless the
 * caller asked for `include_children=false` on that same target); an actor scope sets the actor.
 * Filters that name another target or actor are a 403.
 */
export function scopedFilters(scope: ViewerScope, f: SearchFilters): SearchFilters {
  const t = scope.target
  if (t) {
    if (
      (f.target_type !== undefined && f.target_type !== t.type) ||
      (f.target_id !== undefined && f.target_id !== t.id)
    )
      throw forbidden(
        `This viewer token is scoped to the target ${t.type}/${t.id}; it cannot search another target.`,
      )
    return { ...f, target_type: t.type, target_id: t.id, include_children: f.include_children ?? true }
  }
  if (scope.actor_id !== undefined) {
    if (f.actor_id !== undefined && f.actor_id !== scope.actor_id)
      throw forbidden(
        `This viewer token is scoped to the actor ${scope.actor_id}; it cannot search another actor.`,
      )
    return { ...f, actor_id: scope.actor_id }
  }
  return f
}

/**
 * One event read for a viewer token: an event outside the scope is answered as an unknown id (the
 * same 404 as core/search/event-by-id.ts). An expired event's tombstone names no target or actor,
 * so under a target or actor scope it is unknown too.
 */
export async function readInScope<T extends { event: ScopedEvent }>(
  scope: ViewerScope,
  read: () => Promise<T>,
  id: string,
): Promise<T> {
  const unknown = () => notFound(`No event "${id}".`)
  const narrowed = scope.target !== undefined || scope.actor_id !== undefined
  let r: T
  try {
    r = await read()
  } catch (err) {
    if (narrowed && err instanceof DomainError && err.code === 'gone') throw unknown()
    throw err
  }
  if (!inViewerScope(scope, r.event)) throw unknown()
  return r
}

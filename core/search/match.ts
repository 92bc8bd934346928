// The search filters as a predicate over stored events: the same semantics as the SQL in
// core/db/search.ts, for history read from the archive. A test runs both over the same events.
import type { PageKey } from '../db/search'
import type { StoredEvent } from '../ingest/stored-event'
import type { SearchFilters } from './filters'
import { newestFirstBy } from './order'

export function matchesFilters(e: StoredEvent, f: SearchFilters, after?: PageKey): boolean {
  if (f.actor_id !== undefined && e.actor.id !== f.actor_id) return false
  if (f.actor_type !== undefined && e.actor.type !== f.actor_type) return false
  if (f.action !== undefined) {
    if (f.action.endsWith('*') ? !e.action.startsWith(f.action.slice(0, -1)) : e.action !== f.action)
      return false
  }
  const auditAsked = f.include_audit_reads || f.action?.startsWith('audit_log')
  if (!auditAsked && e.action.startsWith('audit_log.')) return false
  if (f.target_type !== undefined && f.target_id !== undefined && f.include_children) {
    const self = e.target.type === f.target_type && e.target.id === f.target_id
    const child = e.parent?.type === f.target_type && e.parent?.id === f.target_id
    if (!self && !child) return false
  } else {
    if (f.target_type !== undefined && e.target.type !== f.target_type) return false
    if (f.target_id !== undefined && e.target.id !== f.target_id) return false
  }
  if (f.source !== undefined && e.source !== f.source) return false
  if (f.outcome !== undefined && e.outcome.status !== f.outcome) return false
  if (f.correlation_id !== undefined && e.context?.correlation_id !== f.correlation_id) return false
  if (f.ip !== undefined && e.context?.ip !== f.ip) return false
  if (f.since !== undefined && e.occurred_at < f.since) return false
  if (f.until !== undefined && e.occurred_at > f.until) return false
  if (after && newestFirstBy(after.t, after.id, e.occurred_at, e.id) >= 0) return false
  return true
}

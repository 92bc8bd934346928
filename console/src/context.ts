// What every page gets: the signed-in principal and how to link within this console (the full
// console, or the embed page, which has only the events list and detail of its scope).
import type { Session } from './api'
import { withQuery } from './router'

export type ApiEvent = {
  id: string
  tenant: string
  seq: number
  occurred_at: string
  received_at: string
  action: string
  actor: { type: string; id: string; name?: string; email?: string }
  target: { type: string; id: string; name?: string; url?: string }
  parent?: { type: string; id: string; name?: string }
  outcome: { status: 'success' | 'failure'; code?: string; reason?: string }
  changes?: { field: string; before?: unknown; after?: unknown }[]
  context?: Record<string, string>
  source?: string
  description?: string | { template: string; values: Record<string, unknown> }
  metadata?: Record<string, unknown>
  ingest: Record<string, string>
  hash: string
  prev_hash: string
  conflicts?: { count: number; last_at: string }
  integrity_violation?: { reason: string; expected?: string; computed?: string }
}
export type EventPage = { data: ApiEvent[]; next_cursor: string | null }

export type Ctx = {
  session: Session
  embed: boolean
  /** The events list with this query. */
  listUrl(q: Record<string, string | undefined> | URLSearchParams): string
  eventUrl(id: string): string
  /** null where the page does not exist (the embed page). */
  targetUrl(type: string, id: string): string | null
  correlationUrl(id: string): string | null
}

export function consoleCtx(session: Session): Ctx {
  return {
    session,
    embed: false,
    listUrl: (q) => withQuery('/console/events', q),
    eventUrl: (id) => `/console/events/${encodeURIComponent(id)}`,
    targetUrl: (type, id) => `/console/targets/${encodeURIComponent(type)}/${encodeURIComponent(id)}`,
    correlationUrl: (id) => `/console/correlation/${encodeURIComponent(id)}`,
  }
}

export function embedCtx(session: Session, token: string): Ctx {
  return {
    session,
    embed: true,
    listUrl: (q) => {
      const p = new URLSearchParams(q instanceof URLSearchParams ? q : undefined)
      if (!(q instanceof URLSearchParams)) for (const [k, v] of Object.entries(q)) if (v) p.set(k, v)
      p.delete('event')
      p.set('token', token)
      return withQuery('/console/embed', p)
    },
    eventUrl: (id) => withQuery('/console/embed', { token, event: id }),
    targetUrl: () => null,
    correlationUrl: () => null,
  }
}

export const canManageKeys = (s: Session) =>
  s.principal === 'admin-token' || (s.principal !== 'viewer' && s.scopes.includes('admin'))
export const canReadEvents = (s: Session) =>
  s.principal !== 'admin-token' && (s.scopes.includes('events:read') || s.scopes.includes('admin'))
export const isOperator = (s: Session) => s.principal === 'admin-token'

// The privacy policy on the request path: who may read sealed values (pii:read; a tenant admin
// key holds every scope) and the filters and events of a read, as that reader may see them.
import type { Context } from 'hono'
import type { StoredEvent } from '../core/ingest/stored-event'
import { privacyContext, readerOf } from '../core/privacy/context'
import { protectFilters } from '../core/privacy/filters'
import { revealEvents } from '../core/privacy/reveal'
import type { SearchFilters } from '../core/search/filters'
import type { AppEnv, Auth } from './context'

/**
 * A tenant key, or a Cloudflare Access identity mapped to a role, with pii:read or admin. An
 * Access admin reads what an admin key reads: it may mint one anyway. The admin token and viewer
 * tokens never read plaintext.
 */
export function readsPii(auth: Auth): boolean {
  return (
    (auth.kind === 'key' || auth.kind === 'access') &&
    (auth.scopes.includes('pii:read') || auth.scopes.includes('admin'))
  )
}

/** The events of a tenant as the request's principal may see them. */
export function revealed<T extends StoredEvent>(
  c: Context<AppEnv>,
  tenant: string,
  events: T[],
): Promise<T[]> {
  return revealEvents(readerOf(c.env, tenant, readsPii(c.get('auth'))), events)
}

/** Filters with values of hashed fields hashed; a filter on a sealed field is a 400. */
export function searchableFilters(
  c: Context<AppEnv>,
  tenant: string,
  f: SearchFilters,
): Promise<SearchFilters> {
  return protectFilters(privacyContext(c.env, tenant), tenant, f)
}

// Reads of a tenant's events through D1's Sessions API (core/db/shards.ts, tenantReadSession): the
// request may carry the bookmark of an earlier answer (x-d1-bookmark) to read at least what that
// answer saw; every answer that read through a session carries its newest bookmark.
import type { Context } from 'hono'
import { BOOKMARK_HEADER, type ReadSession, tenantReadSession } from '../core/db/shards'
import type { AppEnv } from './context'

export async function readSession(c: Context<AppEnv>, tenant: string): Promise<ReadSession> {
  return tenantReadSession(c.env, tenant, c.req.header(BOOKMARK_HEADER) || undefined)
}

/** Sets the answer's bookmark header from the session, once its reads are done. */
export function sendBookmark(c: Context<AppEnv>, session: ReadSession) {
  const b = session.bookmark()
  if (b) c.header(BOOKMARK_HEADER, b)
}

import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { scopedFilters } from '../../core/auth/viewer-scope'
import { apiEventSchema, toApiEvent } from '../../core/ingest/stored-event'
import {
  filtersOf,
  type SearchFilters,
  searchQuerySchema,
  targetHistoryQuerySchema,
} from '../../core/search/filters'
import { searchHistory } from '../../core/search/history'
import { historyOptions } from '../../core/search/history-options'
import { decodeCursor, encodeCursor } from '../../core/search/page-cursor'
import { alarmOnViolations, filtersMetadata, recordRead } from '../audit-reads'
import type { AppEnv } from '../context'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'
import { revealed, searchableFilters } from '../privacy'
import { readSession, sendBookmark } from '../read-session'

const pageSchema = z
  .object({
    data: z.array(apiEventSchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as cursor for the next page; null on the last' }),
  })
  .openapi('EventPage')

const errors = {
  400: problemResponse('Invalid filters or cursor'),
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('Key lacks events:read, or a viewer token filters outside its scope'),
  503: problemResponse('The key holds pii:read but PII_KEYS is unset: sealed values cannot be opened'),
}

async function page(c: Context<AppEnv>, asked: SearchFilters, limit: number, cursor: string | undefined) {
  const auth = c.get('auth')
  const tenant = tenantOf(auth)
  // A viewer token searches only within its scope.
  const inScope = auth.kind === 'viewer' ? scopedFilters(auth.scope, asked) : asked
  const filters = await searchableFilters(c, tenant, inScope)
  const after = cursor ? decodeCursor(cursor, tenant, filters) : undefined
  const session = await readSession(c, tenant)
  const { events, next } = await searchHistory(
    session.db,
    c.env.ARCHIVE,
    tenant,
    filters,
    limit,
    after,
    historyOptions(c.env),
  )
  sendBookmark(c, session)
  alarmOnViolations(c, tenant, events, 'a search')
  recordRead(
    c,
    'audit_log.searched',
    { type: 'audit_log', id: tenant },
    { filters: filtersMetadata(filters), count: events.length },
  )
  return {
    data: (await revealed(c, tenant, events)).map(toApiEvent) as z.infer<typeof apiEventSchema>[],
    next_cursor: next ? encodeCursor(next, tenant, filters) : null,
  }
}

export const searchRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/events',
      operationId: 'searchEvents',
      tags: ['Events'],
      summary: 'Search events, newest first, with cursor pages',
      description:
        'action ending in * is a prefix match; include_children also returns events whose parent is the target. Reads of the log (audit_log.*) are left out unless include_audit_reads=true or the action filter names them.',
      security: bearerSecurity,
      middleware: [requireScope('events:read', { allowViewer: true })] as const,
      request: { query: searchQuerySchema },
      responses: {
        200: { description: 'A page', content: { 'application/json': { schema: pageSchema } } },
        ...errors,
      },
    }),
    async function searchEvents(c) {
      const q = c.req.valid('query')
      return c.json(await page(c, filtersOf(q), q.limit, q.cursor), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/targets/{type}/{id}/events',
      operationId: 'targetHistory',
      tags: ['Events'],
      summary: "A resource's history, optionally with its children's events",
      security: bearerSecurity,
      middleware: [requireScope('events:read')] as const,
      request: {
        params: z.object({ type: z.string().min(1).max(128), id: z.string().min(1).max(256) }),
        query: targetHistoryQuerySchema,
      },
      responses: {
        200: { description: 'A page', content: { 'application/json': { schema: pageSchema } } },
        ...errors,
      },
    }),
    async function targetHistory(c) {
      const { type, id } = c.req.valid('param')
      const q = c.req.valid('query')
      const filters = filtersOf({ ...q, target_type: type, target_id: id })
      return c.json(await page(c, filters, q.limit, q.cursor), 200)
    },
  )

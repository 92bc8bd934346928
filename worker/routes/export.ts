// Streamed export: pages through D1 with the search's keyset order, so memory stays flat
// whatever the row count. Events received after the export began are left out, which makes
// the file a consistent snapshot.
import { createRoute, z } from '@hono/zod-openapi'
import type { PageKey } from '../../core/db/search'
import { toApiEvent } from '../../core/ingest/stored-event'
import { csvHeader, csvLines, csvTrailer, ndjsonLines, ndjsonTrailer } from '../../core/search/export-format'
import { exportQuerySchema, filtersOf } from '../../core/search/filters'
import { searchHistory } from '../../core/search/history'
import { historyOptions } from '../../core/search/history-options'
import { alarmOnViolations, filtersMetadata, recordRead } from '../audit-reads'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'
import { revealed, searchableFilters } from '../privacy'
import { readSession } from '../read-session'

const PAGE = 500
const enc = new TextEncoder()

export const exportRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/v1/export',
    operationId: 'exportEvents',
    tags: ['Events'],
    summary: 'Export matching events as a streamed NDJSON or CSV file',
    description: [
      'Same filters as GET /v1/events, newest first, streamed. Events received after the export began are left out.',
      '',
      'NDJSON is the exact form: one event per line as GET /v1/events/{id} returns it, then a trailer line `{"_export": {"rows": N, "complete": true}}`.',
      '',
      "CSV (RFC 4180, CRLF records) is made to be opened in a spreadsheet: a header row, one row per event (nested values as JSON text; the tenant and the ingest facts in the last columns), then a completeness row `#complete,N` padded with empty cells to the header width (no event id can begin with `#`). A file whose last row is not that row, or whose N differs from the number of event rows, was cut short. Any field holding a quote, a comma, a CR or an LF is quoted. Against formula injection (OWASP), a cell beginning with `=`, `+`, `-`, `@`, a tab or a CR (or the full-width = + - @) is prefixed with a single quote `'` and quoted. That includes negative numbers written as text, such as an outcome code `-1`, which reads back as `'-1`; metadata is one JSON object per cell, so its numbers are unchanged. Use NDJSON when values must round-trip exactly.",
    ].join('\n'),
    security: bearerSecurity,
    middleware: [requireScope('events:read')] as const,
    request: { query: exportQuerySchema },
    responses: {
      200: {
        description: 'The file',
        content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
      },
      400: problemResponse('Invalid filters'),
      401: problemResponse('Missing or unknown API key'),
      403: problemResponse('Key lacks events:read'),
      503: problemResponse('The key holds pii:read but PII_KEYS is unset: sealed values cannot be opened'),
    },
  }),
  async function exportEvents(c) {
    const q = c.req.valid('query')
    const tenant = tenantOf(c.get('auth'))
    const filters = await searchableFilters(c, tenant, filtersOf(q))
    const { db } = await readSession(c, tenant)
    const startedAt = new Date().toISOString()
    // One archive day is read once however many pages it spans.
    const history = { ...historyOptions(c.env), keptDays: new Map() }
    const csv = q.format === 'csv'
    let after: PageKey | undefined
    let rows = 0
    let done = false
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        if (csv) controller.enqueue(enc.encode(csvHeader()))
      },
      async pull(controller) {
        if (done) return
        const page = await searchHistory(db, c.env.ARCHIVE, tenant, filters, PAGE, after, history)
        alarmOnViolations(c, tenant, page.events, 'an export')
        const next = page.next
        const kept = page.events.filter((e) => e.received_at <= startedAt)
        const events = (await revealed(c, tenant, kept)).map(toApiEvent)
        rows += events.length
        if (events.length > 0) controller.enqueue(enc.encode(csv ? csvLines(events) : ndjsonLines(events)))
        if (!next) {
          done = true
          controller.enqueue(enc.encode(csv ? csvTrailer(rows) : ndjsonTrailer(rows)))
          recordRead(
            c,
            'audit_log.exported',
            { type: 'audit_log', id: tenant },
            {
              filters: filtersMetadata(filters),
              format: q.format,
              count: rows,
            },
          )
          controller.close()
          return
        }
        after = next
      },
    })
    const stamp = startedAt.replace(/[:.]/g, '-')
    return c.body(stream, 200, {
      'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'content-disposition': `attachment; filename="audit-${tenant}-${stamp}.${csv ? 'csv' : 'ndjson'}"`,
    })
  },
)

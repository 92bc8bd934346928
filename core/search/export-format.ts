// Export line formats. NDJSON: one API event per line, then a trailer object with the row
// count. CSV: one flat row per event, nested values as JSON, then a completeness row.
//
// CSV rules (the file is meant for spreadsheets, so it is safe to open rather than exact; the
// NDJSON export is the exact form):
// - A cell whose text begins with a formula trigger (`=`, `+`, `-`, `@`, tab, CR, or their
//   full-width forms, which some spreadsheets fold to ASCII) gets a leading `'` and is quoted
//   (OWASP, CSV injection). Negative numbers written as text (an outcome code "-1") get it too;
//   metadata is one JSON object per cell, so its numbers never begin a cell.
// - A cell holding a quote, a comma, a CR or an LF is quoted (RFC 4180), whatever the record
//   delimiter, so no reader splits a row on a bare CR or LF.
// - The last record is `#complete,<rows>` padded to the header's width. No event id can begin
//   with `#`, so it is never an event; a file without it, or whose count differs from the rows
//   read, was cut short.
import { type Options, stringify } from 'csv-stringify/sync'
import type { ApiEvent } from '../ingest/stored-event'

export const CSV_COLUMNS = [
  'id',
  'seq',
  'occurred_at',
  'received_at',
  'action',
  'actor_type',
  'actor_id',
  'actor_name',
  'actor_email',
  'target_type',
  'target_id',
  'target_name',
  'target_url',
  'parent_type',
  'parent_id',
  'parent_name',
  'outcome_status',
  'outcome_code',
  'outcome_reason',
  'source',
  'ip',
  'user_agent',
  'request_id',
  'session_id',
  'correlation_id',
  'description',
  'changes',
  'metadata',
  'hash',
  'prev_hash',
  'tenant',
  'ingest_key_id',
  'ingest_request_id',
  'ingest_colo',
  'ingest_country',
] as const

/** First cell of the CSV's last record; the second is the number of event rows. */
export const CSV_COMPLETE_MARKER = '#complete'

// Formula triggers: OWASP's list plus the full-width forms of = + - @.
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/
// A neutralised cell: the prefix then a trigger. Such cells are always quoted.
const NEUTRALISED = /^'[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/

/** The cell as a spreadsheet will show it as text: a formula trigger at its start is prefixed with `'`. */
export function neutraliseCell(v: string): string {
  return FORMULA_START.test(v) ? `'${v}` : v
}

const CSV_OPTIONS: Options = {
  record_delimiter: '\r\n',
  // Quote a field holding a bare CR or LF too, not only one holding the CRLF record delimiter.
  quote_record_delimiter: true,
  quoted_match: [NEUTRALISED],
  escape_formulas: false,
}

const json = (v: unknown) => (v === undefined ? '' : JSON.stringify(v))

export function csvRow(e: ApiEvent): string[] {
  const d = e.description
  return [
    e.id,
    String(e.seq),
    e.occurred_at,
    e.received_at,
    e.action,
    e.actor.type,
    e.actor.id,
    e.actor.name ?? '',
    e.actor.email ?? '',
    e.target.type,
    e.target.id,
    e.target.name ?? '',
    e.target.url ?? '',
    e.parent?.type ?? '',
    e.parent?.id ?? '',
    e.parent?.name ?? '',
    e.outcome.status,
    e.outcome.code ?? '',
    e.outcome.reason ?? '',
    e.source ?? '',
    e.context?.ip ?? '',
    e.context?.user_agent ?? '',
    e.context?.request_id ?? '',
    e.context?.session_id ?? '',
    e.context?.correlation_id ?? '',
    d === undefined ? '' : typeof d === 'string' ? d : json(d),
    json(e.changes),
    json(e.metadata),
    e.hash,
    e.prev_hash,
    e.tenant,
    e.ingest.key_id,
    e.ingest.request_id,
    e.ingest.colo ?? '',
    e.ingest.country ?? '',
  ].map(neutraliseCell)
}

export function csvHeader(): string {
  return stringify([[...CSV_COLUMNS]], CSV_OPTIONS)
}

export function csvLines(events: ApiEvent[]): string {
  return stringify(events.map(csvRow), CSV_OPTIONS)
}

/** The completeness record: `#complete,<rows>` and empty cells up to the header's width. */
export function csvTrailer(rows: number): string {
  const cells: string[] = Array.from(CSV_COLUMNS, () => '')
  cells[0] = CSV_COMPLETE_MARKER
  cells[1] = String(rows)
  return stringify([cells], CSV_OPTIONS)
}

export function ndjsonLines(events: ApiEvent[]): string {
  let out = ''
  for (const e of events) out += `${JSON.stringify(e)}\n`
  return out
}

export function ndjsonTrailer(rows: number): string {
  return `${JSON.stringify({ _export: { rows, complete: true } })}\n`
}

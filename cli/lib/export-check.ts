// Streaming checks of an export file's completeness marker (GET /v1/export): NDJSON ends with
// {"_export":{"rows":N,"complete":true}}, CSV with the record `#complete,N` padded with empty
// cells; N must equal the number of event rows before it.
import { CSV_COMPLETE_MARKER } from '../../core/search/export-format'

export type ExportCheck = { rows: number; complete: boolean; problem?: string }

export type ExportChecker = {
  push(chunk: Uint8Array): void
  /** Event rows seen so far (the header and the marker not counted). */
  rows(): number
  end(): ExportCheck
}

export function checkNdjsonExport(): ExportChecker {
  const decoder = new TextDecoder()
  let pending = ''
  let lines = 0
  let last = ''
  const take = (l: string) => {
    if (l === '') return
    lines++
    last = l
  }
  return {
    push(chunk) {
      const parts = (pending + decoder.decode(chunk, { stream: true })).split('\n')
      pending = parts.pop() ?? ''
      for (const l of parts) take(l)
    },
    rows: () => Math.max(lines - 1, 0),
    end() {
      take(pending + decoder.decode())
      pending = ''
      const rows = Math.max(lines - 1, 0)
      let trailer: { _export?: { rows?: unknown; complete?: unknown } } | undefined
      try {
        trailer = JSON.parse(last) as typeof trailer
      } catch {}
      const marker = trailer?._export
      if (!marker || marker.complete !== true)
        return {
          rows,
          complete: false,
          problem: 'the last line is not the completeness marker {"_export": ...}',
        }
      if (marker.rows !== rows)
        return {
          rows,
          complete: false,
          problem: `the marker counts ${marker.rows} rows, the file holds ${rows}`,
        }
      return { rows, complete: true }
    },
  }
}

export function checkCsvExport(): ExportChecker {
  const decoder = new TextDecoder()
  let inQuote = false
  let records = 0
  let current = ''
  let last = ''
  const scan = (text: string) => {
    for (const ch of text) {
      if (ch === '"') inQuote = !inQuote
      if (ch === '\n' && !inQuote) {
        records++
        last = current.replace(/\r$/, '')
        current = ''
      } else current += ch
    }
  }
  return {
    push(chunk) {
      scan(decoder.decode(chunk, { stream: true }))
    },
    rows: () => Math.max(records - 1, 0),
    end() {
      scan(decoder.decode())
      if (current !== '') {
        records++
        last = current
        current = ''
      }
      const rows = Math.max(records - 2, 0)
      const m = new RegExp(`^${CSV_COMPLETE_MARKER},(\\d+),*$`).exec(last)
      if (!m)
        return { rows, complete: false, problem: `the last record is not the ${CSV_COMPLETE_MARKER} row` }
      if (Number(m[1]) !== rows)
        return { rows, complete: false, problem: `the marker counts ${m[1]} rows, the file holds ${rows}` }
      return { rows, complete: true }
    },
  }
}

// Reading an export: the streamed file, split into lines (NDJSON) or records (CSV), with the
// completeness check. The service ends a whole file with a marker: NDJSON's last line is
// `{"_export":{"rows":N,"complete":true}}`, CSV's last record `#complete,N,,...`. A file
// without it, or whose N is not the number of rows read, was cut short (docs/search.md, Export).
import { AuditLogError } from './errors'
import type { AuditEvent, ExportFormat } from './types'

/**
 * Text chunks to lines (NDJSON, LF) or records (CSV, CRLF outside quotes: a quoted cell may
 * hold CR and LF). The terminator is not part of what is yielded.
 */
export async function* splitRecords(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  format: ExportFormat,
): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buf = ''
  let scan = 0
  let inQuotes = false
  const csv = format === 'csv'
  const take = function* (final: boolean): Generator<string> {
    let start = 0
    if (!csv) {
      for (let nl = buf.indexOf('\n', scan); nl !== -1; nl = buf.indexOf('\n', start)) {
        yield buf.slice(start, nl)
        start = nl + 1
      }
    } else {
      for (let i = scan; i < buf.length; i++) {
        const ch = buf.charCodeAt(i)
        if (ch === 34) inQuotes = !inQuotes
        else if (ch === 10 && !inQuotes && i > start && buf.charCodeAt(i - 1) === 13) {
          yield buf.slice(start, i - 1)
          start = i + 1
        }
      }
    }
    buf = buf.slice(start)
    scan = buf.length
    if (final && buf.length > 0) {
      // A last line without its terminator: kept, and the completeness check judges it.
      yield buf
      buf = ''
      scan = 0
    }
  }
  for await (const chunk of chunks) {
    buf += decoder.decode(chunk, { stream: true })
    yield* take(false)
  }
  buf += decoder.decode()
  yield* take(true)
}

const NDJSON_MARKER = /^\{"_export":\{"rows":(\d+),"complete":true\}\}$/
const CSV_MARKER = /^#complete,(\d+)(,*)$/

/** The row count a completeness marker states, or undefined when the line is not one. */
export function markerRows(line: string, format: ExportFormat): number | undefined {
  const m = (format === 'csv' ? CSV_MARKER : NDJSON_MARKER).exec(line)
  return m ? Number(m[1]) : undefined
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

/**
 * A running export. The body can be read once: as the raw stream (`body`, unchecked), or through
 * `lines()` / `events()`, which check the completeness marker at the end and throw
 * AuditLogError `incomplete_export` when the file was cut short.
 */
export class ExportDownload {
  /** Rows the file holds, known once lines() or events() has read it to a valid marker. */
  rows: number | undefined
  constructor(
    readonly response: Response,
    readonly format: ExportFormat,
  ) {}

  /** The streamed file as the service sent it. */
  get body(): ReadableStream<Uint8Array> {
    const b = this.response.body
    if (!b) throw new AuditLogError('incomplete_export', 'the export answer has no body')
    return b as ReadableStream<Uint8Array>
  }

  /** The file name the service suggests (Content-Disposition), if any. */
  get filename(): string | undefined {
    return /filename="([^"]+)"/.exec(this.response.headers.get('content-disposition') ?? '')?.[1]
  }

  /**
   * Every line of the file except the completeness marker: for CSV the header record first,
   * then one record per event. Throws `incomplete_export` at the end if the marker is missing
   * or counts other than the rows read.
   */
  async *lines(): AsyncGenerator<string> {
    let held: string | undefined
    let seen = 0
    for await (const line of splitRecords(chunksOf(this.body), this.format)) {
      if (held !== undefined) {
        yield held
        seen++
      }
      held = line
    }
    const header = this.format === 'csv' ? 1 : 0
    const stated = held === undefined ? undefined : markerRows(held, this.format)
    if (stated === undefined) {
      if (held !== undefined) {
        yield held
        seen++
      }
      throw new AuditLogError(
        'incomplete_export',
        `the export ended without its completeness marker after ${Math.max(seen - header, 0)} rows: it was cut short`,
      )
    }
    const rows = seen - header
    if (stated !== rows)
      throw new AuditLogError(
        'incomplete_export',
        `the completeness marker states ${stated} rows but the file holds ${rows}`,
      )
    this.rows = rows
  }

  /** NDJSON only: each exported event, parsed, then the completeness check. */
  async *events(): AsyncGenerator<AuditEvent> {
    if (this.format !== 'ndjson') throw new TypeError('events() reads NDJSON exports; this one is CSV')
    for await (const line of this.lines()) yield JSON.parse(line) as AuditEvent
  }
}

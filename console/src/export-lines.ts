// Reading an export in the browser: text chunks to NDJSON lines (LF) or CSV records (CRLF
// outside quotes), and the completeness marker the service ends a whole file with (NDJSON's
// last line `{"_export":{"rows":N,"complete":true}}`, CSV's last record `#complete,N,,...`;
// docs/search.md, Export). The same rules as sdk/export.ts (a unit test holds them together);
// kept here so the console's type graph stays free of the server-side schemas.

export type ExportFormat = 'ndjson' | 'csv'

const NDJSON_MARKER = /^\{"_export":\{"rows":(\d+),"complete":true\}\}$/
const CSV_MARKER = /^#complete,(\d+)(,*)$/

export function markerRowsOf(line: string, format: ExportFormat): number | undefined {
  const m = (format === 'csv' ? CSV_MARKER : NDJSON_MARKER).exec(line)
  return m ? Number(m[1]) : undefined
}

/** Splits decoded text into records; call with final=true once the stream ends. */
export class RecordSplitter {
  private buf = ''
  private scan = 0
  private inQuotes = false
  constructor(private readonly format: ExportFormat) {}

  push(text: string, final = false): string[] {
    this.buf += text
    const out: string[] = []
    let start = 0
    if (this.format === 'ndjson') {
      for (let nl = this.buf.indexOf('\n', this.scan); nl !== -1; nl = this.buf.indexOf('\n', start)) {
        out.push(this.buf.slice(start, nl))
        start = nl + 1
      }
    } else {
      for (let i = this.scan; i < this.buf.length; i++) {
        const ch = this.buf.charCodeAt(i)
        if (ch === 34) this.inQuotes = !this.inQuotes
        else if (ch === 10 && !this.inQuotes && i > start && this.buf.charCodeAt(i - 1) === 13) {
          out.push(this.buf.slice(start, i - 1))
          start = i + 1
        }
      }
    }
    this.buf = this.buf.slice(start)
    this.scan = this.buf.length
    if (final && this.buf.length > 0) {
      out.push(this.buf)
      this.buf = ''
      this.scan = 0
    }
    return out
  }
}

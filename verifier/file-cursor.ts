// A cursor over one archive file: its lines in order, each read from its bytes when it is in the
// consumer's chained layout (verifier/fast-line.ts) or else parsed and schema-checked at once,
// so the k-way merge knows every line's seq. A line that is not a stored event is a break here.
import { issuesText } from '../core/errors'
import { type StoredEvent, storedEventSchema } from '../core/ingest/stored-event'
import { type Tombstone, tombstoneSchema } from '../core/retention/tombstone'
import type { EventFile } from './archive-layout'
import { ChainBreak } from './breaks'
import { type LineFacts, readChainedLine } from './fast-line'
import type { LineReader } from './line-reader'

export type Cursor = {
  file: EventFile
  lines: LineReader
  lineNo: number
  current: Current | undefined
  /** The file's dt as bytes, when it is a valid date (else only the slow path reads it). */
  dt?: Buffer
}
/** The line under a cursor: read from its bytes (canonical lines) or parsed. */
export type Current = {
  seq: number
  line: number
  bytes: Buffer
  fast: LineFacts | undefined
  event: StoredEvent | undefined
  /** Set instead of `event` for a line of a tombstones file. */
  tombstone?: Tombstone
}

function malformed(c: Cursor, tenant: string, why: string) {
  return new ChainBreak({
    tenant,
    file: c.file.rel,
    kind: 'malformed_line',
    line: c.lineNo,
    message: `not a stored event: ${why}`,
  })
}

/** Parses a line of a tombstones file: JSON, then the tombstone schema. */
export function parseTombstone(c: Cursor, tenant: string, bytes: Buffer): Tombstone {
  let raw: unknown
  try {
    raw = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw malformed(c, tenant, 'not JSON')
  }
  const parsed = tombstoneSchema.safeParse(raw)
  if (!parsed.success) throw malformed(c, tenant, `not a tombstone: ${issuesText(parsed.error.issues, 1)}`)
  return parsed.data
}

/** Parses a line the slow way: JSON, then the stored-event schema. */
export function parseLine(c: Cursor, tenant: string, bytes: Buffer): StoredEvent {
  let raw: unknown
  try {
    raw = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw malformed(c, tenant, 'not JSON')
  }
  const parsed = storedEventSchema.safeParse(raw)
  if (!parsed.success) throw malformed(c, tenant, issuesText(parsed.error.issues, 1))
  // The schema types occurred_at as text; the partition check needs a real instant.
  if (Number.isNaN(Date.parse(parsed.data.occurred_at)))
    throw malformed(c, tenant, 'occurred_at: not a timestamp')
  // The hash covers the line as written, not the schema's normalised copy.
  return raw as StoredEvent
}

function unreadable(c: Cursor, tenant: string, err: unknown) {
  return new ChainBreak({
    tenant,
    file: c.file.rel,
    kind: 'unreadable_file',
    message: `cannot read: ${(err as Error).message}`,
  })
}

/** Moves a cursor to its next line; false when more of the file must be decompressed first. */
export function advanceSync(c: Cursor, tenant: string, suffix: Buffer): boolean {
  for (;;) {
    const bytes = c.lines.nextSync()
    if (bytes === undefined) return false
    if (bytes === null) {
      c.current = undefined
      return true
    }
    c.lineNo++
    if (bytes.length === 0) continue
    if (c.file.tombstones) {
      const tombstone = parseTombstone(c, tenant, bytes)
      c.current = { seq: tombstone.seq, line: c.lineNo, bytes, fast: undefined, event: undefined, tombstone }
      return true
    }
    const fast = readChainedLine(bytes, suffix)
    // One object shape for both paths, so the hot loop sees a single map.
    if (fast) c.current = { seq: fast.seq, line: c.lineNo, bytes, fast, event: undefined }
    else {
      const event = parseLine(c, tenant, bytes)
      c.current = { seq: event.seq, line: c.lineNo, bytes, fast: undefined, event }
    }
    return true
  }
}

export async function advance(c: Cursor, tenant: string, suffix: Buffer): Promise<void> {
  while (!advanceSync(c, tenant, suffix)) {
    try {
      await c.lines.fill()
    } catch (err) {
      throw unreadable(c, tenant, err)
    }
  }
}

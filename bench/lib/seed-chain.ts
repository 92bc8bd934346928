// Seeds a tenant's chain straight into a local D1 SQLite file, before the Worker starts: events
// chained with the product's own code (seq i + 1 is event i) and inserted with the consumer's own
// statement, in blocks. bench:search and bench:console use it to reach a million events quickly.
import Database from 'better-sqlite3'
import { INSERT_EVENTS_SQL } from '../../core/db/events'
import type { PendingEvent } from '../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../core/integrity/chain'

/** Events per statement: the insert takes the stored lines as one JSON array parameter. */
const PER_STATEMENT = 500
const BLOCK = 50_000

/** Chains and inserts events 0..n-1; `onBlock` sees each block's stored lines before they are written. */
export async function seedChain(
  file: string,
  n: number,
  eventAt: (i: number) => PendingEvent,
  onBlock?: (lines: string[], first: number) => void,
): Promise<void> {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const stmt = db.prepare(INSERT_EVENTS_SQL)
  const insert = db.transaction((lines: string[]) => {
    for (let i = 0; i < lines.length; i += PER_STATEMENT)
      stmt.run(`[${lines.slice(i, i + PER_STATEMENT).join(',')}]`)
  })
  let head = { seq: 0, hash: GENESIS_HASH }
  for (let b = 0; b < n; b += BLOCK) {
    const pending: PendingEvent[] = []
    for (let i = b; i < Math.min(n, b + BLOCK); i++) pending.push(eventAt(i))
    const { stored, lines } = await appendToChain(head, pending)
    head = { seq: stored.at(-1)!.seq, hash: stored.at(-1)!.hash }
    onBlock?.(lines, b)
    insert(lines)
  }
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}

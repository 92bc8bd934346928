// The events layout before migrations/0011: every column copied from the stored line, the line as
// body. Migration tests write rows the way that layout's consumer did.
export const OLD_EVENT_COLUMNS = [
  ['tenant', 'tenant'],
  ['seq', 'seq'],
  ['id', 'id'],
  ['occurred_at', 'occurred_at'],
  ['received_at', 'received_at'],
  ['action', 'action'],
  ['actor_type', 'actor.type'],
  ['actor_id', 'actor.id'],
  ['target_type', 'target.type'],
  ['target_id', 'target.id'],
  ['parent_type', 'parent.type'],
  ['parent_id', 'parent.id'],
  ['source', 'source'],
  ['outcome', 'outcome.status'],
  ['correlation_id', 'context.correlation_id'],
  ['ip', 'context.ip'],
  ['hash', 'hash'],
] as const

export const OLD_INSERT_EVENTS_SQL = `INSERT INTO events (${OLD_EVENT_COLUMNS.map(([c]) => c).join(', ')}, body)
  SELECT ${OLD_EVENT_COLUMNS.map(([, p]) => `json_extract(value, '$.${p}')`).join(', ')}, value FROM json_each(?)`

type Db = { prepare(sql: string): { get(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] } }

/** The CREATE statement of a table or index, as SQLite keeps it. */
export const tableSql = (db: Db, name: string) =>
  (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string } | undefined)?.sql

/** The named indexes of `events`, sorted (SQLite's own autoindexes left out). */
export const eventIndexes = (db: Db) =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all() as {
      name: string
    }[]
  )
    .map((r) => r.name)
    .filter((n) => !n.startsWith('sqlite_'))
    .sort()

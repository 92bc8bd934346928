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

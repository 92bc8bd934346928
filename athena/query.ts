// Typed Athena queries for the same questions the search API answers. Values never enter the
// SQL text: they travel as ExecutionParameters, which Athena substitutes as literals, so each
// is validated and rendered as a quoted SQL string literal ('' doubling) here.
// Every query keeps one row per (dt, seq): while compaction swaps a day's small files for the
// merged part, both can be listed for a moment (docs/archive.md, "Compaction"), and a copy of
// an event is the same line, so keeping the first is exact.
import { createHmac } from 'node:crypto'
import { z } from 'zod'
import { searchFilterShape } from '../core/search/filters'

const f = searchFilterShape
/** The search API's filters (validated exactly as the API validates them), plus a date range. */
export const athenaQuerySchema = z
  .object({
    tenant: z.string().min(1).max(128),
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
    actor_id: f.actor_id,
    actor_type: f.actor_type,
    action: f.action,
    target_type: f.target_type,
    target_id: f.target_id,
    include_children: z.boolean().optional(),
    source: f.source,
    outcome: f.outcome,
    correlation_id: f.correlation_id,
    ip: f.ip,
    since: f.since,
    until: f.until,
    include_audit_reads: z.boolean().optional(),
    limit: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict()
export type AthenaQuery = z.input<typeof athenaQuerySchema>

export const COLUMNS = [
  'id',
  'seq',
  'occurred_at',
  'action',
  'actor_type',
  'actor_id',
  'target_type',
  'target_id',
  'parent_type',
  'parent_id',
  'outcome',
  'source',
  'correlation_id',
  'ip',
  'tenant',
  'dt',
] as const
export type AthenaRow = Omit<Record<(typeof COLUMNS)[number], string | null>, 'seq'> & { seq: number }

const MAX_VALUE = 1024

/** A string as an Athena SQL literal. Control characters are refused rather than escaped. */
export function sqlLiteral(value: string): string {
  if (value.length > MAX_VALUE) throw new Error(`a query value may be at most ${MAX_VALUE} characters`)
  for (const ch of value) {
    const c = ch.charCodeAt(0)
    if (c < 0x20 || c === 0x7f) throw new Error('a query value may not contain control characters')
  }
  return `'${value.replace(/'/g, "''")}'`
}

const IDENT = /^[a-z_][a-z0-9_]*$/

export function buildQuery(
  input: AthenaQuery,
  opts: { database: string; table: string; maxDays?: number; hashKey?: string },
) {
  const q = athenaQuerySchema.parse(input)
  const hashKey = opts.hashKey
  if (!IDENT.test(opts.database) || !IDENT.test(opts.table))
    throw new Error('database and table must be lower-case identifiers')
  if (q.from > q.to) throw new Error('from must not be after to')
  const days = (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 + 1
  const maxDays = opts.maxDays ?? 31
  if (days > maxDays)
    throw new Error(`the range spans ${days} days; the cap is ${maxDays} (raise maxDays to scan more)`)
  const where: string[] = ['tenant = ?', 'dt BETWEEN ? AND ?']
  const params: string[] = [q.tenant, q.from, q.to]
  const eq = (expr: string, v: string | undefined) => {
    if (v === undefined) return
    where.push(`${expr} = ?`)
    params.push(v)
  }
  eq('actor.id', q.actor_id)
  eq('actor.type', q.actor_type)
  if (q.action?.endsWith('*')) {
    where.push('starts_with(action, ?)')
    params.push(q.action.slice(0, -1))
  } else eq('action', q.action)
  if (q.target_type && q.target_id && q.include_children) {
    where.push('((target.type = ? AND target.id = ?) OR (parent.type = ? AND parent.id = ?))')
    params.push(q.target_type, q.target_id, q.target_type, q.target_id)
  } else {
    eq('target.type', q.target_type)
    eq('target.id', q.target_id)
  }
  eq('source', q.source)
  eq('outcome.status', q.outcome)
  eq('context.correlation_id', q.correlation_id)
  // Validated as the plaintext the API takes; matched as the stored form when the field is hashed.
  eq('context.ip', q.ip !== undefined && hashKey ? hashQueryValue(hashKey, q.ip) : q.ip)
  // Stored timestamps are UTC with milliseconds, so they compare as text once bounds are too.
  if (q.since) {
    where.push('occurred_at >= ?')
    params.push(new Date(q.since).toISOString())
  }
  if (q.until) {
    where.push('occurred_at <= ?')
    params.push(new Date(q.until).toISOString())
  }
  // As in the search API, the service's own read audit trail shows only when asked for.
  // Tombstones of expired events (docs/retention.md) are not events.
  where.push('expired_at IS NULL')
  if (!q.include_audit_reads && !q.action?.startsWith('audit_log'))
    where.push("NOT starts_with(action, 'audit_log.')")
  const sql = `SELECT ${COLUMNS.join(', ')}
FROM (
  SELECT id, seq, occurred_at, action, actor.type AS actor_type, actor.id AS actor_id,
    target.type AS target_type, target.id AS target_id, parent.type AS parent_type, parent.id AS parent_id,
    outcome.status AS outcome, source, context.correlation_id AS correlation_id, context.ip AS ip, tenant, dt,
    row_number() OVER (PARTITION BY dt, seq ORDER BY hash) AS copy_no
  FROM "${opts.database}"."${opts.table}"
  WHERE ${where.join('\n    AND ')}
)
WHERE copy_no = 1
ORDER BY occurred_at DESC, id DESC
LIMIT ${q.limit}`
  return { sql, parameters: params.map(sqlLiteral) }
}

/** The environment variable `athena query --hash-key-from-env` reads the tenant's HMAC key from. */
export const HASH_KEY_ENV = 'AUDIT_LOG_HASH_KEY'

/**
 * A filter value hashed as the Worker hashes a field the privacy policy hashes
 * (core/privacy/protected-value.ts: HMAC-SHA-256 of the value's JSON text under the tenant's key,
 * `hmac:v1:<hex>`), so an equality filter matches the stored form. `hashKey` is the tenant's
 * HMAC key, base64url (`athena hash-key` prints it).
 */
export function hashQueryValue(hashKey: string, v: string): string {
  const key = Buffer.from(hashKey, 'base64url')
  if (key.length !== 32) throw new Error(`${HASH_KEY_ENV} must be the tenant's 32-byte HMAC key, base64url`)
  return `hmac:v1:${createHmac('sha256', key).update(JSON.stringify(v)).digest('hex')}`
}

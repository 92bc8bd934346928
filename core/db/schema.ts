// D1 schema. The events table is append-only: rows are inserted once, in chain order, and are
// only ever deleted by retention after their archive object is written and mirrored. event_ids,
// written in the same transaction, is never deleted: it is how an id is found at any age.
// Every index on `events` costs one written row per event, so each one must serve a
// documented query pattern (see README "Search").
import { sql } from 'drizzle-orm'
import {
  blob,
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core'

/** A column computed from the stored content when read (VIRTUAL: stored only in the indexes that use it). */
const fromContent = (path: string) => sql.raw(`json_extract(content, '$.${path}')`)

export const events = sqliteTable(
  'events',
  {
    // Stored: the key, the chain hashes and the content (migrations/0011). A row is then at most
    // about the stored line's length, which keeps a typical event inside its 4 KiB leaf page.
    tenant: text('tenant').notNull(),
    occurredAt: text('occurred_at').notNull(),
    id: text('id').notNull(),
    /** The line's chain hash and previous hash, 32 + 32 bytes; null for a line not in the chained layout. */
    chain: blob('chain', { mode: 'buffer' }),
    /**
     * The canonical content the leaf hash is over: the line after its chain hashes, with its `{`
     * (core/integrity/chain.ts); the whole line when chain is null.
     */
    content: text('content').notNull(),
    /** The whole stored event as JSON (core/ingest/stored-event.ts), rebuilt byte for byte. */
    body: text('body')
      .notNull()
      .generatedAlwaysAs(
        sql.raw(
          `iif(chain IS NULL, content, '{"hash":"' || lower(hex(substr(chain, 1, 32))) || '","prev_hash":"' || lower(hex(substr(chain, 33, 32))) || '",' || substr(content, 2))`,
        ),
        { mode: 'virtual' },
      ),
    hash: text('hash')
      .notNull()
      .generatedAlwaysAs(
        sql.raw(`iif(chain IS NULL, json_extract(content, '$.hash'), lower(hex(substr(chain, 1, 32))))`),
        { mode: 'virtual' },
      ),
    seq: integer('seq').notNull().generatedAlwaysAs(fromContent('seq'), { mode: 'virtual' }),
    receivedAt: text('received_at')
      .notNull()
      .generatedAlwaysAs(fromContent('received_at'), { mode: 'virtual' }),
    action: text('action').notNull().generatedAlwaysAs(fromContent('action'), { mode: 'virtual' }),
    actorType: text('actor_type').notNull().generatedAlwaysAs(fromContent('actor.type'), { mode: 'virtual' }),
    actorId: text('actor_id').notNull().generatedAlwaysAs(fromContent('actor.id'), { mode: 'virtual' }),
    targetType: text('target_type')
      .notNull()
      .generatedAlwaysAs(fromContent('target.type'), { mode: 'virtual' }),
    targetId: text('target_id').notNull().generatedAlwaysAs(fromContent('target.id'), { mode: 'virtual' }),
    parentType: text('parent_type').generatedAlwaysAs(fromContent('parent.type'), { mode: 'virtual' }),
    parentId: text('parent_id').generatedAlwaysAs(fromContent('parent.id'), { mode: 'virtual' }),
    source: text('source').generatedAlwaysAs(fromContent('source'), { mode: 'virtual' }),
    outcome: text('outcome').notNull().generatedAlwaysAs(fromContent('outcome.status'), { mode: 'virtual' }),
    correlationId: text('correlation_id').generatedAlwaysAs(fromContent('context.correlation_id'), {
      mode: 'virtual',
    }),
    ip: text('ip').generatedAlwaysAs(fromContent('context.ip'), { mode: 'virtual' }),
  },
  (t) => [
    // (tenant, occurred_at, id) is the table itself (WITHOUT ROWID, migrations/0003): it is the
    // time index, so the newest events and time ranges cost no extra index. Reads by id go
    // through event_ids (id -> occurred_at, then this key). seq has no index: the chain is only
    // walked in bulk, by time, off the hot path.
    primaryKey({ columns: [t.tenant, t.occurredAt, t.id] }),
    index('events_tenant_actor').on(t.tenant, t.actorId, t.occurredAt, t.id),
    index('events_tenant_target').on(t.tenant, t.targetType, t.targetId, t.occurredAt, t.id),
    // Partial: only events that have a parent / a correlation id pay for these.
    index('events_tenant_parent')
      .on(t.tenant, t.parentType, t.parentId, t.occurredAt, t.id)
      .where(sql`${t.parentId} IS NOT NULL`),
    index('events_tenant_correlation')
      .on(t.tenant, t.correlationId, t.occurredAt, t.id)
      .where(sql`${t.correlationId} IS NOT NULL`),
    // Failures by source address ("every failed login from this IP"): only failures pay.
    index('events_tenant_failed_ip')
      .on(t.tenant, t.ip, t.occurredAt, t.id)
      .where(sql`${t.outcome} = 'failure' AND ${t.ip} IS NOT NULL`),
  ],
)

/**
 * Every stored event's place, by id: written in the same transaction as its events row and never
 * deleted (retention removes only `events` rows), so deduplication, reads by id and proofs work at
 * any age. WITHOUT ROWID (migrations/0003): the primary key is the table, one written row per event.
 */
export const eventIds = sqliteTable(
  'event_ids',
  {
    tenant: text('tenant').notNull(),
    id: text('id').notNull(),
    seq: integer('seq').notNull(),
    occurredAt: text('occurred_at').notNull(),
    /**
     * The first 32 hex digits of SHA-256 over the canonical client-supplied content
     * (core/ingest/content-hash.ts). Null for rows backfilled by migrations/0003: filled in from
     * the stored copy the first time the id is posted again.
     */
    contentHash: text('content_hash'),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.id] })],
)

/**
 * Later posts of a stored id with different content (the first stored copy wins). One row per
 * (id, request, content); `at` is when the conflicting copy was received. WITHOUT ROWID.
 */
export const idConflicts = sqliteTable(
  'id_conflicts',
  {
    tenant: text('tenant').notNull(),
    id: text('id').notNull(),
    requestId: text('request_id').notNull(),
    contentHash: text('content_hash').notNull(),
    at: text('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.id, t.requestId, t.contentHash] })],
)

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    name: text('name'),
    scopes: text('scopes').notNull(),
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: text('created_at').notNull(),
    revokedAt: text('revoked_at'),
    /** The key id that minted this key, or "admin-token"; null for keys minted before it was kept. */
    createdBy: text('created_by'),
    /** RFC 3339 UTC; null: the key does not expire. */
    expiresAt: text('expires_at'),
    /** Who revoked the key: a key id or "admin-token". */
    revokedBy: text('revoked_by'),
    /**
     * The audit_log.key.revoked event (pending form, JSON), written in the same statement as
     * revoked_at: an outbox, re-sent by a repeated DELETE until it is on record (the consumer
     * dedupes by its id).
     */
    revocationEvent: text('revocation_event'),
  },
  (t) => [uniqueIndex('api_keys_hash').on(t.keyHash), index('api_keys_tenant').on(t.tenant)],
)

/** The newest link of each tenant's chain; the consumer advances it with an optimistic check. */
export const chainHeads = sqliteTable('chain_heads', {
  tenant: text('tenant').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
  /** Merkle frontier over leaves 1..seq (core/integrity/merkle.ts), JSON. */
  frontier: text('frontier').notNull().default('[]'),
  updatedAt: text('updated_at').notNull(),
})

/** Leaf hashes of one committed run, concatenated hex in seq order: what inclusion proofs are built from. */
export const chainLeaves = sqliteTable(
  'chain_leaves',
  {
    tenant: text('tenant').notNull(),
    firstSeq: integer('first_seq').notNull(),
    leaves: text('leaves').notNull(),
    /**
     * Roots of the aligned perfect subtrees of at least 256 leaves whose last leaf is in this row,
     * as JSON {"<first leaf index>:<size>": hash} (core/db/tree.ts). Null in rows written before.
     */
    nodes: text('nodes'),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.firstSeq] })],
)

/** Signed checkpoints (core/integrity/checkpoint.ts), also published as files in R2. */
export const checkpoints = sqliteTable(
  'checkpoints',
  {
    tenant: text('tenant').notNull(),
    issuedAt: text('issued_at').notNull(),
    seq: integer('seq').notNull(),
    body: text('body').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.issuedAt] })],
)

/**
 * One row whose CHECK fails a transaction: written right after the conditional chain-head
 * update with the number of rows that update changed, it aborts the whole batch when another
 * writer moved the head first.
 */
export const chainGuard = sqliteTable(
  'chain_guard',
  {
    id: integer('id').primaryKey(),
    applied: integer('applied').notNull(),
  },
  (t) => [check('chain_guard_applied', sql`${t.applied} = 1`)],
)

/**
 * One row per (tenant, UTC day) group of a committed consumer batch: the archive object that
 * must hold those events. Inserted in the same transaction as the events (an outbox), marked
 * written once the R2 object exists.
 */
export const archiveSegments = sqliteTable(
  'archive_segments',
  {
    tenant: text('tenant').notNull(),
    dt: text('dt').notNull(),
    firstSeq: integer('first_seq').notNull(),
    lastSeq: integer('last_seq').notNull(),
    objectKey: text('object_key').notNull(),
    eventCount: integer('event_count').notNull(),
    /** pending: in D1 only; closing: being written as object_key (a crash leaves it to redo); written. */
    status: text('status', { enum: ['pending', 'closing', 'written'] }).notNull(),
    createdAt: text('created_at').notNull(),
    writtenAt: text('written_at'),
    /** Bytes of the segment's NDJSON lines (migrations/0010; 0 in rows from before). */
    bytes: integer('bytes').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.dt, t.firstSeq] }),
    index('archive_segments_status').on(t.status, t.tenant),
  ],
)

/**
 * Integrity alarms (core/integrity/alarms.ts). Append-only but for the acknowledgement columns,
 * which are set once; an alarm's id is derived from what it found, so the monitor finding the
 * same thing again raises nothing new.
 */
export const alarms = sqliteTable(
  'alarms',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    kind: text('kind').notNull(),
    seq: integer('seq'),
    detail: text('detail').notNull(),
    raisedAt: text('raised_at').notNull(),
    acknowledgedAt: text('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
    ackNote: text('ack_note'),
  },
  (t) => [index('alarms_tenant_time').on(t.tenant, t.raisedAt)],
)

/**
 * Tombstones of expired events (core/retention/tombstone.ts; migrations/0007, WITHOUT ROWID):
 * what stays of an event whose retention class period ended, the chain and tree facts only.
 * Written once, in the transaction that deletes the event's row; never deleted.
 */
export const tombstones = sqliteTable(
  'tombstones',
  {
    tenant: text('tenant').notNull(),
    seq: integer('seq').notNull(),
    retention: text('retention').notNull(),
    leaf: text('leaf').notNull(),
    hash: text('hash').notNull(),
    prevHash: text('prev_hash').notNull(),
    dt: text('dt').notNull(),
    expiredAt: text('expired_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.seq] })],
)

/** Per tenant: the monitor's sweep in progress (JSON, cron/monitor.ts) and rows retention released. */
export const monitorState = sqliteTable('monitor_state', {
  tenant: text('tenant').primaryKey(),
  released: integer('released').notNull().default(0),
  sweep: text('sweep'),
  sweeps: integer('sweeps').notNull().default(0),
  lastSweepAt: text('last_sweep_at'),
  updatedAt: text('updated_at'),
})

/**
 * Console sessions (core/db/sessions.ts), keyed by the SHA-256 of the cookie token, never the
 * token. `principal` says what signed in: an API key (`key_id`; its tenant and scopes are read from
 * the key on every use), the admin token (`subject` = the token's SHA-256, so a new ADMIN_TOKEN
 * ends its sessions) or a Cloudflare Access identity (`subject` = the e-mail, mapped again on use).
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    principal: text('principal', { enum: ['key', 'admin-token', 'access'] }).notNull(),
    keyId: text('key_id'),
    tenant: text('tenant'),
    subject: text('subject'),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [index('console_sessions_key').on(t.keyId), index('console_sessions_expiry').on(t.expiresAt)],
)

/**
 * Per-subject data keys of the PII policy (core/db/subject-keys.ts; migrations/0008, WITHOUT
 * ROWID). A key's bytes are stored only wrapped; erasure sets wrapped_key to NULL and keeps the
 * row (erased_at, erased_by): crypto-shredding. At most one unerased key per (tenant, subject).
 */
export const subjectKeys = sqliteTable(
  'subject_keys',
  {
    tenant: text('tenant').notNull(),
    subject: text('subject').notNull(),
    keyId: text('key_id').notNull(),
    wrappedKey: text('wrapped_key'),
    wrappedBy: text('wrapped_by'),
    createdAt: text('created_at').notNull(),
    erasedAt: text('erased_at'),
    erasedBy: text('erased_by'),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.subject, t.keyId] }),
    uniqueIndex('subject_keys_active').on(t.tenant, t.subject).where(sql`${t.erasedAt} IS NULL`),
  ],
)

/**
 * The shard map (core/db/shards.ts; migrations/0009, WITHOUT ROWID), read in the directory (the
 * first database of D1_SHARDS): the shard that holds each tenant, and a move in progress.
 */
export const tenantShards = sqliteTable('tenant_shards', {
  tenant: text('tenant').primaryKey(),
  shard: text('shard').notNull(),
  movingTo: text('moving_to'),
  moveState: text('move_state', { enum: ['frozen', 'copying', 'switched'] }),
  /** JSON: the move's progress, so an interrupted move resumes where it stopped. */
  moveCursor: text('move_cursor'),
  oldShard: text('old_shard'),
  assignedAt: text('assigned_at').notNull(),
  updatedAt: text('updated_at').notNull(),
})

// migrations/0011_events_compact_rows.sql on a database that already holds events: every row keeps
// its key and reads back with the same body, hash and search columns, the indexes are rebuilt, and a
// typical event's row fits its leaf page (no overflow page). New rows go in with the consumer's own
// statement (INSERT_EVENTS_SQL). Run with SQLite (better-sqlite3), split as wrangler splits it.
import { readdirSync, readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { unstable_splitSqlQuery } from 'wrangler'
import { INSERT_EVENTS_SQL } from '../../core/db/events'
import type { PendingEvent } from '../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../core/integrity/chain'
import {
  eventIndexes,
  OLD_EVENT_COLUMNS,
  OLD_INSERT_EVENTS_SQL,
  tableSql,
} from '../support/old-events-layout'

const MIGRATION = '0011_events_compact_rows.sql'
const apply = (db: Database, file: string) => {
  for (const q of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8'))) db.prepare(q).run()
}
const migrationsBefore = () =>
  readdirSync('migrations')
    .filter((f) => f.endsWith('.sql') && f < MIGRATION)
    .sort()

const READ = `SELECT ${OLD_EVENT_COLUMNS.map(([c]) => c).join(', ')}, body FROM events ORDER BY tenant, occurred_at, id`

/** An event shaped as bench:cost posts it (sealed e-mail, IP and user agent), with variations. */
const pending = (i: number, tenant = 'acme'): PendingEvent => ({
  v: 1,
  tenant,
  id: `e-${i}`,
  occurred_at: `2026-01-0${1 + (i % 3)}T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
  received_at: '2026-01-05T00:00:00.000Z',
  action: i % 5 === 0 ? 'user.login' : 'user.role.updated',
  actor: {
    type: 'user',
    id: `u_${i % 7}`,
    email: `sealed:v1:xyeIIQ0xN92oqy9n:${'A'.repeat(64)}${i}`,
  },
  target: { type: 'user', id: `u_${(i * 7) % 11}`, name: i % 4 === 0 ? 'Zoë «admin»' : 'plain' },
  ...(i % 2 ? { parent: { type: 'org', id: 'o1' } } : {}),
  outcome: i % 5 === 0 ? { status: 'failure', reason: 'bad password' } : { status: 'success' },
  changes: [{ field: 'role', before: '"viewer"', after: '"admin"' }],
  context: {
    ip: `sealed:v1:xyeIIQ0xN92oqy9n:${'B'.repeat(56)}`,
    user_agent: `sealed:v1:xyeIIQ0xN92oqy9n:${'C'.repeat(52)}`,
    ...(i % 3 ? { correlation_id: `c-${i % 4}` } : {}),
  },
  source: 'accounts',
  ingest: { key_id: 'key_s4cvSk5-ADgO3fbI', request_id: '01a236d7-c839-71be-a266-146458e4299e', colo: 'DFW' },
  retention: 'access',
})

/** A line stored before the chained layout: any key order, chain hashes last. */
const legacyLine = (tenant: string) =>
  JSON.stringify({
    v: 1,
    tenant,
    id: 'legacy-1',
    seq: 99,
    occurred_at: '2025-12-31T00:00:00.000Z',
    received_at: '2025-12-31T00:00:01.000Z',
    action: 'doc.updated',
    actor: { type: 'user', id: 'u_old' },
    target: { type: 'doc', id: 'd1' },
    outcome: { status: 'success' },
    ingest: { key_id: 'k', request_id: 'r' },
    hash: 'a'.repeat(64),
    prev_hash: 'b'.repeat(64),
  })

const overflowPages = (db: Database) =>
  (
    db.prepare("SELECT count(*) AS n FROM dbstat WHERE name = 'events' AND pagetype = 'overflow'").get() as {
      n: number
    }
  ).n

describe(`migrations/${MIGRATION}`, () => {
  it('keeps every row, body, hash and search column, rebuilds the indexes, and rows fit their leaf', async () => {
    const db = new Database(':memory:')
    for (const f of migrationsBefore()) apply(db, f)
    const { lines } = await appendToChain(
      { seq: 0, hash: GENESIS_HASH },
      Array.from({ length: 60 }, (_, i) => pending(i)),
    )
    const other = await appendToChain({ seq: 0, hash: GENESIS_HASH }, [pending(0, 'other')])
    db.prepare(OLD_INSERT_EVENTS_SQL).run(
      JSON.stringify([...lines, ...other.lines].map((l) => JSON.parse(l))),
    )
    db.prepare(OLD_INSERT_EVENTS_SQL).run(`[${legacyLine('acme')}]`)
    const before = db.prepare(READ).all() as { body: string }[]
    expect(before).toHaveLength(62)
    // Every row of this shape spilled into an overflow page of its own.
    expect(overflowPages(db)).toBe(61)

    apply(db, MIGRATION)
    expect(db.prepare(READ).all()).toEqual(before)
    // Chained lines are stored as their hashes and content; the legacy line whole.
    expect(db.prepare('SELECT count(*) AS n FROM events WHERE chain IS NULL').get()).toEqual({ n: 1 })
    expect(
      db.prepare("SELECT content FROM events WHERE id = 'legacy-1'").get() as { content: string },
    ).toEqual({ content: legacyLine('acme') })
    db.prepare('VACUUM').run()
    expect(overflowPages(db)).toBe(0)

    const schema = (name: string) => tableSql(db, name)
    expect(schema('events')).toMatch(/PRIMARY KEY\(`tenant`, `occurred_at`, `id`\)\s*\) WITHOUT ROWID$/)
    const indexes = eventIndexes(db)
    expect(indexes).toEqual([
      'events_tenant_actor',
      'events_tenant_correlation',
      'events_tenant_failed_ip',
      'events_tenant_parent',
      'events_tenant_target',
    ])
    const count = (q: string) => (db.prepare(q).get('acme') as { n: number }).n
    expect(
      count(
        'SELECT count(*) AS n FROM events INDEXED BY events_tenant_parent WHERE tenant = ? AND parent_id IS NOT NULL',
      ),
    ).toBe(30)
    expect(
      count(
        "SELECT count(*) AS n FROM events INDEXED BY events_tenant_failed_ip WHERE tenant = ? AND outcome = 'failure' AND ip IS NOT NULL",
      ),
    ).toBe(12)
    expect(
      count(
        "SELECT count(*) AS n FROM events INDEXED BY events_tenant_correlation WHERE tenant = ? AND correlation_id = 'c-1'",
      ),
    ).toBe(10)
    expect(
      count(
        "SELECT count(*) AS n FROM events INDEXED BY events_tenant_actor WHERE tenant = ? AND actor_id = 'u_3'",
      ),
    ).toBe(9)

    // New rows through the consumer's statement read back as the lines that were inserted.
    const next = await appendToChain({ seq: 60, hash: 'f'.repeat(64) }, [pending(60), pending(61)])
    db.prepare(INSERT_EVENTS_SQL).run(`[${next.lines.join(',')}]`)
    const bodies = db
      .prepare("SELECT body, hash, seq FROM events WHERE id IN ('e-60', 'e-61') ORDER BY seq")
      .all()
    expect(bodies).toEqual(next.stored.map((s, i) => ({ body: next.lines[i], hash: s.hash, seq: s.seq })))
    // A derived column cannot be edited apart from the content it is read from.
    expect(() => db.prepare("UPDATE events SET actor_id = 'u_hidden' WHERE id = 'e-1'").run()).toThrow(
      /generated column/,
    )
  })
})

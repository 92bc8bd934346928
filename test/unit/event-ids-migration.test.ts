// migrations/0003_event_ids.sql on a database that already holds events: the events table is
// rebuilt keyed by (tenant, occurred_at, id) with every row and index, and event_ids is filled from
// the rows. Run with SQLite (better-sqlite3), split into statements as wrangler splits them.
import { readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { unstable_splitSqlQuery } from 'wrangler'
import { eventIndexes, OLD_INSERT_EVENTS_SQL, tableSql } from '../support/old-events-layout'

const apply = (db: Database, file: string) => {
  for (const q of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8'))) db.prepare(q).run()
}

const stored = (i: number, tenant = 'acme') => ({
  v: 1,
  tenant,
  id: `e-${i}`,
  seq: i + 1,
  occurred_at: `2026-01-0${1 + (i % 3)}T00:00:00.000Z`,
  received_at: '2026-01-05T00:00:00.000Z',
  action: 'doc.updated',
  actor: { type: 'user', id: `u${i % 2}` },
  target: { type: 'doc', id: `d${i}` },
  ...(i % 2 ? { parent: { type: 'folder', id: 'f' } } : {}),
  outcome: { status: 'success' },
  context: { correlation_id: `c${i % 2}` },
  ingest: { key_id: 'k', request_id: 'r' },
  prev_hash: '0'.repeat(64),
  hash: String(i).padStart(64, '0'),
})

describe('migrations/0003_event_ids.sql', () => {
  it('rebuilds events keyed by time, keeps every row and index, and fills event_ids from the rows', () => {
    const db = new Database(':memory:')
    for (const f of ['0000_init.sql', '0001_integrity.sql', '0002_chain_subtrees.sql']) apply(db, f)
    const rows = [...Array.from({ length: 40 }, (_, i) => stored(i)), stored(0, 'other')]
    db.prepare(OLD_INSERT_EVENTS_SQL).run(JSON.stringify(rows))
    const before = db.prepare('SELECT * FROM events ORDER BY tenant, id').all()

    apply(db, '0003_event_ids.sql')
    expect(db.prepare('SELECT * FROM events ORDER BY tenant, id').all()).toEqual(before)
    expect(
      db
        .prepare('SELECT tenant, id, seq, occurred_at, content_hash FROM event_ids ORDER BY tenant, id')
        .all(),
    ).toEqual(
      (before as { tenant: string; id: string; seq: number; occurred_at: string }[]).map((r) => ({
        tenant: r.tenant,
        id: r.id,
        seq: r.seq,
        occurred_at: r.occurred_at,
        content_hash: null,
      })),
    )
    const schema = (name: string) => tableSql(db, name)
    expect(schema('events')).toMatch(/PRIMARY KEY\(`tenant`, `occurred_at`, `id`\)\s*\) WITHOUT ROWID$/)
    expect(schema('event_ids')).toMatch(/WITHOUT ROWID$/)
    expect(schema('id_conflicts')).toMatch(/WITHOUT ROWID$/)
    const indexes = eventIndexes(db)
    expect(indexes).toEqual([
      'events_tenant_actor',
      'events_tenant_correlation',
      'events_tenant_failed_ip',
      'events_tenant_parent',
      'events_tenant_target',
    ])
    expect(
      db
        .prepare(
          'SELECT count(*) AS n FROM events INDEXED BY events_tenant_parent WHERE tenant = ? AND parent_id IS NOT NULL',
        )
        .get('acme'),
    ).toEqual({ n: 20 })
    // The id lookup refuses a second row for an id.
    expect(() =>
      db
        .prepare("INSERT INTO event_ids (tenant, id, seq, occurred_at) VALUES ('acme', 'e-1', 99, 'x')")
        .run(),
    ).toThrow(/UNIQUE constraint failed/)
  })
})

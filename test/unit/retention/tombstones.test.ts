// The archive with tombstones, read the way the offline verifier, DuckDB (and so Athena) read it.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, describe, expect, it } from 'vitest'
import { athenaDdl } from '../../../athena/ddl'
import { buildQuery } from '../../../athena/query'
import {
  archiveObjectKey,
  parseObjectName,
  parseTombstoneName,
  tombstoneObjectKey,
} from '../../../core/archive/layout'
import { objectLockHeaders } from '../../../core/retention/object-lock'
import {
  expiryDay,
  parseTombstoneLine,
  type Tombstone,
  tombstoneLine,
  tombstoneLinks,
  tombstoneOfLine,
} from '../../../core/retention/tombstone'
import { verifyArchive } from '../../../verifier/verify-archive'
import { writeArchive } from '../../support/archive-fixture'
import { DUCK_COLUMNS } from '../../support/athena-local'

const roots: string[] = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

const EXPIRED_AT = '2026-03-01T00:05:00.000Z'

/** Two consumer batches on one day (seq 1-3, 4-6); the first object expires into tombstones. */
async function expiredFixture(edit: (t: Tombstone[]) => Tombstone[] = (t) => t) {
  const root = mkdtempSync(join(tmpdir(), 'tombstones-'))
  roots.push(root)
  const { keys } = await writeArchive(root, [{ tenant: 'acme', batches: [3, 3], day: () => 0 }])
  const key = archiveObjectKey('acme', '2026-01-01', 1, 3)
  const lines = gunzipSync(readFileSync(join(root, key)))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
  const tombs = edit(lines.map((l) => tombstoneOfLine(l, '2026-01-01', EXPIRED_AT)))
  writeFileSync(join(root, tombstoneObjectKey(key)), gzipSync(`${tombs.map(tombstoneLine).join('\n')}\n`))
  unlinkSync(join(root, key))
  return { root, keys, lines }
}

describe('tombstones', () => {
  it('name their object after the expired one, in the same partition, never as an events object', () => {
    const key = archiveObjectKey('acme', '2026-01-01', 1, 3, 'transient')
    expect(key).toBe('events/tenant=acme/dt=2026-01-01/000000000001-000000000003.transient.ndjson.gz')
    const t = tombstoneObjectKey(key)
    expect(t).toBe(
      'events/tenant=acme/dt=2026-01-01/tombstones-000000000001-000000000003.transient.ndjson.gz',
    )
    const name = (k: string) => k.slice(k.lastIndexOf('/') + 1)
    expect(parseObjectName(name(key))).toEqual({ first: 1, last: 3, retention: 'transient' })
    expect(parseObjectName(name(t))).toBeNull()
    expect(parseTombstoneName(name(t))).toEqual({ first: 1, last: 3, retention: 'transient' })
    expect(parseObjectName('000000000001-000000000003.ndjson.gz')).toEqual({ first: 1, last: 3 })
    expect(parseObjectName('000000000001-000000000003.Bad.ndjson.gz')).toBeNull()
  })

  it('keep what the chain needs and nothing of the event', async () => {
    const { lines } = await expiredFixture()
    const t = tombstoneOfLine(lines[0]!, '2026-01-01', EXPIRED_AT)
    expect(Object.keys(t)).toEqual(['hash', 'prev_hash', 'seq', 'retention', 'leaf', 'dt', 'expired_at'])
    expect(tombstoneLinks(t)).toBe(true)
    expect(parseTombstoneLine(tombstoneLine(t))).toEqual(t)
    expect(tombstoneLine(t)).not.toMatch(/acme-e0|user\.login|doc\.updated/)
    // A tampered line is never turned into a tombstone.
    expect(() => tombstoneOfLine(lines[0]!.replace('"u0"', '"u9"'), '2026-01-01', EXPIRED_AT)).toThrow(
      /fails its check/,
    )
    expect(expiryDay('2026-01-31', 1)).toBe('2026-02-01')
    expect(expiryDay('2024-02-28', 365)).toBe('2025-02-27')
  })

  it('pass the offline verifier, which counts them per class', async () => {
    const { root, keys } = await expiredFixture()
    const r = await verifyArchive(root, keys)
    expect(r.break).toBeUndefined()
    expect(r.ok).toBe(true)
    expect(r.tenants[0]).toMatchObject({
      tenant: 'acme',
      ok: true,
      events: 6,
      checkpoints: 1,
      expired: { standard: 3 },
    })
  })

  it.each([
    [
      'a changed hash',
      (t: Tombstone[]) => t.map((x, i) => (i === 1 ? { ...x, hash: '0'.repeat(64) } : x)),
      'hash_mismatch',
      2,
    ],
    [
      'a changed leaf',
      (t: Tombstone[]) => t.map((x, i) => (i === 1 ? { ...x, leaf: 'f'.repeat(64) } : x)),
      'hash_mismatch',
      2,
    ],
    [
      'a cut link',
      (t: Tombstone[]) => t.map((x, i) => (i === 2 ? { ...x, prev_hash: '1'.repeat(64) } : x)),
      'prev_hash_mismatch',
      3,
    ],
    ['a missing tombstone', (t: Tombstone[]) => t.filter((_, i) => i !== 1), 'seq_mismatch', 3],
    [
      'a wrong day',
      (t: Tombstone[]) => t.map((x, i) => (i === 0 ? { ...x, dt: '2026-01-02' } : x)),
      'wrong_partition',
      1,
    ],
  ])('break the chain with %s', async (_, edit, kind, seq) => {
    const { root, keys } = await expiredFixture(edit)
    const r = await verifyArchive(root, keys)
    expect(r.ok).toBe(false)
    expect(r.break).toMatchObject({ kind, seq })
  })

  it('show in DuckDB (as in Athena) as rows with expired_at set and no event fields', async () => {
    const { root } = await expiredFixture()
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    const src = `read_json('${root}/events/**/*.ndjson.gz', format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = {'tenant': 'VARCHAR', 'dt': 'VARCHAR'}, columns = ${DUCK_COLUMNS})`
    const rows = (
      await c.runAndReadAll(
        `SELECT seq, id, action, retention, leaf, expired_at, tenant, dt FROM ${src} ORDER BY seq`,
      )
    ).getRowObjects()
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5, 6])
    for (const r of rows.slice(0, 3))
      expect(r).toMatchObject({
        id: null,
        action: null,
        retention: 'standard',
        expired_at: EXPIRED_AT,
        tenant: 'acme',
        dt: '2026-01-01',
      })
    for (const r of rows.slice(3))
      expect(r).toMatchObject({ expired_at: null, leaf: null, retention: 'standard' })
    // The query builder's questions see live events only.
    const { sql, parameters } = buildQuery(
      { tenant: 'acme', from: '2026-01-01', to: '2026-01-01', include_audit_reads: true },
      { database: 'main', table: 'events' },
    )
    await c.run(`CREATE VIEW events AS SELECT * FROM ${src}`)
    let q = sql.replace(/"main"\."events"/, 'events')
    for (const p of parameters) q = q.replace('?', p)
    const live = (await c.runAndReadAll(q)).getRowObjects()
    expect(live.map((r) => Number(r.seq)).sort()).toEqual([4, 5, 6])
    expect(athenaDdl({ bucket: 'my-mirror' })).toContain('ORDER BY expired_at IS NULL, hash')
  })
})

describe('Object Lock per archive object', () => {
  it('locks an events object until its class period ends, never in the past, and tags its class', () => {
    const now = new Date('2026-03-01T12:00:00.000Z')
    const h = objectLockHeaders(archiveObjectKey('acme', '2026-02-01', 1, 3, 'auth'), now)
    expect(h).toEqual({
      'x-amz-object-lock-mode': 'COMPLIANCE',
      'x-amz-object-lock-retain-until-date': '2027-02-01T00:00:00.000Z',
      'x-amz-tagging': 'retention-class=auth',
    })
    // The default class has no name in the key; seven years.
    expect(
      objectLockHeaders(archiveObjectKey('acme', '2026-02-01', 4, 4), now)[
        'x-amz-object-lock-retain-until-date'
      ],
    ).toBe('2033-01-30T00:00:00.000Z')
    // Already expired when mirrored: locked one more day only.
    expect(
      objectLockHeaders(archiveObjectKey('acme', '2026-02-01', 5, 5, 'transient'), now)[
        'x-amz-object-lock-retain-until-date'
      ],
    ).toBe('2026-03-02T12:00:00.000Z')
    // Tombstones, checkpoints and manifests keep the bucket's default retention.
    expect(
      objectLockHeaders(tombstoneObjectKey(archiveObjectKey('acme', '2026-02-01', 1, 3, 'auth')), now),
    ).toEqual({})
    expect(objectLockHeaders('manifests/tenant=acme/dt=2026-02-01.json', now)).toEqual({})
  })
})

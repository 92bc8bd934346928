import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, describe, expect, it } from 'vitest'
import { compactPartition } from '../../../core/archive/compaction'
import { compactClosedDays } from '../../../core/archive/compaction-sweep'
import { type Manifest, manifestKey, padSeq } from '../../../core/archive/layout'
import { verifyArchive } from '../../../verifier/verify-archive'
import { writeArchive } from '../../support/archive-fixture'
import { DUCK_COLUMNS } from '../../support/athena-local'
import { fsBucket } from '../../support/fs-bucket'
import { walk } from '../../support/walk'

const roots: string[] = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

const filesIn = (root: string, dt: string) =>
  walk(join(root, 'events')).filter((f) => f.includes(`/dt=${dt}/`))

async function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'compact-'))
  roots.push(root)
  // Eight consumer batches spread over three days: several small files per partition.
  const { keys } = await writeArchive(root, [
    { tenant: 'acme', batches: [7, 5, 9, 3, 6, 4, 8, 2], day: (i) => i % 3 },
  ])
  return { root, keys }
}

async function duckCount(root: string) {
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  const src = `read_json('${root}/events/**/*.ndjson.gz', format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = {'tenant': 'VARCHAR', 'dt': 'VARCHAR'}, columns = ${DUCK_COLUMNS})`
  // The events_v rule: one row per (tenant, dt, seq).
  const r = await c.runAndReadAll(
    `SELECT count(*) AS raw, (SELECT count(*) FROM (SELECT *, row_number() OVER (PARTITION BY tenant, dt, seq ORDER BY hash) AS n FROM ${src}) WHERE n = 1) AS deduped FROM ${src}`,
  )
  const row = r.getRowObjects()[0]!
  return { raw: Number(row.raw), deduped: Number(row.deduped) }
}

describe('compaction', () => {
  it('merges each closed day into one file in seq order, with a manifest that matches it', async () => {
    const { root, keys } = await fixture()
    expect(filesIn(root, '2026-01-01').length).toBeGreaterThan(1)
    const before = await duckCount(root)
    const { manifests, failed } = await compactClosedDays(fsBucket(root), {
      now: new Date('2026-02-01T00:00:00Z'),
    })
    expect(failed).toEqual([])
    expect(manifests.map((m) => m.dt).sort()).toEqual(['2026-01-01', '2026-01-02', '2026-01-03'])
    for (const m of manifests) {
      const files = filesIn(root, m.dt)
      expect(files).toHaveLength(1)
      const [f] = m.files
      expect(files[0]!.endsWith(f!.key)).toBe(true)
      const bytes = readFileSync(join(root, f!.key))
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f!.sha256)
      const seqs = gunzipSync(bytes)
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).seq as number)
      expect(seqs).toHaveLength(f!.lines)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect([seqs[0], seqs.at(-1)]).toEqual([f!.first_seq, f!.last_seq])
      expect(JSON.parse(readFileSync(join(root, manifestKey('acme', m.dt)), 'utf8'))).toEqual(m)
    }
    expect(await duckCount(root)).toEqual(before)
    expect((await verifyArchive(root, keys)).ok).toBe(true)
    // A second run has nothing to do.
    expect(await compactClosedDays(fsBucket(root), { now: new Date('2026-02-01T00:00:00Z') })).toMatchObject({
      manifests: [],
      failed: [],
    })
  })

  it('stopped at any write or delete, shows no event missing or twice, and a rerun completes it', async () => {
    const dt = '2026-01-02'
    let total = 0
    {
      const { root } = await fixture()
      total = filesIn(root, dt).length + 2 // manifest, one part, then one delete per small file
    }
    for (let n = 1; n <= total; n++) {
      const { root, keys } = await fixture()
      const before = await duckCount(root)
      const b = fsBucket(root)
      let calls = 0
      const stopAt =
        <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
        async (...a: A) => {
          if (++calls === n) throw new Error('stopped')
          return f(...a)
        }
      const stopping = { ...b, put: stopAt(b.put), delete: stopAt(b.delete) } as R2Bucket
      await expect(compactPartition(stopping, 'acme', dt), `stop at ${n}`).rejects.toThrow('stopped')
      const mid = await duckCount(root)
      expect(mid.deduped, `stop at ${n}`).toBe(before.deduped)
      expect((await verifyArchive(root, keys)).ok, `stop at ${n}`).toBe(true)
      await compactPartition(fsBucket(root), 'acme', dt)
      expect(filesIn(root, dt), `stop at ${n}`).toHaveLength(1)
      expect(await duckCount(root)).toEqual({ raw: before.deduped, deduped: before.deduped })
      expect((await verifyArchive(root, keys)).ok).toBe(true)
    }
  })

  it('reports a partition it cannot read and still compacts the ones after it', async () => {
    const { root } = await fixture()
    // A file that is not gzip, in the first partition listed.
    writeFileSync(join(root, 'events/tenant=acme/dt=2026-01-01/000000000999-000000000999.ndjson.gz'), 'oops')
    const { manifests, failed } = await compactClosedDays(fsBucket(root), {
      now: new Date('2026-02-01T00:00:00Z'),
    })
    expect(failed.map((f) => f.dt)).toEqual(['2026-01-01'])
    expect(manifests.map((m) => m.dt).sort()).toEqual(['2026-01-02', '2026-01-03'])
    // The unreadable partition is left exactly as it was.
    expect(filesIn(root, '2026-01-01').length).toBeGreaterThan(2)
  })

  it('bounds each part, leaves large files alone, and its manifest names every file of the day', async () => {
    const { root, keys } = await fixture()
    const dt = '2026-01-01'
    const sizes = filesIn(root, dt).map((f) => statSync(f).size)
    const targetBytes = Math.ceil(sizes.reduce((a, b) => a + b, 0) / 2)
    const before = await duckCount(root)
    let m: Manifest | null = null
    for (let i = 0; i < 5; i++) m = (await compactPartition(fsBucket(root), 'acme', dt, { targetBytes })) ?? m
    const files = filesIn(root, dt)
    expect(files.length).toBeGreaterThan(1)
    expect(files.length).toBeLessThan(sizes.length)
    const stored = JSON.parse(readFileSync(join(root, manifestKey('acme', dt)), 'utf8')) as Manifest
    expect(stored.files.map((f) => f.key).sort()).toEqual(files.map((f) => f.slice(root.length + 1)).sort())
    for (const f of stored.files) {
      const bytes = readFileSync(join(root, f.key))
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256)
      expect(gunzipSync(bytes).toString().split('\n').filter(Boolean)).toHaveLength(f.lines)
    }
    const after = await duckCount(root)
    expect(after).toEqual({ raw: before.deduped, deduped: before.deduped })
    expect((await verifyArchive(root, keys)).ok).toBe(true)
  })

  it('merges late events into a new part and keeps the earlier part in the manifest', async () => {
    const { root } = await fixture()
    const dt = '2026-01-02'
    await compactClosedDays(fsBucket(root), { now: new Date('2026-02-01T00:00:00Z') })
    const [part] = filesIn(root, dt)
    const template = gunzipSync(readFileSync(part!)).toString().split('\n')[0]!
    const late = (seq: number) => JSON.stringify({ ...JSON.parse(template), id: `late-${seq}`, seq })
    const dir = join(root, 'events/tenant=acme', `dt=${dt}`)
    writeFileSync(join(dir, `${padSeq(9001)}-${padSeq(9001)}.ndjson.gz`), gzipSync(`${late(9001)}\n`))
    writeFileSync(
      join(dir, `${padSeq(9002)}-${padSeq(9003)}.ndjson.gz`),
      gzipSync(`${late(9002)}\n${late(9003)}\n`),
    )
    // The day's part now counts as large: only the late files are merged, into a part of their own.
    const { manifests } = await compactClosedDays(fsBucket(root), {
      now: new Date('2026-02-01T00:00:00Z'),
      targetBytes: statSync(part!).size * 2,
    })
    expect(manifests).toHaveLength(1)
    const m = manifests[0]!
    expect(m.files.map((f) => f.key.slice(f.key.lastIndexOf('/') + 1))).toEqual([
      part!.slice(part!.lastIndexOf('/') + 1),
      `${padSeq(9001)}-${padSeq(9003)}.ndjson.gz`,
    ])
    expect(m.superseded).toHaveLength(2)
    expect(filesIn(root, dt)).toHaveLength(2)
  })

  it('walks the archive a few listing pages per run from a cursor, and a finished sweep starts over', async () => {
    const { root } = await fixture()
    const now = new Date('2026-02-01T00:00:00Z')
    const runs = []
    for (let i = 0; i < 20; i++) {
      const r = await compactClosedDays(fsBucket(root), { now, maxPages: 1, pageSize: 3 })
      runs.push(r)
      expect(r.pages).toBe(1)
      if (r.sweep_finished) break
    }
    expect(runs.length).toBeGreaterThan(2)
    expect(runs.flatMap((r) => r.manifests.map((m) => m.dt)).sort()).toEqual([
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
    ])
    for (const dt of ['2026-01-01', '2026-01-02', '2026-01-03']) expect(filesIn(root, dt)).toHaveLength(1)
    const again = await compactClosedDays(fsBucket(root), { now })
    expect(again).toMatchObject({ manifests: [], sweep_finished: true })
  })

  it('leaves open days alone', async () => {
    const { root } = await fixture()
    const { manifests: done } = await compactClosedDays(fsBucket(root), {
      now: new Date('2026-01-03T12:00:00Z'),
      graceDays: 1,
    })
    expect(done.map((m) => m.dt)).toEqual(['2026-01-01'])
  })

  it('never shows an event missing or twice, at any point of an interrupted run, and finishes on retry', async () => {
    const { root, keys } = await fixture()
    const before = await duckCount(root)
    let seen = 0
    const interrupted = fsBucket(root, {
      beforeDelete: () => {
        if (++seen === 2) throw new Error('interrupted')
      },
    })
    await expect(compactPartition(interrupted, 'acme', '2026-01-02')).rejects.toThrow('interrupted')
    // Mid-way: merged part, manifest and some superseded files all present.
    const mid = await duckCount(root)
    expect(mid.raw).toBeGreaterThan(before.raw)
    expect(mid.deduped).toBe(before.deduped)
    expect((await verifyArchive(root, keys)).ok).toBe(true)
    // The retry finishes the interrupted run (deletes what its manifest superseded) and has
    // nothing left to merge.
    expect(await compactPartition(fsBucket(root), 'acme', '2026-01-02')).toBeNull()
    const m = JSON.parse(readFileSync(join(root, manifestKey('acme', '2026-01-02')), 'utf8')) as Manifest
    expect(m.files).toHaveLength(1)
    expect(filesIn(root, '2026-01-02')[0]!.endsWith(m.files[0]!.key)).toBe(true)
    expect(filesIn(root, '2026-01-02')).toHaveLength(1)
    expect(await duckCount(root)).toEqual(before)
    expect((await verifyArchive(root, keys)).ok).toBe(true)
  })
})

// bench:archive — what the archive costs and how well it prunes: bytes per event as raw JSON vs
// archived gzip NDJSON, files per partition before and after compaction, and the bytes DuckDB
// reads for a one-tenant one-day query next to the whole archive.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { compactClosedDays } from '../core/archive/compaction-sweep'
import { writeArchive } from '../test/support/archive-fixture'
import { DUCK_COLUMNS } from '../test/support/athena-local'
import { fsBucket } from '../test/support/fs-bucket'
import { walk } from '../test/support/walk'

const PER_TENANT = Number(process.env.BENCH_EVENTS ?? 40_000)
const TENANTS = ['acme', 'globex', 'initech', 'umbrella']
const DAYS = 10

const eventFiles = (root: string) => walk(join(root, 'events')).filter((f) => f.endsWith('.ndjson.gz'))

function partitionStats(root: string) {
  const files = eventFiles(root)
  const parts = new Map<string, number>()
  for (const f of files) {
    const p = f.slice(0, f.lastIndexOf('/'))
    parts.set(p, (parts.get(p) ?? 0) + 1)
  }
  const counts = [...parts.values()]
  return {
    files: files.length,
    partitions: parts.size,
    mean: files.length / parts.size,
    max: Math.max(...counts),
  }
}

const root = mkdtempSync(join(tmpdir(), 'bench-archive-'))
try {
  // Consumer-sized batches (100 events), events spread over ten days: many small files.
  await writeArchive(
    root,
    TENANTS.map((tenant) => ({
      tenant,
      batches: Array(PER_TENANT / 100).fill(100),
      day: (i: number) => Math.floor((i / PER_TENANT) * DAYS),
    })),
  )
  const files = eventFiles(root)
  let rawBytes = 0
  let gzBytes = 0
  let events = 0
  for (const f of files) {
    const gz = readFileSync(f)
    gzBytes += gz.length
    const text = gunzipSync(gz).toString('utf8')
    for (const line of text.split('\n')) {
      if (!line) continue
      events++
      rawBytes += Buffer.byteLength(line) + 1
    }
  }
  const before = partitionStats(root)
  const { failed } = await compactClosedDays(fsBucket(root), {
    now: new Date('2027-01-01T00:00:00Z'),
    maxPartitions: 10_000,
  })
  if (failed.length > 0) throw new Error(`compaction failed: ${JSON.stringify(failed)}`)
  const after = partitionStats(root)
  const compactedBytes = eventFiles(root).reduce((n, f) => n + statSync(f).size, 0)

  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  await c.run(
    `CREATE VIEW events AS SELECT * FROM read_json('${root}/events/**/*.ndjson.gz', format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = {'tenant': 'VARCHAR', 'dt': 'VARCHAR'}, columns = ${DUCK_COLUMNS})`,
  )
  // DuckDB's own profile says how many files it opened; their bytes are what a scan costs.
  const filesRead = async (where: string, dir: string) => {
    const r = await c.runAndReadAll(`EXPLAIN ANALYZE SELECT count(*) FROM events WHERE ${where}`)
    const plan = r
      .getRows()
      .map((row) => row.join('\n'))
      .join('\n')
    const read = Number(/Total Files Read:\s*(\d+)/.exec(plan)?.[1] ?? Number.NaN)
    const expected = eventFiles(root).filter((f) => f.startsWith(dir))
    if (read !== expected.length)
      throw new Error(`DuckDB read ${read} files, the filter selects ${expected.length}`)
    return { files: read, bytes: expected.reduce((n, f) => n + statSync(f).size, 0) }
  }
  const one = await filesRead(
    "tenant = 'acme' AND dt = '2026-01-03'",
    join(root, 'events/tenant=acme/dt=2026-01-03/'),
  )
  const all = await filesRead('true', join(root, 'events/'))

  console.log(
    `archive of ${events} events, ${TENANTS.length} tenants x ${DAYS} days, written in consumer batches of 100\n`,
  )
  console.log('measure                                   value')
  console.log('----------------------------------------  ------------------------------')
  console.log(`bytes/event, raw JSON line                ${(rawBytes / events).toFixed(0)}`)
  console.log(
    `bytes/event, archived gzip NDJSON         ${(gzBytes / events).toFixed(0)}  (${(gzBytes / rawBytes).toFixed(3)}x raw; target <= 0.2x)`,
  )
  console.log(
    `bytes/event, after compaction             ${(compactedBytes / events).toFixed(0)}  (${(compactedBytes / rawBytes).toFixed(3)}x raw)`,
  )
  console.log(
    `files per partition, before compaction    mean ${before.mean.toFixed(1)}, max ${before.max} (${before.files} files)`,
  )
  console.log(
    `files per partition, after compaction     mean ${after.mean.toFixed(1)}, max ${after.max} (${after.files} files)`,
  )
  console.log(`DuckDB bytes read, one tenant one day     ${one.bytes} in ${one.files} file(s) opened`)
  console.log(
    `DuckDB bytes read, whole archive          ${all.bytes} in ${all.files} files opened  (one day = ${((one.bytes / all.bytes) * 100).toFixed(2)}%)`,
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}

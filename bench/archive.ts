// bench:archive — what the archive costs and how well it prunes: bytes per event as raw JSON vs
// archived gzip NDJSON, files per partition before and after compaction, and the bytes DuckDB
// reads for a one-tenant one-day query next to the whole archive.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { readPartition } from '../core/archive/archive-reader'
import { compactPartition } from '../core/archive/compaction'
import { compactClosedDays } from '../core/archive/compaction-sweep'
import { archiveObjectKey, zoneMapKey } from '../core/archive/layout'
import { gzipLines } from '../core/archive/r2'
import { computeZoneMap, zoneQuery } from '../core/archive/zone-map'
import { toPendingEvent } from '../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../core/integrity/chain'
import { searchQuerySchema } from '../core/search/filters'
import { writeArchive } from '../test/support/archive-fixture'
import { DUCK_COLUMNS } from '../test/support/athena-local'
import { fsBucket } from '../test/support/fs-bucket'
import { memoryBucket } from '../test/support/memory-bucket'
import { walk } from '../test/support/walk'

const PER_TENANT = Number(process.env.BENCH_EVENTS ?? 40_000)
const TENANTS = ['acme', 'globex', 'initech', 'umbrella']
const DAYS = 10

/**
 * Bytes an archive search reads from R2 (events objects, manifest, zone maps) for one actor and
 * for one correlation id over one day of one busy tenant (2,000 actors, consumer objects of 100
 * events), against the bytes of that day's events objects; then the same after compaction.
 */
async function zoneMapPruning() {
  const N = Number(process.env.BENCH_ZONE_EVENTS ?? 20_000)
  const { bucket, objects } = memoryBucket()
  const dt = '2026-03-04'
  const pending = Array.from({ length: N }, (_, i) =>
    toPendingEvent(
      {
        id: `e${i}`,
        occurred_at: new Date(
          Date.parse(`${dt}T00:00:00.000Z`) + Math.floor((i / N) * 86_399_000),
        ).toISOString(),
        action: ['user.login', 'doc.updated', 'user.role.updated', 'order.created', 'billing.invoice.paid'][
          i % 5
        ]!,
        actor: { type: 'user', id: `user-${(i * 7919) % 2000}` },
        target: { type: i % 2 ? 'doc' : 'order', id: `t-${(i * 104_729) % 5000}` },
        ...(i % 3 === 0 ? { parent: { type: 'project', id: `p-${i % 300}` } } : {}),
        context: { correlation_id: `req-${Math.floor(i / 4)}`, request_id: `r${i}` },
        changes: [{ field: 'status', before: `s${i % 11}`, after: `s${(i + 1) % 11}` }],
        source: ['web', 'api', 'billing'][i % 3],
      } as never,
      'busy',
      `${dt}T23:59:59.999Z`,
      { key_id: 'k', request_id: `r${i}` },
    ),
  )
  const { stored, lines } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  for (let at = 0; at < N; at += 100) {
    const l = lines.slice(at, at + 100)
    const key = archiveObjectKey('busy', dt, stored[at]!.seq, stored[Math.min(at + 100, N) - 1]!.seq)
    const body = await gzipLines(l)
    await bucket.put(key, body)
    await bucket.put(zoneMapKey(key), JSON.stringify(computeZoneMap(l, body.byteLength)!))
  }
  let bytes = 0
  const get = bucket.get.bind(bucket)
  bucket.get = (async (key: string) => {
    const o = await get(key)
    if (o) bytes += o.size
    return o
  }) as typeof bucket.get
  const dayBytes = () =>
    [...objects].filter(([k]) => k.startsWith('events/')).reduce((n, [, o]) => n + o.bytes.byteLength, 0)
  const measure = async (q: Record<string, string>) => {
    bytes = 0
    const events = await readPartition(bucket, 'busy', dt, zoneQuery(searchQuerySchema.parse(q) as never))
    return { bytes, events: events.length }
  }
  const out: string[] = []
  for (const stage of ['consumer objects', 'after compaction']) {
    if (stage === 'after compaction') await compactPartition(bucket, 'busy', dt, { maxGroups: 1000 })
    // after compaction: parts of up to DEFAULT_TARGET_BYTES, each with its own zone map
    const day = dayBytes()
    for (const q of [{ actor_id: 'user-42' }, { correlation_id: 'req-1234' }] as Record<string, string>[]) {
      const r = await measure(q)
      out.push(
        `archive search bytes read, ${Object.entries(q)[0]!.join('=')} (${stage})`.padEnd(72) +
          `${r.bytes} of ${day}  (${((r.bytes / day) * 100).toFixed(2)}%; target at most 10%)`,
      )
    }
  }
  return { events: N, lines: out }
}

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
  const zones = await zoneMapPruning()
  console.log(
    `\nzone maps: one day of ${zones.events} events, 2000 actors (bytes include manifest and zone maps)`,
  )
  for (const l of zones.lines) console.log(l)
} finally {
  rmSync(root, { recursive: true, force: true })
}

// bench:verify — offline verification rate next to raw SHA-256 over the same bytes on this
// machine, and what hashing adds per event at ingest.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { appendToChain, GENESIS_HASH, leafHashSync, linkHashSync } from '../core/integrity/chain'
import { appendLeaf, type Frontier } from '../core/integrity/merkle'
import { type PendingEvent, storedEventSchema, toPendingEvent } from '../core/stored-event'
import { writeArchive } from '../test/support/archive-fixture'
import { walk } from '../test/support/walk'
import { verifyArchive } from '../verifier/verify-archive'

const N = Number(process.env.BENCH_EVENTS ?? 100_000)
const BATCH = 1000

const root = mkdtempSync(join(tmpdir(), 'bench-verify-'))
try {
  const t0 = performance.now()
  await writeArchive(root, [
    { tenant: 'bench', batches: Array(N / BATCH).fill(BATCH), day: (i) => Math.floor(i / 20_000) },
  ])
  console.log(`built an archive of ${N} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const keys = JSON.parse(readFileSync(join(root, 'audit-log-keys.json'), 'utf8'))

  const v0 = performance.now()
  const result = await verifyArchive(root, keys)
  const verifyS = (performance.now() - v0) / 1000
  if (!result.ok) throw new Error(`verification failed: ${JSON.stringify(result.break)}`)

  // Raw SHA-256 over the same event bytes: one digest per line, as the verifier's leaf hash.
  const lines = walk(join(root, 'events'))
    .filter((f) => f.endsWith('.gz'))
    .flatMap((f) =>
      gunzipSync(readFileSync(f))
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Buffer.from(l)),
    )
  const bytes = lines.reduce((n, l) => n + l.length, 0)
  const r0 = performance.now()
  for (const l of lines) createHash('sha256').update(l).digest()
  const rawS = (performance.now() - r0) / 1000

  // Ingest: what chaining (JCS + leaf + link) adds per event in the consumer.
  const pending: PendingEvent[] = Array.from({ length: 20_000 }, (_, i) =>
    toPendingEvent(
      {
        id: `e${i}`,
        occurred_at: '2026-01-01T00:00:00.000Z',
        action: 'user.role.updated',
        actor: { type: 'user', id: `u${i}`, email: 'jane@example.com' },
        target: { type: 'user', id: `t${i}` },
        changes: [{ field: 'role', before: 'viewer', after: 'admin' }],
        context: { ip: '203.0.113.7', correlation_id: `c${i}` },
      },
      'bench',
      '2026-01-01T00:00:01.000Z',
      { key_id: 'k', request_id: 'r' },
    ),
  )
  const c0 = performance.now()
  await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  const chainUs = ((performance.now() - c0) * 1000) / pending.length

  // Where the verifier's time goes, stage by stage over the same lines (each stage timed alone).
  const texts = lines.map((l) => l.toString('utf8'))
  const stage = (f: () => void) => {
    const s0 = performance.now()
    f()
    return ((performance.now() - s0) * 1000) / texts.length
  }
  let parsed: Record<string, unknown>[] = []
  const parseUs = stage(() => {
    parsed = texts.map((t) => JSON.parse(t) as Record<string, unknown>)
  })
  const schemaUs = stage(() => {
    for (const o of parsed) storedEventSchema.safeParse(o)
  })
  const leaves: string[] = []
  const leafUs = stage(() => {
    for (const { hash: _h, prev_hash: _p, ...content } of parsed) leaves.push(leafHashSync(content))
  })
  const linkUs = stage(() => {
    for (const [i, o] of parsed.entries()) linkHashSync(o.prev_hash as string, leaves[i]!)
  })
  let frontier: Frontier = []
  const merkleUs = stage(() => {
    for (const l of leaves) frontier = appendLeaf(frontier, l)
  })
  const rawUs = (rawS * 1e6) / lines.length
  const totalUs = (verifyS * 1e6) / N

  const rows = [
    [
      'offline verifier',
      (N / verifyS).toFixed(0),
      `${(bytes / verifyS / 1e6).toFixed(1)} MB/s`,
      `${(rawS / verifyS).toFixed(2)}x (target >= 0.5x)`,
    ],
    [
      'raw SHA-256, same bytes (baseline)',
      (N / rawS).toFixed(0),
      `${(bytes / rawS / 1e6).toFixed(1)} MB/s`,
      '1.00x',
    ],
  ]
  console.log(['path', 'events/s', 'throughput', 'ratio'].join(' | '))
  for (const r of rows) console.log(r.join(' | '))
  console.log('\nverifier stage | µs/event | share of verify time')
  for (const [name, us] of [
    ['JSON.parse', parseUs],
    ['stored-event schema (zod)', schemaUs],
    ['leaf hash (RFC 8785 canonical form + SHA-256)', leafUs],
    ['link hash (SHA-256)', linkUs],
    ['Merkle frontier append', merkleUs],
    ['raw SHA-256 of the line (baseline)', rawUs],
  ] as const)
    console.log(`${name} | ${us.toFixed(2)} | ${((us / totalUs) * 100).toFixed(0)}%`)
  console.log(`whole verifier (gunzip, checks, all stages) | ${totalUs.toFixed(2)} | 100%`)
  console.log(
    `\n${N} events, ${(bytes / 1e6).toFixed(1)} MB of JSON lines; ingest hashing adds ${chainUs.toFixed(1)} µs per event (JCS + leaf + link)`,
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}

// bench:verify — offline verification rate next to raw SHA-256 over the same bytes on this
// machine, and what hashing adds per event at ingest.
import * as crypto from 'node:crypto'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { type PendingEvent, storedEventSchema, toPendingEvent } from '../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH, leafHashSync } from '../core/integrity/chain'
import type { PublicKeyDocument } from '../core/integrity/checkpoint'
import { MerkleAccumulator } from '../core/integrity/merkle'
import { writeArchive } from '../test/support/archive-fixture'
import { walk } from '../test/support/walk'
import {
  acceptChainedLine,
  ChainState,
  type LineFacts,
  readChainedLine,
  tenantSuffix,
} from '../verifier/fast-line'
import { verifyArchive } from '../verifier/verify-archive'
import { median } from './lib/stats'

const N = Number(process.env.BENCH_EVENTS ?? 100_000)
const BATCH = 1000

const root = mkdtempSync(join(tmpdir(), 'bench-verify-'))
const small = mkdtempSync(join(tmpdir(), 'bench-verify-small-'))
const archiveOf = (dir: string, n: number) =>
  writeArchive(dir, [
    { tenant: 'bench', batches: Array(n / BATCH).fill(BATCH), day: (i) => Math.floor(i / 20_000) },
  ])

/**
 * Peak live heap + array-buffer memory while verifying, above what was live when it started (MB):
 * sampled every millisecond after a full collection (npm run bench:verify runs node with --expose-gc),
 * so garbage not yet collected does not count as held.
 */
async function memoryWhileVerifying(dir: string, keys: PublicKeyDocument): Promise<number> {
  const collect = (globalThis as { gc?: () => void }).gc
  if (!collect) throw new Error('run with node --expose-gc (npm run bench:verify)')
  const used = () => {
    collect()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const base = used()
  let peak = base
  const sampler = setInterval(() => {
    peak = Math.max(peak, used())
  }, 1)
  await verifyArchive(dir, keys)
  clearInterval(sampler)
  return (Math.max(peak, used()) - base) / 1e6
}

try {
  const t0 = performance.now()
  await archiveOf(root, N)
  await archiveOf(small, N / 5)
  console.log(
    `built archives of ${N} and ${N / 5} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  const keys = JSON.parse(readFileSync(join(root, 'audit-log-keys.json'), 'utf8'))

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
  const seconds = (f: () => unknown) => {
    const s0 = performance.now()
    f()
    return (performance.now() - s0) / 1000
  }
  const oneShot = (crypto as unknown as { hash?: (a: string, d: Uint8Array, e: string) => unknown }).hash

  // Rounds interleave the verifier and the baselines, so a slow moment of a shared machine hits
  // them alike; the figures are each one's median. One warm-up pass first (the JIT compiles the
  // hot path).
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
  await verifyArchive(root, keys)
  const rounds: { verify: number; raw: number; oneShotBuffer?: number; oneShotString?: number }[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const v0 = performance.now()
    const result = await verifyArchive(root, keys)
    const verify = (performance.now() - v0) / 1000
    if (!result.ok) throw new Error(`verification failed: ${JSON.stringify(result.break)}`)
    const raw = seconds(() => {
      for (const l of lines) createHash('sha256').update(l).digest()
    })
    const oneShotBuffer = oneShot
      ? seconds(() => {
          for (const l of lines) oneShot('sha256', l, 'buffer')
        })
      : undefined
    const oneShotString = oneShot
      ? seconds(() => {
          for (const l of lines) oneShot('sha256', l, 'binary')
        })
      : undefined
    rounds.push({ verify, raw, oneShotBuffer, oneShotString })
  }
  const verifyS = median(rounds.map((r) => r.verify))
  const rawS = median(rounds.map((r) => r.raw))
  const ratios = rounds.map((r) => r.raw / r.verify)

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
  const stage = (f: () => void) => (seconds(f) * 1e6) / lines.length
  // The path every line written by the consumer takes: no parsing, no re-serialising.
  const suffix = tenantSuffix('bench')
  let facts: (LineFacts | undefined)[] = []
  const layoutUs = stage(() => {
    facts = lines.map((l) => readChainedLine(l, suffix))
  })
  if (facts.some((f) => !f)) throw new Error('a line is not in the chained layout')
  const fastLeaves: string[] = []
  const state = new ChainState(GENESIS_HASH)
  // Each line's day, as the verifier holds it per file (made outside the timed stage).
  const days = lines.map((l, i) => l.subarray(facts[i]!.occurredAt, facts[i]!.occurredAt + 10))
  const acceptUs = stage(() => {
    for (let i = 0; i < lines.length; i++) {
      if (!acceptChainedLine(lines[i]!, facts[i]!, days[i]!, state))
        throw new Error(`line ${i} did not verify`)
      fastLeaves.push(state.leaf)
    }
  })
  const tree = new MerkleAccumulator()
  const merkleUs = stage(() => {
    for (const leaf of fastLeaves) tree.appendBinary(leaf)
  })
  // The slow path, taken only by lines in another layout (archives written in field order) and
  // to name a break: JSON, schema, RFC 8785 form, hashes.
  const texts = lines.map((l) => l.toString('utf8'))
  let parsed: Record<string, unknown>[] = []
  const parseUs = stage(() => {
    parsed = texts.map((t) => JSON.parse(t) as Record<string, unknown>)
  })
  const schemaUs = stage(() => {
    for (const o of parsed) storedEventSchema.safeParse(o)
  })
  const slowLeafUs = stage(() => {
    for (const { hash: _h, prev_hash: _p, ...content } of parsed) leafHashSync(content)
  })
  const rawUs = (rawS * 1e6) / lines.length
  const totalUs = (verifyS * 1e6) / N

  const row = (name: string, sec: number, ratio: string) => [
    name,
    (N / sec).toFixed(0),
    `${(bytes / sec / 1e6).toFixed(1)} MB/s`,
    ratio,
  ]
  const rows = [
    row('offline verifier', verifyS, `${median(ratios).toFixed(2)}x (target >= 0.5x)`),
    row('raw SHA-256, createHash per line (baseline)', rawS, '1.00x'),
  ]
  const refs = [
    ['raw SHA-256, one-shot crypto.hash per line, Buffer out', 'oneShotBuffer'],
    ['raw SHA-256, one-shot crypto.hash per line, string out', 'oneShotString'],
  ] as const
  for (const [name, key] of refs) {
    if (!oneShot) continue
    const of = median(rounds.map((r) => r[key]! / r.verify))
    rows.push(row(name, median(rounds.map((r) => r[key]!)), `verifier at ${of.toFixed(2)}x of it`))
  }
  console.log(['path', 'events/s', 'throughput', `ratio (median of ${ROUNDS} rounds)`].join(' | '))
  for (const r of rows) console.log(r.join(' | '))
  console.log(`rounds, verifier / baseline: ${ratios.map((r) => r.toFixed(2)).join(', ')}`)
  console.log('\nverifier stage (chained lines) | µs/event | share of verify time')
  for (const [name, us] of [
    ['layout, seq, tenant (no parse)', layoutUs],
    ['leaf + link hash, prev/hash/day checks (2 SHA-256)', acceptUs],
    ['Merkle frontier append (1 SHA-256 per leaf on average)', merkleUs],
  ] as const)
    console.log(`${name} | ${us.toFixed(2)} | ${((us / totalUs) * 100).toFixed(0)}%`)
  console.log(`whole verifier (gunzip, merge, checks, all stages) | ${totalUs.toFixed(2)} | 100%`)
  console.log('\nfor reference | µs/event')
  for (const [name, us] of [
    ['raw SHA-256 of the line, createHash (baseline)', rawUs],
    ['slow path: JSON.parse', parseUs],
    ['slow path: stored-event schema (zod)', schemaUs],
    ['slow path: RFC 8785 canonical form + leaf SHA-256', slowLeafUs],
  ] as const)
    console.log(`${name} | ${us.toFixed(2)}`)
  console.log(
    `\n${N} events, ${(bytes / 1e6).toFixed(1)} MB of JSON lines; ingest hashing adds ${chainUs.toFixed(1)} µs per event (JCS + leaf + link)`,
  )
  // Streaming: what verification holds does not grow with the archive. Measured last, with the
  // lines above released, so its collections do not disturb the timed rounds.
  lines.length = 0
  parsed = []
  texts.length = 0
  facts = []
  await memoryWhileVerifying(small, keys) // settles what the lines held before measuring
  const memSmall = await memoryWhileVerifying(small, keys)
  const memFull = await memoryWhileVerifying(root, keys)
  console.log(
    `memory while verifying (heap + buffers, peak above start): ${memSmall.toFixed(1)} MB for ${N / 5} events, ${memFull.toFixed(1)} MB for ${N} (${(bytes / 1e6).toFixed(1)} MB of lines)`,
  )
} finally {
  rmSync(root, { recursive: true, force: true })
  rmSync(small, { recursive: true, force: true })
}

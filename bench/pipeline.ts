// bench:pipeline — sustained end-to-end rate (accepted at the edge until present in both D1 and
// the R2 archive) and lag, next to a raw D1 batch insert of the same rows in the same Worker.
// Afterwards every accepted id must be stored exactly once in D1 and archived exactly once.
import { ADMIN_TOKEN, mintKey, sampleEvent, startWorker, table } from './lib/worker-server'
import type { PipelineStats } from './worker/routes'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 30_000)
const BATCH = 100
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4)

async function pool(total: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await worker(next++)
    }),
  )
}

const batches = EVENTS / BATCH
const bodyFor = (b: number, prefix: string) =>
  JSON.stringify({
    events: Array.from({ length: BATCH }, (_, i) =>
      sampleEvent(b * BATCH + i, { id: `${prefix}-${b * BATCH + i}` }),
    ),
  })

const server = await startWorker('pipeline')
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const pipelineStats = async () =>
  (await (
    await fetch(`${server.url}/__bench/pipeline-stats?tenant=bench-pipeline`, { headers: admin })
  ).json()) as PipelineStats
try {
  const key = await mintKey(server.url, 'bench-pipeline')
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const accepted = new Set<string>()
  const t0 = performance.now()
  await pool(batches, async (b) => {
    const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers, body: bodyFor(b, 'pl') })
    if (res.status !== 202) throw new Error(`POST ${res.status}: ${await res.text()}`)
    for (const a of ((await res.json()) as { accepted: { id: string }[] }).accepted) accepted.add(a.id)
  })
  const postedMs = performance.now() - t0
  const deadline = Date.now() + 300_000
  for (;;) {
    const stats = await pipelineStats()
    if (
      (stats.n >= accepted.size && stats.pending === 0 && (stats.archived ?? 0) >= accepted.size) ||
      Date.now() > deadline
    )
      break
    await new Promise((r) => setTimeout(r, 250))
  }
  const pipelineMs = performance.now() - t0

  const r0 = performance.now()
  await pool(batches, async (b) => {
    const res = await fetch(`${server.url}/__bench/raw-insert`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant: 'bench-raw',
        start: b * BATCH,
        events: (JSON.parse(bodyFor(b, 'raw')) as { events: unknown[] }).events,
      }),
    })
    if (res.status !== 200) throw new Error(`raw insert ${res.status}: ${await res.text()}`)
  })
  const rawMs = performance.now() - r0

  const final = await pipelineStats()
  const pipelineRate = (accepted.size / pipelineMs) * 1000
  const rawRate = (EVENTS / rawMs) * 1000
  table([
    {
      path: 'raw D1 batch insert (baseline)',
      events: EVENTS,
      seconds: (rawMs / 1000).toFixed(1),
      'events/s': rawRate.toFixed(0),
      ratio: '1.00x',
    },
    {
      path: 'edge -> queue -> D1 + R2',
      events: accepted.size,
      seconds: (pipelineMs / 1000).toFixed(1),
      'events/s': pipelineRate.toFixed(0),
      ratio: `${(pipelineRate / rawRate).toFixed(2)}x (target >= 0.6x)`,
    },
  ])
  console.log(
    `\nposting took ${(postedMs / 1000).toFixed(1)} s; lag from receipt to archived: p50 ${final.lag_ms.p50?.toFixed(0)} ms, p99 ${final.lag_ms.p99?.toFixed(0)} ms, max ${final.lag_ms.max?.toFixed(0)} ms`,
  )
  const exact =
    final.n === accepted.size &&
    final.ids === accepted.size &&
    final.archive.lines === accepted.size &&
    final.archive.distinct_ids === accepted.size
  console.log(
    `accounted: ${accepted.size} accepted, D1 rows ${final.n} (${final.ids} distinct, seq ${final.lo}..${final.hi}), archived lines ${final.archive.lines} (${final.archive.distinct_ids} distinct) in ${final.objects} objects -> ${exact ? 'every id exactly once' : 'MISMATCH'}`,
  )
  if (!exact) process.exitCode = 1
} finally {
  await server.stop()
}

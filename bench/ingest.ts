// bench:ingest — request and event rates of POST /v1/events against the bare 202 route of the
// same Worker, on loopback, plus D1 rows written per stored event.
import autocannon, { type Options, type Result } from 'autocannon'
import { median } from './lib/stats'
import { mintKey, sampleEvent, startWorker, table } from './lib/worker-server'

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)

function run(opts: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ duration: DURATION, connections: CONNECTIONS, ...opts }, (err, r) =>
      err ? reject(err) : resolve(r),
    )
  })
}

// Rates are measured on the edge path alone: on this 2-core machine a consumer running in the
// same workerd would take CPU from the route under test, which it does not do in production.
const server = await startWorker('ingest', { consumers: false })
try {
  const key = await mintKey(server.url, 'bench-ingest')
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const single = JSON.stringify(sampleEvent(0, { id: undefined }))
  const batch = JSON.stringify({
    events: Array.from({ length: 100 }, (_, i) => sampleEvent(i, { id: undefined })),
  })

  // Warm-up so every isolate and the key cache are hot.
  await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: single, duration: 2 })

  // Rounds interleave the three routes, so a slow spell of this shared machine hits all of them;
  // the ratios reported are each round's, and their median.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
  const rounds: { bare: Result; one: Result; hundred: Result }[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const bare = await run({ url: `${server.url}/__bench/accept`, method: 'POST', headers, body: single })
    const one = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: single })
    const hundred = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: batch })
    for (const [name, x] of [
      ['single', one],
      ['batch', hundred],
      ['bare', bare],
    ] as const) {
      if (x.non2xx > 0 || x.errors > 0)
        console.warn(`${name}: ${x.non2xx} non-2xx responses, ${x.errors} errors`)
    }
    rounds.push({ bare, one, hundred })
  }
  const rps = (x: Result) => x.requests.average
  const singleRatios = rounds.map((r) => rps(r.one) / rps(r.bare))
  const batchRatios = rounds.map((r) => (rps(r.hundred) * 100) / rps(r.bare))
  const list = (xs: number[], digits: number) => xs.map((x) => x.toFixed(digits)).join(', ')
  table([
    {
      route: 'bare 202 route',
      'req/s (median)': median(rounds.map((r) => rps(r.bare))).toFixed(0),
      'events/s': '-',
      'p99 ms': median(rounds.map((r) => r.bare.latency.p99)),
      ratio: '1.00x (baseline)',
    },
    {
      route: 'POST 1 event',
      'req/s (median)': median(rounds.map((r) => rps(r.one))).toFixed(0),
      'events/s': median(rounds.map((r) => rps(r.one))).toFixed(0),
      'p99 ms': median(rounds.map((r) => r.one.latency.p99)),
      ratio: `${median(singleRatios).toFixed(2)}x req/s, rounds ${list(singleRatios, 2)} (target >= 0.8x)`,
    },
    {
      route: 'POST 100 events',
      'req/s (median)': median(rounds.map((r) => rps(r.hundred))).toFixed(0),
      'events/s': (median(rounds.map((r) => rps(r.hundred))) * 100).toFixed(0),
      'p99 ms': median(rounds.map((r) => r.hundred.latency.p99)),
      ratio: `${median(batchRatios).toFixed(1)}x bare req/s in events/s, rounds ${list(batchRatios, 1)} (target >= 50x)`,
    },
  ])
} finally {
  await server.stop()
}

// Rows written per stored event, from D1's meta.rows_written as the consumer reports it.
const full = await startWorker('ingest-consume')
try {
  const key = await mintKey(full.url, 'bench-rows')
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  let n = 0
  for (let b = 0; b < 50; b++) {
    const events = Array.from({ length: 100 }, () => sampleEvent(n++))
    const r = await fetch(`${full.url}/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events }),
    })
    if (r.status !== 202) throw new Error(`batch ${b}: ${r.status}`)
  }
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${full.url}/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify(sampleEvent(n++)),
    })
    if (r.status !== 202) throw new Error(`single ${i}: ${r.status}`)
  }
  const deadline = Date.now() + 120_000
  let events = 0
  let rows = 0
  while (Date.now() < deadline) {
    events = 0
    rows = 0
    for (const l of full.logs) {
      const m = /\{"msg":"events stored".*\}/.exec(l)
      if (!m) continue
      const o = JSON.parse(m[0]) as { events: number; rows_written: number }
      events += o.events
      rows += o.rows_written
    }
    if (events >= n) break
    await new Promise((r) => setTimeout(r, 500))
  }
  console.log(
    `\nD1 rows written per stored event: ${(rows / Math.max(events, 1)).toFixed(2)} (target <= 4, <= 5 with the search indexes; ${events} of ${n} events, 50 batches of 100 + 200 single POSTs)`,
  )
} finally {
  await full.stop()
}

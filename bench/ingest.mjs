// bench:ingest — request and event rates of POST /v1/events against the bare 202 route of the
// same Worker, on loopback, plus D1 rows written per stored event.
import autocannon from 'autocannon'
import { mintKey, sampleEvent, startWorker, table } from './lib/worker-server.mjs'

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16)

function run(opts) {
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

  const bare = await run({ url: `${server.url}/__bench/accept`, method: 'POST', headers, body: single })
  const one = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: single })
  const hundred = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: batch })
  for (const [name, r] of [
    ['single', one],
    ['batch', hundred],
    ['bare', bare],
  ]) {
    if (r.non2xx > 0 || r.errors > 0)
      console.warn(`${name}: ${r.non2xx} non-2xx responses, ${r.errors} errors`)
  }

  const bareRps = bare.requests.average
  table([
    {
      route: 'bare 202 route',
      'req/s': bareRps.toFixed(0),
      'events/s': '-',
      'p99 ms': bare.latency.p99,
      ratio: '1.00x (baseline)',
    },
    {
      route: 'POST 1 event',
      'req/s': one.requests.average.toFixed(0),
      'events/s': one.requests.average.toFixed(0),
      'p99 ms': one.latency.p99,
      ratio: `${(one.requests.average / bareRps).toFixed(2)}x req/s (target >= 0.8x)`,
    },
    {
      route: 'POST 100 events',
      'req/s': hundred.requests.average.toFixed(0),
      'events/s': (hundred.requests.average * 100).toFixed(0),
      'p99 ms': hundred.latency.p99,
      ratio: `${((hundred.requests.average * 100) / bareRps).toFixed(1)}x bare req/s in events/s (target >= 50x)`,
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
      const o = JSON.parse(m[0])
      events += o.events
      rows += o.rows_written
    }
    if (events >= n) break
    await new Promise((r) => setTimeout(r, 500))
  }
  console.log(
    `\nD1 rows written per stored event: ${(rows / Math.max(events, 1)).toFixed(2)} (target <= 4; ${events} of ${n} events, 50 batches of 100 + 200 single POSTs)`,
  )
} finally {
  await full.stop()
}

// bench:ingest — request and event rates of POST /v1/events against the bare 202 route of the
// same Worker, on loopback, plus D1 rows written per stored event. The sample events carry three
// fields the default privacy policy seals (actor.email, context.ip, context.user_agent); a second
// tenant whose policy keeps them plain measures what sealing costs per event and in rows.
import autocannon, { type Options, type Result } from 'autocannon'
import Database from 'better-sqlite3'
import { median } from './lib/stats'
import { d1File, mintKey, sampleEvent, startWorker, table } from './lib/worker-server'

const PLAIN_TENANTS = {
  'bench-plain': {
    'actor.email': 'plain',
    'actor.name': 'plain',
    'context.ip': 'plain',
    'context.user_agent': 'plain',
  },
  'bench-rows-plain': {
    'actor.email': 'plain',
    'actor.name': 'plain',
    'context.ip': 'plain',
    'context.user_agent': 'plain',
  },
}
const vars = { PRIVACY_TENANTS: JSON.stringify(PLAIN_TENANTS) }

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
const server = await startWorker('ingest', { consumers: false, vars })
try {
  const key = await mintKey(server.url, 'bench-ingest')
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const plainHeaders = {
    authorization: `Bearer ${await mintKey(server.url, 'bench-plain')}`,
    'content-type': 'application/json',
  }
  const single = JSON.stringify(sampleEvent(0, { id: undefined }))
  const batch = JSON.stringify({
    events: Array.from({ length: 100 }, (_, i) => sampleEvent(i, { id: undefined })),
  })

  // Warm-up so every isolate and the key cache are hot (the batch's 100 subjects get their data
  // keys here: the cold cost of a new subject is measured with the rows below).
  await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: single, duration: 2 })
  await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: batch, duration: 2 })
  await run({
    url: `${server.url}/v1/events`,
    method: 'POST',
    headers: plainHeaders,
    body: batch,
    duration: 2,
  })

  // Rounds interleave the three routes, so a slow spell of this shared machine hits all of them;
  // the ratios reported are each round's, and their median.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
  const rounds: { bare: Result; one: Result; hundred: Result; plain: Result }[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const bare = await run({ url: `${server.url}/__bench/accept`, method: 'POST', headers, body: single })
    const one = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: single })
    const hundred = await run({ url: `${server.url}/v1/events`, method: 'POST', headers, body: batch })
    const plain = await run({
      url: `${server.url}/v1/events`,
      method: 'POST',
      headers: plainHeaders,
      body: batch,
    })
    for (const [name, x] of [
      ['single', one],
      ['batch', hundred],
      ['bare', bare],
      ['batch, plain policy', plain],
    ] as const) {
      if (x.non2xx > 0 || x.errors > 0)
        console.warn(`${name}: ${x.non2xx} non-2xx responses, ${x.errors} errors`)
    }
    rounds.push({ bare, one, hundred, plain })
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
    {
      route: 'POST 100 events, nothing sealed',
      'req/s (median)': median(rounds.map((r) => rps(r.plain))).toFixed(0),
      'events/s': (median(rounds.map((r) => rps(r.plain))) * 100).toFixed(0),
      'p99 ms': median(rounds.map((r) => r.plain.latency.p99)),
      ratio: `${median(rounds.map((r) => (rps(r.plain) * 100) / rps(r.bare))).toFixed(1)}x bare req/s in events/s`,
    },
  ])
  // Sealing cost: the same batch of 100 events to the sealed and the plain tenant, one request at
  // a time and alternating, so load on this shared machine hits both alike; keys are warm.
  const timeBatch = async (h: Record<string, string>) => {
    const t = performance.now()
    const r = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: h, body: batch })
    if (r.status !== 202) throw new Error(`batch: ${r.status}`)
    return performance.now() - t
  }
  const sealedMs: number[] = []
  const plainMs: number[] = []
  for (let i = 0; i < 60; i++) {
    sealedMs.push(await timeBatch(headers))
    plainMs.push(await timeBatch(plainHeaders))
  }
  const sealUs = ((median(sealedMs) - median(plainMs)) * 1000) / 100
  console.log(
    `\nSealing cost at ingest: ${sealUs.toFixed(1)} us per event (3 sealed fields; median of 60 sequential batches of 100: ${median(sealedMs).toFixed(1)} ms sealed, ${median(plainMs).toFixed(1)} ms plain)`,
  )
} finally {
  await server.stop()
}

// Rows written per stored event, from D1's meta.rows_written as the consumer reports it.
const full = await startWorker('ingest-consume', { vars, shards: 1 })
try {
  const n = 5200
  for (const tenant of ['bench-rows', 'bench-rows-plain']) {
    const key = await mintKey(full.url, tenant)
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    let i = 0
    for (let b = 0; b < 50; b++) {
      const events = Array.from({ length: 100 }, () => sampleEvent(i++))
      // A 503 (the local queue under load) is retried as a client would: ids make it idempotent.
      let r = await fetch(`${full.url}/v1/events`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ events }),
      })
      for (let t = 0; t < 3 && r.status === 503; t++) {
        await new Promise((ok) => setTimeout(ok, 1000))
        r = await fetch(`${full.url}/v1/events`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ events }),
        })
      }
      if (r.status !== 202) throw new Error(`batch ${b}: ${r.status}`)
    }
    for (let s = 0; s < 200; s++) {
      const r = await fetch(`${full.url}/v1/events`, {
        method: 'POST',
        headers,
        body: JSON.stringify(sampleEvent(i++)),
      })
      if (r.status !== 202) throw new Error(`single ${s}: ${r.status}`)
    }
  }
  const deadline = Date.now() + 180_000
  const stored = new Map<string, { events: number; rows: number }>()
  while (Date.now() < deadline) {
    stored.clear()
    for (const l of full.logs) {
      const m = /\{"msg":"events stored".*\}/.exec(l)
      if (!m) continue
      const o = JSON.parse(m[0]) as { tenant: string; events: number; rows_written: number }
      const t = stored.get(o.tenant) ?? { events: 0, rows: 0 }
      t.events += o.events
      t.rows += o.rows_written
      stored.set(o.tenant, t)
    }
    if ((stored.get('bench-rows')?.events ?? 0) >= n && (stored.get('bench-rows-plain')?.events ?? 0) >= n)
      break
    await new Promise((r) => setTimeout(r, 500))
  }
  // The edge's own writes: one subject_keys row per new subject, plus its partial unique index.
  const db = new Database(d1File(full.state), { readonly: true })
  const subjects = (
    db.prepare("SELECT count(*) AS n FROM subject_keys WHERE tenant = 'bench-rows'").get() as { n: number }
  ).n
  db.close()
  const per = (t: string) => {
    const x = stored.get(t) ?? { events: 0, rows: 0 }
    return { ...x, perEvent: x.rows / Math.max(x.events, 1) }
  }
  const sealed = per('bench-rows')
  const plain = per('bench-rows-plain')
  const keyRows = subjects * 2
  console.log(
    `\nD1 rows written per stored event: ${sealed.perEvent.toFixed(2)} sealed, ${plain.perEvent.toFixed(2)} plain (target <= 4, <= 5 with the search indexes; ${sealed.events} and ${plain.events} of ${n} events each, 50 batches of 100 + 200 single POSTs per tenant)`,
  )
  console.log(
    `Subject keys written at the edge: ${subjects} (one per subject: ${keyRows} rows with the index, ${(keyRows / Math.max(sealed.events, 1)).toFixed(3)} per event here; 0 once a subject has its key)`,
  )
} finally {
  await full.stop()
}

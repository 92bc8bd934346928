// bench:cost — what running the service costs, computed from what this run was billed for and
// Cloudflare's list prices. The Worker counts every billed operation of its handlers
// (bench/worker/counting-env.ts: D1 rows read and written, R2 class A and B operations, queue
// messages in 64 KB units, invocations); workerd's own CPU time is read from /proc. Three phases:
// - trickle: single events posted at 100,000 a day (1.16/s), as a low-rate client posts them;
// - batched: events in batches of 100 (what the SDK sends), for the per-event cost at volume;
// - cron ticks after each phase and one on an idle store, so a tick's fixed cost and the
//   per-event work it does (checkpoints, compaction, mirror, monitor) are told apart.
// The model: $/month at 100K, 1M, 10M and 100M events/day for one tenant, Workers Paid
// ($5/month with its inclusions), a 30-day hot window in D1 and a year of archive in R2.
import { readdirSync, readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { type AuditEventInput, AuditLogClient } from '../sdk'
import { ADMIN_TOKEN, d1File, mintKey, sampleEvent, startWorker, table } from './lib/worker-server'
import type { BillingCounts } from './worker/counting-env'
import type { PipelineStats } from './worker/routes'

const TRICKLE_SECONDS = Number(process.env.BENCH_TRICKLE_SECONDS ?? 60)
const TRICKLE_PER_DAY = 100_000
const BATCHED_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000)
const BATCH = 100
const TENANT = 'bench-cost'
const TICKS_PER_DAY = 288 // wrangler.toml [triggers] crons = "*/5 * * * *"
const DAYS = 30
const HOT_DAYS = 30
const ARCHIVE_DAYS = 365

/** Cloudflare list prices (USD), Workers Paid. */
const PRICE = {
  base: 5,
  requests: { included: 10e6, perMillion: 0.3 },
  cpuMs: { included: 30e6, perMillion: 0.02 },
  d1Read: { included: 25e9, perMillion: 0.001 },
  d1Written: { included: 50e6, perMillion: 1.0 },
  d1StorageGb: { included: 5, perGbMonth: 0.75 },
  r2ClassA: { included: 1e6, perMillion: 4.5 },
  r2ClassB: { included: 10e6, perMillion: 0.36 },
  r2StorageGb: { included: 10, perGbMonth: 0.015 },
  queueOps: { included: 1e6, perMillion: 0.4 },
} as const

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
// One shard: one tenant, and one database file whose bytes per event are measured.
const server = await startWorker('cost', { vars: { BENCH_COUNT: '1' }, shards: 1 })

/** CPU seconds used so far by the workerd processes under wrangler (the Worker with its local D1 and R2). */
function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>()
  const cpu = new Map<number, number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      // workerd only: the Worker, its D1 and R2 simulators; not wrangler's own Node process.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parent.set(Number(d), Number(f[1]))
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'workerd')
        cpu.set(Number(d), Number(f[11]) + Number(f[12]))
    } catch {}
  }
  let ticks = 0
  for (const [pid, t] of cpu) {
    for (let p: number | undefined = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === root) {
        ticks += t
        break
      }
  }
  return ticks / 100 // USER_HZ
}

async function post(path: string): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: admin })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json()
}
const counts = async () =>
  (await (await fetch(`${server.url}/__bench/counts`, { headers: admin })).json()) as BillingCounts
const stats = async () =>
  (await (
    await fetch(`${server.url}/__bench/pipeline-stats?tenant=${TENANT}`, { headers: admin })
  ).json()) as PipelineStats

async function settled(n: number) {
  const deadline = Date.now() + 180_000
  // Past the flush age and its message's slack, the cron's safety net is what a deployment has
  // next (every 5 minutes): run one tick, counted with the phase.
  const tickAt = Date.now() + 75_000
  let ticked = false
  for (;;) {
    const s = await stats()
    if (s.n >= n && s.pending === 0 && (s.archived ?? 0) >= n) return s
    if (!ticked && Date.now() > tickAt) {
      ticked = true
      console.error(`flush not done ${Date.now() - tickAt + 75_000} ms after the phase: running a cron tick`)
      console.error(
        server.logs
          .filter((l) => /flush/i.test(l))
          .slice(-10)
          .join('\n'),
      )
      await post('/__bench/tick')
    }
    if (Date.now() > deadline) {
      const errors = server.logs
        .filter((l) => /"messages_(retried|dead_lettered)":[1-9]|error|failed|exception/i.test(l))
        .slice(-20)
      throw new Error(`not settled: ${JSON.stringify(s)} of ${n}\n${errors.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 500))
  }
}

type Phase = BillingCounts & { events: number; cpu_s: number; seconds: number }

/** Runs `work` from zeroed counts; returns what it was billed for. */
async function phase(events: number, work: () => Promise<unknown>): Promise<Phase> {
  await post('/__bench/counts/reset')
  const cpu0 = treeCpuSeconds(server.pid)
  const t0 = performance.now()
  await work()
  const c = await counts()
  return { ...c, events, cpu_s: treeCpuSeconds(server.pid) - cpu0, seconds: (performance.now() - t0) / 1000 }
}

let phases: Record<
  'trickle' | 'tickTrickle' | 'sdkTrickle' | 'tickSdk' | 'idle' | 'batched' | 'tickBatched' | 'tickIdle',
  Phase
>
let storage: {
  d1BytesPerEvent: number
  r2BytesPerEvent: number
  events: number
  /** Entries per event in each b-tree of the events row (table and indexes) and event_ids. */
  entries: Record<string, number>
  overflowPages: number
}
try {
  const key = await mintKey(server.url, TENANT)
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  let n = 0
  // Cron ticks before the run: the first checkpoint and monitor sweep are not per-event work.
  await post('/__bench/tick')

  const trickleEvents = Math.round((TRICKLE_SECONDS * TRICKLE_PER_DAY) / 86_400)
  const trickle = await phase(trickleEvents, async () => {
    const gap = 86_400_000 / TRICKLE_PER_DAY
    const t0 = Date.now()
    for (let i = 0; i < trickleEvents; i++) {
      const wait = t0 + i * gap - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const r = await fetch(`${server.url}/v1/events`, {
        method: 'POST',
        headers,
        body: JSON.stringify(sampleEvent(n++, { id: `cost-${n}` })),
      })
      if (r.status !== 202) throw new Error(`trickle ${i}: ${r.status} ${await r.text()}`)
    }
    await settled(n)
  })
  const tickTrickle = await phase(trickleEvents, () => post('/__bench/tick'))

  // The same trickle through the SDK with its default batching (batch.maxWaitMs: events that
  // arrive within a second of the first waiting one share a POST): the supported client.
  const sdkTrickle = await phase(trickleEvents, async () => {
    const client = new AuditLogClient({ url: server.url, key })
    const gap = 86_400_000 / TRICKLE_PER_DAY
    const t0 = Date.now()
    const sent: Promise<unknown>[] = []
    for (let i = 0; i < trickleEvents; i++) {
      const wait = t0 + i * gap - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      sent.push(client.send(sampleEvent(n++, { id: `cost-s-${i}` }) as unknown as AuditEventInput))
    }
    await client.close()
    await Promise.all(sent)
    await settled(n)
  })
  const tickSdk = await phase(trickleEvents, () => post('/__bench/tick'))

  // Nothing posted for as long as a trickle: what workerd's CPU clock counts on its own (the local
  // simulators, idle timers). Subtracted from every phase at this rate per second.
  const idle = await phase(0, () => new Promise((r) => setTimeout(r, TRICKLE_SECONDS * 1000)))

  const batched = await phase(BATCHED_EVENTS, async () => {
    const first = n
    let next = 0
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < BATCHED_EVENTS / BATCH) {
          const b = next++
          const events = Array.from({ length: BATCH }, (_, i) =>
            sampleEvent(first + b * BATCH + i, { id: `cost-b-${b * BATCH + i}` }),
          )
          const r = await fetch(`${server.url}/v1/events`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ events }),
          })
          if (r.status !== 202) throw new Error(`batch ${b}: ${r.status} ${await r.text()}`)
        }
      }),
    )
    n += BATCHED_EVENTS
    await settled(n)
  })
  const tickBatched = await phase(BATCHED_EVENTS, () => post('/__bench/tick'))
  const tickIdle = await phase(0, () => post('/__bench/tick'))
  phases = { trickle, tickTrickle, sdkTrickle, tickSdk, idle, batched, tickBatched, tickIdle }

  // Bytes at rest per event: the D1 file (rows and every index) and the archive objects.
  let r2Bytes = 0
  let cursor: string | null = null
  do {
    const q: string = `prefix=${encodeURIComponent(`events/tenant=${TENANT}/`)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const page = (await (
      await fetch(`${server.url}/v1/archive/objects?${q}`, { headers: admin })
    ).json()) as {
      objects: { size: number }[]
      next_cursor: string | null
    }
    for (const o of page.objects) r2Bytes += o.size
    cursor = page.next_cursor
  } while (cursor)
  storage = { d1BytesPerEvent: 0, r2BytesPerEvent: r2Bytes / n, events: n, entries: {}, overflowPages: 0 }
} finally {
  await server.stop()
}
{
  // D1: the pages in use once the write-ahead log is folded in (free pages left out), per event.
  const db = new Database(d1File(server.state))
  db.pragma('wal_checkpoint(TRUNCATE)')
  const used =
    Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }))
  storage.d1BytesPerEvent = (used * Number(db.pragma('page_size', { simple: true }))) / storage.events
  // What each event wrote: one entry in each b-tree it entered (every entry is a D1 row written).
  const trees = db
    .prepare(
      `SELECT name, sum(ncell) AS cells, sum(pagetype = 'overflow') AS overflow FROM dbstat
       WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN ('events', 'event_ids'))
         GROUP BY name`,
    )
    .all() as { name: string; cells: number; overflow: number }[]
  for (const t of trees) {
    storage.entries[t.name] = t.cells / storage.events
    if (t.name === 'events') storage.overflowPages = t.overflow
  }
  db.close()
}

// ---------------------------------------------------------------- the model

type PerEvent = {
  requests: number
  cpuMs: number
  d1Read: number
  d1Written: number
  r2A: number
  r2B: number
  queueOps: number
}

/**
 * CPU ms of a phase net of the idle baseline (workerd's CPU over an equal idle stretch, per
 * second): still an upper bound of billed CPU, since the local D1 and R2 simulators are in it.
 */
const idleCpuPerSecond = () => Math.max(0, phases.idle.cpu_s / phases.idle.seconds)
const netCpuMs = (p: Phase) => Math.max(0, p.cpu_s - idleCpuPerSecond() * p.seconds) * 1000

/** Per-event costs of an ingest phase plus the per-event work of the tick after it. */
function perEvent(p: Phase, tick: Phase, idle: Phase): PerEvent {
  const e = p.events
  const extra = (f: (x: Phase) => number) => Math.max(0, f(tick) - f(idle)) / e
  return {
    requests: (p.invocations.fetch + p.invocations.queue) / e,
    cpuMs: netCpuMs(p) / e + extra(netCpuMs),
    d1Read: p.d1.rows_read / e + extra((x) => x.d1.rows_read),
    d1Written: p.d1.rows_written / e + extra((x) => x.d1.rows_written),
    r2A: p.r2.class_a / e + extra((x) => x.r2.class_a),
    r2B: p.r2.class_b / e + extra((x) => x.r2.class_b),
    queueOps: p.queue.ops_64k / e + extra((x) => x.queue.ops_64k),
  }
}

const over = (used: number, price: { included: number; perMillion: number }) =>
  (Math.max(0, used - price.included) / 1e6) * price.perMillion
const overGb = (gb: number, price: { included: number; perGbMonth: number }) =>
  Math.max(0, gb - price.included) * price.perGbMonth

function monthly(perDay: number, pe: PerEvent, idle: Phase) {
  const events = perDay * DAYS
  const ticks = TICKS_PER_DAY * DAYS
  const lines = {
    'workers base': PRICE.base,
    'workers requests': over(events * pe.requests + ticks, PRICE.requests),
    'workers CPU': over(events * pe.cpuMs + ticks * netCpuMs(idle), PRICE.cpuMs),
    'D1 rows read': over(events * pe.d1Read + ticks * idle.d1.rows_read, PRICE.d1Read),
    'D1 rows written': over(events * pe.d1Written + ticks * idle.d1.rows_written, PRICE.d1Written),
    'D1 storage': overGb((perDay * HOT_DAYS * storage.d1BytesPerEvent) / 1e9, PRICE.d1StorageGb),
    'R2 class A': over(events * pe.r2A + ticks * idle.r2.class_a, PRICE.r2ClassA),
    'R2 class B': over(events * pe.r2B + ticks * idle.r2.class_b, PRICE.r2ClassB),
    'R2 storage': overGb((perDay * ARCHIVE_DAYS * storage.r2BytesPerEvent) / 1e9, PRICE.r2StorageGb),
    queues: over(events * pe.queueOps, PRICE.queueOps),
  }
  const total = Object.values(lines).reduce((a, b) => a + b, 0)
  return { lines, total }
}

const { trickle, tickTrickle, sdkTrickle, tickSdk, idle, batched, tickBatched, tickIdle } = phases
const low = perEvent(trickle, tickTrickle, tickIdle)
const sdk = perEvent(sdkTrickle, tickSdk, tickIdle)
const high = perEvent(batched, tickBatched, tickIdle)
const f = (x: number, d = 3) => x.toFixed(d)

console.log(
  `\nmeasured (${storage.events} events; trickle ${trickle.events} single POSTs over ${f(trickle.seconds, 0)} s, the same through the SDK (${sdkTrickle.invocations.fetch} POSTs), batched ${batched.events} in POSTs of ${BATCH}; CPU net of ${f(idle.cpu_s * 1000, 0)} ms over ${f(idle.seconds, 0)} s idle):`,
)
table(
  (
    [
      ['requests (fetch + queue invocations)', (p: PerEvent) => p.requests],
      ['CPU ms (workerd net of idle, upper bound)', (p: PerEvent) => p.cpuMs],
      ['D1 rows read', (p: PerEvent) => p.d1Read],
      ['D1 rows written', (p: PerEvent) => p.d1Written],
      ['R2 class A operations', (p: PerEvent) => p.r2A],
      ['R2 class B operations', (p: PerEvent) => p.r2B],
      ['queue operations (64 KB units x3)', (p: PerEvent) => p.queueOps],
    ] as const
  ).map(([figure, get]) => ({
    'per event': figure,
    'single POSTs at 100K/day': f(get(low)),
    'SDK default batching at 100K/day': f(get(sdk)),
    'batches of 100': f(get(high)),
  })),
)
table([
  {
    'per cron tick (idle store)': 'value',
    'D1 rows read': tickIdle.d1.rows_read,
    'D1 rows written': tickIdle.d1.rows_written,
    'R2 class A': tickIdle.r2.class_a,
    'R2 class B': tickIdle.r2.class_b,
    'CPU ms (net of idle)': f(netCpuMs(tickIdle), 0),
  },
])
console.log(
  `stored bytes per event: D1 ${f(storage.d1BytesPerEvent, 0)} (every table and index in use, over all events of the run), R2 ${f(storage.r2BytesPerEvent, 0)} (gzip NDJSON after compaction)`,
)
console.log(
  `D1 entries per event (each one a row written): ${Object.entries(storage.entries)
    .map(([k, v]) => `${k} ${f(v, 2)}`)
    .join(', ')}; overflow pages of events: ${storage.overflowPages}`,
)
const perDayAt10Gb = Math.floor(10e9 / (storage.d1BytesPerEvent * HOT_DAYS))
const writeRate = batched.events / batched.seconds
console.log(
  `events/day per D1 database: ${perDayAt10Gb.toLocaleString('en-US')} at 10 GB with a ${HOT_DAYS}-day hot window; ${Math.floor(writeRate * 86_400).toLocaleString('en-US')} at the write rate measured here (${f(writeRate, 0)} events/s end to end, batches of ${BATCH}, 2-core machine)`,
)
console.log(
  `R2 PUTs per 1,000 events at ~1 event/s: ${f((trickle.r2.by_op.put ?? 0) * (1000 / trickle.events), 0)} (target <= 1)`,
)

const scenarios = [
  ['100K/day, SDK default batching', 100_000, sdk],
  ['100K/day, single POSTs', 100_000, low],
  ['1M/day, batches of 100', 1_000_000, high],
  ['10M/day, batches of 100', 10_000_000, high],
  ['100M/day, batches of 100', 100_000_000, high],
] as const
const models = scenarios.map(([name, perDay, pe]) => ({ name, perDay, ...monthly(perDay, pe, tickIdle) }))
console.log('\n$/month (Workers Paid list prices; one tenant; 30-day hot window, a year of archive):')
table(
  models.map((m) => ({
    scenario: m.name,
    ...Object.fromEntries(Object.entries(m.lines).map(([k, v]) => [k, f(v, 2)])),
    total: f(m.total, 2),
    '$ per million events': f(m.total / ((m.perDay * DAYS) / 1e6), 3),
  })),
)
const at100k = models[0]!.total
const at100m = models[4]!
const perM = at100m.total / ((at100m.perDay * DAYS) / 1e6)
const rowsPerM = (at100m.lines['D1 rows written'] / (at100m.perDay * DAYS)) * 1e6
console.log(
  `\nat 100M/day: D1 rows written are $${f(rowsPerM, 2)} per million events (${f(high.d1Written, 2)} rows per event at $1.00 per million rows); D1 storage $${f(at100m.lines['D1 storage'] / ((at100m.perDay * DAYS) / 1e6), 2)}; everything but rows written $${f(perM - rowsPerM, 2)}, which leaves ${f(Math.max(0, 1.5 - (perM - rowsPerM)), 2)} rows written per event within $1.5`,
)
console.log(
  `\nthe last line's 100K/day is the SDK's default batching (the supported client); single POSTs: $${f(models[1]!.total, 2)}/month`,
)
console.log(
  `\ntargets: <= $6/month at 100K/day (seed 001's AWS pipeline: ~$17/month); <= $1.5 per million events at 100M/day`,
)
console.log(
  `cost: $${f(at100k, 2)}/month at 100K events/day; $${f(at100m.total / ((at100m.perDay * DAYS) / 1e6), 2)} per million events at 100M/day`,
)

// bench:sdk — events/s through AuditLogClient (one send() per event, batches of 100 built by the
// client) against raw fetch POSTs of the same 100-event batches, same concurrency, on loopback.
// The client runs two ways: all sends in one synchronous burst, and a paced producer that hands
// the event loop back every 100 sends. Rounds interleave the three paths (the order rotating), so
// a slow spell of this shared machine hits all; the ratio reported is each round's, and their
// median (target >= 0.9x).
import { AuditLogClient } from '../sdk'
import { median } from './lib/stats'
import { mintKey, sampleEvent, startWorker, table } from './lib/worker-server'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000)
const CONCURRENCY = Number(process.env.BENCH_CONNECTIONS ?? 4)
const BATCH = 100
/** Every phase must finish within this, or the bench stops (bounded on a stalled machine). */
const PHASE_TIMEOUT_MS = Number(process.env.BENCH_PHASE_TIMEOUT_MS ?? 120_000)

/** Events as a client builds them: no id (the client, or for raw POSTs the edge, assigns one). */
function makeEvents(round: number, side: string) {
  return Array.from({ length: EVENTS }, (_, i) =>
    sampleEvent(i, { id: undefined, source: `${side}-${round}` }),
  )
}

async function bounded<T>(name: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${name} took over ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function raw(url: string, key: string, events: Record<string, unknown>[]): Promise<number> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let at = next; at < events.length; at = next) {
        next += BATCH
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ events: events.slice(at, at + BATCH) }),
        })
        if (res.status !== 202) throw new Error(`raw POST: ${res.status} ${await res.text()}`)
        await res.arrayBuffer()
      }
    }),
  )
  return events.length / ((performance.now() - t0) / 1000)
}

/**
 * `paced`: the producer hands the event loop back after every 100 sends, as services emitting
 * events from their own requests do; otherwise all sends come in one synchronous burst, whose
 * serialization then runs before the first request can leave.
 */
async function viaSdk(
  url: string,
  key: string,
  events: Record<string, unknown>[],
  paced = false,
): Promise<number> {
  let posts = 0
  const client = new AuditLogClient({
    url,
    key,
    fetch: (input, init) => {
      posts++
      return fetch(input, init)
    },
    batch: { maxEvents: BATCH, maxWaitMs: 1000, concurrency: CONCURRENCY },
    buffer: { maxEvents: EVENTS },
  })
  const t0 = performance.now()
  for (let i = 0; i < events.length; i++) {
    void client.send(events[i] as never)
    if (paced && i % BATCH === BATCH - 1) await new Promise((r) => setImmediate(r))
  }
  await client.close()
  const rate = events.length / ((performance.now() - t0) / 1000)
  const accepted = client.accepted
  if (accepted !== events.length) throw new Error(`sdk: ${accepted} of ${events.length} accepted`)
  if (posts !== Math.ceil(events.length / BATCH))
    throw new Error(`sdk: ${posts} POSTs for ${events.length} events`)
  return rate
}

// The edge path alone, as bench:ingest measures it: a consumer in the same workerd would take
// CPU from the route under test on this 2-core machine.
const server = await startWorker('sdk', { consumers: false })
try {
  const key = await mintKey(server.url, 'bench-sdk')
  // Warm-up: isolates, the key cache and both code paths.
  await raw(server.url, key, makeEvents(-1, 'raw').slice(0, 2000))
  await viaSdk(server.url, key, makeEvents(-1, 'sdk').slice(0, 2000))

  const rounds: { raw: number; sdk: number; paced: number }[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const phases = {
      raw: () => raw(server.url, key, makeEvents(r, 'raw')),
      sdk: () => viaSdk(server.url, key, makeEvents(r, 'sdk')),
      paced: () => viaSdk(server.url, key, makeEvents(r, 'paced'), true),
    }
    // The order rotates each round, so no path always runs first (or last).
    const names = (['raw', 'sdk', 'paced'] as const).map((_, i, all) => all[(i + r) % all.length]!)
    const rates = { raw: 0, sdk: 0, paced: 0 }
    for (const name of names) rates[name] = await bounded(name, phases[name]())
    rounds.push(rates)
  }
  const ratios = rounds.map((r) => r.sdk / r.raw)
  const pacedRatios = rounds.map((r) => r.paced / r.raw)
  const list = (xs: number[], digits: number) => xs.map((x) => x.toFixed(digits)).join(', ')
  console.log(
    `${ROUNDS} rounds of ${EVENTS} events each way, batches of ${BATCH}, ${CONCURRENCY} requests in flight, edge path only\n`,
  )
  table([
    {
      path: 'raw fetch, 100-event POSTs',
      'events/s (median)': median(rounds.map((r) => r.raw)).toFixed(0),
      rounds: list(
        rounds.map((r) => r.raw),
        0,
      ),
      ratio: '1.00x (baseline)',
    },
    {
      path: 'AuditLogClient, one burst of send()',
      'events/s (median)': median(rounds.map((r) => r.sdk)).toFixed(0),
      rounds: list(
        rounds.map((r) => r.sdk),
        0,
      ),
      ratio: `${median(ratios).toFixed(2)}x, rounds ${list(ratios, 2)} (target >= 0.9x)`,
    },
    {
      path: 'AuditLogClient, paced producer',
      'events/s (median)': median(rounds.map((r) => r.paced)).toFixed(0),
      rounds: list(
        rounds.map((r) => r.paced),
        0,
      ),
      ratio: `${median(pacedRatios).toFixed(2)}x, rounds ${list(pacedRatios, 2)} (target >= 0.9x)`,
    },
  ])
} finally {
  await server.stop()
}

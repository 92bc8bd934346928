// bench:formats — what decoding a foreign format costs on the ingest path, next to validating
// the same number of native event v1 objects (the work every request does anyway).
import { FORMATS, type FormatName } from '../core/ingest/formats'
import { validateEvents } from '../core/ingest/validate-events'
import cloudevents from '../test/vectors/formats/cloudevents.json'
import eventbridge from '../test/vectors/formats/eventbridge.json'
import record from '../test/vectors/formats/record.json'
import resource from '../test/vectors/formats/resource.json'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000)
const now = Date.parse('2026-03-02T00:00:00Z')

type Vector = { headers: Record<string, string>; tenant: string; input: unknown; want?: unknown[] }
const first = (v: { cases: unknown[] }) => (v.cases as Vector[]).find((c) => c.want)!
const cases: [FormatName, Vector][] = [
  ['eventbridge', first(eventbridge)],
  ['cloudevents', first(cloudevents)],
  ['record', first(record)],
  ['resource', first(resource)],
]

function time(fn: () => void): number {
  for (let i = 0; i < Math.min(200, REQUESTS); i++) fn()
  const t0 = performance.now()
  for (let i = 0; i < REQUESTS; i++) fn()
  return (performance.now() - t0) / REQUESTS
}

const rows = cases.map(([name, c]) => {
  const ctx = { headers: new Headers(c.headers), tenant: c.tenant }
  const events = c.want!.length
  // Baseline: the native path for the same events (validation only).
  const native = time(() => validateEvents(structuredClone(c.want!), { now, batch: events > 1 }))
  const total = time(() => {
    const d = FORMATS[name].decode(structuredClone(c.input), ctx)
    validateEvents(d.events, { now, batch: d.batch })
  })
  return { name, events, native, total }
})

console.log(`${REQUESTS} requests per format (first golden vector of each), Node ${process.version}`)
console.log('format        events/req  native us/req  format us/req  ratio  format events/s')
for (const r of rows) {
  console.log(
    `${r.name.padEnd(13)} ${String(r.events).padStart(10)} ${(r.native * 1000).toFixed(1).padStart(14)} ${(
      r.total * 1000
    )
      .toFixed(1)
      .padStart(14)} ${(r.total / r.native).toFixed(2).padStart(6)} ${Math.round(r.events / (r.total / 1000))
      .toString()
      .padStart(16)}`,
  )
}

// events send|search|tail|get|export: a tenant's events, with an API key.

import { once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import {
  type AuditEventInput,
  AuditLogClient,
  type AuditLogClientOptions,
  AuditLogError,
  AuditLogHttpError,
  AuditLogSendError,
  type SearchOptions,
} from '../../sdk'
import { apiKey, type Command, Failure, intFlag, type Parsed, parse, str, UsageError } from '../lib/args'
import { checkCsvExport, checkNdjsonExport, type ExportCheck } from '../lib/export-check'
import { api, failureOf, type Query } from '../lib/http'
import { jsonLine, line, printObject, progress } from '../lib/output'

/** Every filter of GET /v1/events (core/search/filters.ts), as flags: --actor-id for actor_id. */
const FILTERS = {
  'actor-id': { type: 'string' },
  'actor-type': { type: 'string' },
  action: { type: 'string' },
  'target-type': { type: 'string' },
  'target-id': { type: 'string' },
  'include-children': { type: 'boolean' },
  source: { type: 'string' },
  outcome: { type: 'string' },
  'correlation-id': { type: 'string' },
  ip: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'include-audit-reads': { type: 'boolean' },
} as const

const FILTER_HELP = [
  'filters (as GET /v1/events):',
  '  --actor-id ID --actor-type user|service|api_key|system|ai --action A (trailing * = prefix)',
  '  --target-type T --target-id ID [--include-children] --source S --outcome success|failure',
  '  --correlation-id C --ip IP --since RFC3339 --until RFC3339 --include-audit-reads',
].join('\n')

function filtersOf(values: Parsed['values']): Query {
  const q: Query = {}
  for (const [flag, spec] of Object.entries(FILTERS)) {
    const v = values[flag]
    if (v === undefined) continue
    q[flag.replace(/-/g, '_')] = spec.type === 'boolean' ? (v ? 'true' : undefined) : String(v)
  }
  return q
}

type Event = {
  id: string
  occurred_at: string
  action: string
  actor: { type: string; id: string }
  target: { type: string; id: string }
  outcome?: { status?: string }
}
type Page = { data: Event[]; next_cursor: string | null }

function eventLine(e: Event): string {
  return [
    e.occurred_at,
    e.action,
    `${e.actor.type}:${e.actor.id}`,
    `${e.target.type}:${e.target.id}`,
    e.outcome?.status ?? 'success',
    e.id,
  ].join('\t')
}

const print = (e: Event, json: boolean) => (json ? jsonLine(e) : line(eventLine(e)))

export const eventsSend: Command = {
  name: 'events send',
  usage: [
    'events send [file.ndjson | -]',
    '  Sends events, one JSON object per line, from the file or stdin (POST /v1/events, in batches).',
    '  Prints the accepted ids.',
  ].join('\n'),
  options: { 'batch-size': { type: 'string' } },
  positionals: [0, 1],
}

export const eventsSearch: Command = {
  name: 'events search',
  usage: [
    'events search [filters] [--limit N] [--page-size N]',
    '  Every matching event, newest first, all pages (GET /v1/events); --limit stops after N.',
    FILTER_HELP,
  ].join('\n'),
  options: { ...FILTERS, limit: { type: 'string' }, 'page-size': { type: 'string' } },
}

export const eventsTail: Command = {
  name: 'events tail',
  usage: [
    'events tail [filters] [--last N] [--interval SECONDS] [--once]',
    '  Prints the last N events (default 10), then new ones as they arrive, polling GET /v1/events.',
    '  --once: print what is there now and stop. Events are shown in arrival order; an event',
    '  backdated behind more than a page of newer ones is not shown.',
    FILTER_HELP,
  ].join('\n'),
  options: {
    ...FILTERS,
    last: { type: 'string' },
    interval: { type: 'string' },
    once: { type: 'boolean' },
  },
}

export const eventsGet: Command = {
  name: 'events get',
  usage:
    'events get <id>\n  The stored event (GET /v1/events/:id); an expired event prints its tombstone and exits 1.',
  positionals: [1, 1],
}

export const eventsExport: Command = {
  name: 'events export',
  usage: [
    'events export [--format ndjson|csv] [--out FILE] [filters]',
    '  Streams GET /v1/export to FILE (default stdout), counts the rows and checks the completeness',
    '  marker: exit 1 when the file was cut short.',
    FILTER_HELP,
  ].join('\n'),
  options: { ...FILTERS, format: { type: 'string' }, out: { type: 'string', short: 'o' } },
}

async function readInput(file: string | undefined): Promise<string> {
  if (file && file !== '-') {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
    }
  }
  if (process.stdin.isTTY) throw new UsageError('events send reads NDJSON from a file or stdin')
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** The SDK's client for this invocation: batching, client-side ids and retries on 429/503. */
function sdkClient(p: Parsed, opts: Partial<AuditLogClientOptions> = {}): AuditLogClient {
  return new AuditLogClient({ url: p.globals.url, key: apiKey(p.globals), ...opts })
}

/** What the CLI prints for an SDK failure: the status, the detail and the events it names. */
function failureOfSdk(err: unknown, what: string, lineOf: Map<string, number>): Failure {
  if (!(err instanceof AuditLogError)) return new Failure(`${what}: ${String(err)}`)
  const errors = err instanceof AuditLogSendError ? err.failures.map((f) => f.error) : [err]
  const details = errors.flatMap((e) => [
    e.message,
    ...(e instanceof AuditLogHttpError
      ? e.eventErrors.map((x) => `  line ${lineOf.get(x.id) ?? '?'} (${x.id}) ${x.path}: ${x.message}`)
      : []),
  ])
  return new Failure(`${what}: ${details.join('\n')}`)
}

async function send(p: Parsed): Promise<number> {
  const batchSize = intFlag(p.values, 'batch-size', 1, 1000) ?? 500
  const text = await readInput(p.positionals[0])
  const events: Record<string, unknown>[] = []
  const lines: number[] = []
  text.split('\n').forEach((l, i) => {
    const t = l.trim()
    if (!t) return
    let v: unknown
    try {
      v = JSON.parse(t)
    } catch (err) {
      throw new UsageError(`line ${i + 1} is not a JSON object: ${(err as Error).message}`)
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new UsageError(`line ${i + 1} is not a JSON object`)
    events.push(v as Record<string, unknown>)
    lines.push(i + 1)
  })
  if (events.length === 0) throw new UsageError('no events to send')
  // The whole file is in memory already: the buffer holds all of it, the SDK cuts the batches
  // (by --batch-size and the service's byte limit) and retries what the service did not take.
  const client = sdkClient(p, {
    batch: { maxEvents: batchSize, maxWaitMs: 0 },
    buffer: { maxEvents: events.length, overflow: 'reject' },
  })
  const bar = progress()
  const timer = setInterval(() => bar.update(`sending: ${client.accepted} of ${events.length} accepted`), 100)
  let ids: string[]
  try {
    const sent = client.send(events as AuditEventInput[])
    // Rejections are reported by close(), which waits for every batch.
    sent.catch(() => {})
    await client.close()
    ids = (await sent).ids
  } catch (err) {
    const lineOf = new Map<string, number>()
    events.forEach((e, i) => {
      if (typeof e.id === 'string') lineOf.set(e.id, lines[i] ?? 0)
    })
    const failure = failureOfSdk(err, 'POST /v1/events', lineOf)
    throw new Failure(`${failure.message}\n${client.accepted} of ${events.length} events were accepted`)
  } finally {
    clearInterval(timer)
    bar.done()
  }
  if (p.globals.json) for (const id of ids) jsonLine({ id })
  else line(`accepted ${ids.length} events`)
  return 0
}

async function* pages(p: Parsed, filters: Query, pageSize: number): AsyncGenerator<Event[]> {
  const client = sdkClient(p)
  try {
    for await (const page of client.pages({ ...(filters as SearchOptions), limit: pageSize }))
      yield page.data as Event[]
  } catch (err) {
    throw failureOfSdk(err, 'GET /v1/events', new Map())
  }
}

async function search(p: Parsed): Promise<number> {
  const limit = intFlag(p.values, 'limit', 1, Number.MAX_SAFE_INTEGER)
  const pageSize = intFlag(p.values, 'page-size', 1, 1000) ?? Math.min(limit ?? 1000, 1000)
  let n = 0
  for await (const page of pages(p, filtersOf(p.values), pageSize)) {
    for (const e of page) {
      if (limit !== undefined && n >= limit) return 0
      print(e, p.globals.json)
      n++
    }
    if (limit !== undefined && n >= limit) return 0
  }
  return 0
}

async function tail(p: Parsed): Promise<number> {
  const last = intFlag(p.values, 'last', 0, 1000) ?? 10
  const interval = intFlag(p.values, 'interval', 1, 3600) ?? 2
  const filters = filtersOf(p.values)
  const client = api(p.globals.url, apiKey(p.globals))
  const seen = new Set<string>()
  const first = await client.json<Page>('GET', '/v1/events', {
    query: { ...filters, limit: Math.max(last, 1) },
  })
  for (const e of first.data) seen.add(e.id)
  for (const e of first.data.slice(0, last).reverse()) print(e, p.globals.json)
  if (p.values.once) return 0
  let stop = false
  process.once('SIGINT', () => {
    stop = true
  })
  while (!stop) {
    await new Promise((r) => setTimeout(r, interval * 1000))
    if (stop) break
    const fresh: Event[] = []
    let cursor: string | undefined
    // Newest first: read pages until an event already shown (at most 10 pages per poll).
    for (let i = 0; i < 10; i++) {
      const page = await client.json<Page>('GET', '/v1/events', { query: { ...filters, limit: 100, cursor } })
      const unseen = page.data.filter((e) => !seen.has(e.id))
      fresh.push(...unseen)
      if (unseen.length < page.data.length || !page.next_cursor) break
      cursor = page.next_cursor
    }
    for (const e of fresh.reverse()) {
      seen.add(e.id)
      print(e, p.globals.json)
    }
  }
  return 0
}

async function get(p: Parsed): Promise<number> {
  const id = p.positionals[0] ?? ''
  const res = await api(p.globals.url, apiKey(p.globals)).raw('GET', `/v1/events/${encodeURIComponent(id)}`)
  if (res.status === 410) {
    printObject(await res.json(), p.globals.json)
    process.stderr.write(`event ${id} has expired: this is its tombstone\n`)
    return 1
  }
  if (!res.ok) throw await failureOf(res, `event ${id}`)
  printObject(await res.json(), p.globals.json)
  return 0
}

async function exportEvents(p: Parsed): Promise<number> {
  const format = str(p.values.format) ?? 'ndjson'
  if (format !== 'ndjson' && format !== 'csv') throw new UsageError('--format is ndjson or csv')
  const out = str(p.values.out)
  const res = await api(p.globals.url, apiKey(p.globals)).raw('GET', '/v1/export', {
    query: { ...filtersOf(p.values), format },
  })
  if (!res.ok || !res.body) throw await failureOf(res, 'GET /v1/export')
  const sink = out ? createWriteStream(out) : process.stdout
  const check = format === 'csv' ? checkCsvExport() : checkNdjsonExport()
  const bar = progress()
  let bytes = 0
  let result: ExportCheck
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      check.push(chunk)
      bytes += chunk.length
      bar.update(`exporting: ${check.rows()} rows, ${(bytes / 1e6).toFixed(1)} MB`)
      if (!sink.write(chunk)) await once(sink, 'drain')
    }
  } catch (err) {
    throw new Failure(`the export stopped after ${bytes} bytes: ${(err as Error).message}`)
  } finally {
    bar.done()
    result = check.end()
    if (out) await new Promise((r) => (sink as ReturnType<typeof createWriteStream>).end(r))
  }
  const summary = { rows: result.rows, complete: result.complete, format, out: out ?? null, bytes }
  // The file may be stdout: the summary then goes to stderr.
  const say = out ? line : (s: string) => process.stderr.write(`${s}\n`)
  if (p.globals.json) say(JSON.stringify(summary))
  else if (result.complete) say(`exported ${result.rows} events${out ? ` to ${out}` : ''} (complete)`)
  if (!result.complete) {
    process.stderr.write(`INCOMPLETE export${out ? ` in ${out}` : ''}: ${result.problem}\n`)
    return 1
  }
  return 0
}

export async function runEvents(sub: string | undefined, argv: string[]): Promise<number> {
  const table: Record<string, [Command, (p: Parsed) => Promise<number>]> = {
    send: [eventsSend, send],
    search: [eventsSearch, search],
    tail: [eventsTail, tail],
    get: [eventsGet, get],
    export: [eventsExport, exportEvents],
  }
  const entry = sub ? table[sub] : undefined
  if (!entry)
    throw new UsageError(
      sub ? `unknown command: events ${sub}` : 'events needs a command: send, search, tail, get or export',
    )
  const p = parse(entry[0], argv)
  return p ? entry[1](p) : 0
}

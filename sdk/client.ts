// AuditLogClient: sends events in batches with idempotent retries, and reads the log back
// (search pages, single events, receipts, exports). Runs wherever fetch, Web Crypto,
// TextEncoder and timers exist: Node 20+, Workers, browsers (verifyReceipt: see below).
//
// Sending, in short:
// - Every event gets its id on the client (a UUIDv7, unless it carries one), before it is
//   buffered. A retry therefore re-posts the same ids, and the service keeps the first copy of
//   an id and answers identical copies 202 without storing them again: retries never duplicate.
// - Events wait in a bounded buffer and leave it as `{"events":[...]}` POSTs of at most
//   batch.maxEvents events and batch.maxBytes bytes, as soon as a batch is full or when the
//   oldest has waited batch.maxWaitMs; at most batch.concurrency POSTs are in flight.
// - Network errors, 429 and 5xx are retried with exponential backoff and jitter, honouring
//   Retry-After. A 503 that lists `accepted` and `not_accepted` resends only the latter. Any
//   other 4xx fails the events it names (a 400 naming some events of a batch fails only those:
//   the service queued nothing, so the others are posted again).

import { uuidv7 } from '../core/ids'
import { AuditLogError, AuditLogHttpError, AuditLogSendError, type EventError } from './errors'
import { ExportDownload } from './export'
import {
  discardBody,
  isRetryableStatus,
  type RetryPolicy,
  readProblem,
  retryAfterMs,
  retryDelayMs,
  sleep,
} from './http'
import { SERVER_LIMITS } from './limits'
import type {
  AuditEvent,
  AuditEventInput,
  AuditEventRead,
  AuditLogClientOptions,
  EventPage,
  ExportOptions,
  FetchLike,
  FlushResult,
  ProofDocument,
  ReceiptResult,
  SearchOptions,
  SendResult,
  SigningKeys,
} from './types'

const encoder = new TextEncoder()
const HEAD = '{"events":['
const TAIL = ']}'
/** Bytes of a batch body besides its events and the commas between them. */
const ENVELOPE = HEAD.length + TAIL.length
/** A UTF-16 code unit outside ASCII: text without one is as many UTF-8 bytes as it is long. */
const NON_ASCII = /[\u0080-\uffff]/

const utf8Length = (s: string) => (NON_ASCII.test(s) ? encoder.encode(s).length : s.length)

const DEFAULTS = {
  batch: { maxEvents: 500, maxBytes: 1024 * 1024, maxWaitMs: 1000, concurrency: 4 },
  retry: { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 30_000 },
  buffer: { maxEvents: 10_000, overflow: 'reject' as const },
}

const noop = () => {}

/** The promise of one send() call, settled when each of its events is accepted or has failed. */
class Ticket {
  readonly promise: Promise<SendResult>
  failed: string[] = []
  error: AuditLogError | undefined
  private left: number
  private resolve!: (r: SendResult) => void
  private reject!: (e: AuditLogError) => void

  constructor(readonly ids: string[]) {
    this.left = ids.length
    this.promise = new Promise<SendResult>((res, rej) => {
      this.resolve = res
      this.reject = rej
    })
    // A send nobody awaits must not become an unhandled rejection: failures also reach
    // flush(), close() and onError.
    this.promise.catch(noop)
    if (this.left === 0) this.resolve({ ids })
  }

  /** Settles with the ticket, never rejects: what flush() waits on. */
  done(): Promise<void> {
    return this.promise.then(noop, noop)
  }

  accepted() {
    if (--this.left === 0) this.finish()
  }

  fail(id: string, error: AuditLogError) {
    this.failed.push(id)
    this.error ??= error
    if (--this.left === 0) this.finish()
  }

  private finish() {
    if (this.error) this.reject(this.error)
    else this.resolve({ ids: this.ids })
  }
}

/** One buffered event: its id, its JSON text and that text's size in UTF-8 bytes. */
type Item = { id: string; json: string; size: number; ticket: Ticket }

/** A FIFO of items with O(1) removal at the head. */
class Queue {
  private items: Item[] = []
  private head = 0
  get length() {
    return this.items.length - this.head
  }
  peek(): Item | undefined {
    return this.items[this.head]
  }
  shift(): Item | undefined {
    const it = this.items[this.head]
    if (it === undefined) return undefined
    this.items[this.head++] = undefined as unknown as Item
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return it
  }
  push(it: Item) {
    this.items.push(it)
  }
  *[Symbol.iterator](): Generator<Item> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!
  }
}

function positiveInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}; got ${v}`)
  return v
}

function queryString(params: Record<string, unknown>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue
    q.set(k, v instanceof Date ? v.toISOString() : String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** Indexes of a batch's events that a 400 names (`events[3].action`), or undefined if it names none. */
function namedEvents(
  err: AuditLogHttpError,
  items: Item[],
): { bad: Set<number>; errors: EventError[] } | undefined {
  const list = err.problem?.errors
  if (!Array.isArray(list) || list.length === 0) return undefined
  const bad = new Set<number>()
  const errors: EventError[] = []
  for (const e of list) {
    const m = /^events\[(\d+)\](?:\.(.*))?$/.exec(typeof e?.path === 'string' ? e.path : '')
    const i = m ? Number(m[1]) : -1
    const item = items[i]
    if (!m || !item) return undefined
    bad.add(i)
    errors.push({ id: item.id, path: m[2] ?? '(root)', message: String(e.message) })
  }
  return { bad, errors }
}

/** Checks a receipt offline against the published keys (verifier/check-proof.ts). */
export async function verifyReceipt(proof: unknown, keys: SigningKeys): Promise<ReceiptResult> {
  // Loaded on first use, so sending and searching never load the verifier (and its schema and
  // hashing code). It hashes with node:crypto: Node 20+, or Workers with nodejs_compat.
  const { checkProof } = await import('../verifier/check-proof')
  return checkProof(proof, keys)
}

export class AuditLogClient {
  private readonly base: string
  private readonly fetchFn: FetchLike
  private readonly auth: string
  private readonly writeHeaders: Record<string, string>
  private readonly maxEvents: number
  private readonly maxBytes: number
  private readonly maxWaitMs: number
  private readonly concurrency: number
  private readonly retry: RetryPolicy
  private readonly bufferMax: number
  private readonly overflow: 'reject' | 'drop-oldest'
  private readonly onError: (e: AuditLogError) => void

  private readonly buffer = new Queue()
  /** Bytes of the buffered events, a comma each included. */
  private bufferedBytes = 0
  private readonly inFlight = new Set<Item[]>()
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Set by the timer and by flush(): send what is buffered even if no batch is full. */
  private draining = false
  private closed = false
  private acceptedCount = 0

  constructor(opts: AuditLogClientOptions) {
    if (!opts.url) throw new TypeError('url is required')
    if (!opts.key) throw new TypeError('key is required')
    this.base = opts.url.replace(/\/+$/, '')
    const f = opts.fetch
    // Called as a plain function: some runtimes refuse a fetch called as another object's method.
    this.fetchFn = f ?? ((input, init) => fetch(input, init))
    this.auth = `Bearer ${opts.key}`
    this.writeHeaders = { authorization: this.auth, 'content-type': 'application/json' }
    const b = { ...DEFAULTS.batch, ...opts.batch }
    this.maxEvents = positiveInt('batch.maxEvents', b.maxEvents, 1, SERVER_LIMITS.maxEventsPerRequest)
    this.maxBytes = positiveInt('batch.maxBytes', b.maxBytes, 1024, SERVER_LIMITS.maxBodyBytes)
    this.maxWaitMs = positiveInt('batch.maxWaitMs', b.maxWaitMs, 0)
    this.concurrency = positiveInt('batch.concurrency', b.concurrency, 1, 64)
    const r = { ...DEFAULTS.retry, ...opts.retry }
    this.retry = {
      maxAttempts: positiveInt('retry.maxAttempts', r.maxAttempts, 1),
      baseDelayMs: positiveInt('retry.baseDelayMs', r.baseDelayMs, 0),
      maxDelayMs: positiveInt('retry.maxDelayMs', r.maxDelayMs, 0),
    }
    const buf = { ...DEFAULTS.buffer, ...opts.buffer }
    this.bufferMax = positiveInt('buffer.maxEvents', buf.maxEvents, 1)
    if (buf.overflow !== 'reject' && buf.overflow !== 'drop-oldest')
      throw new RangeError(`buffer.overflow must be "reject" or "drop-oldest"; got ${String(buf.overflow)}`)
    this.overflow = buf.overflow
    this.onError = opts.onError ?? noop
  }

  /** Events the service has accepted from this client so far. */
  get accepted(): number {
    return this.acceptedCount
  }

  /** Events waiting in the buffer plus those in a request now. */
  get pending(): number {
    let n = this.buffer.length
    for (const b of this.inFlight) n += b.length
    return n
  }

  // ---------------------------------------------------------------- sending

  /**
   * Buffers one event or several; resolves with their ids once the service has accepted every
   * one (202), rejects with the first AuditLogError that stopped one of them. Events without
   * an `id` get a UUIDv7; the caller's objects are not changed. The promise may be left
   * unawaited: failures also reach flush(), close() and onError.
   */
  send(events: AuditEventInput | readonly AuditEventInput[]): Promise<SendResult> {
    const list: readonly unknown[] = Array.isArray(events) ? events : [events]
    if (this.closed) return this.refuse(new AuditLogError('closed', 'the client is closed; nothing was sent'))
    const items: Item[] = []
    const ids: string[] = []
    for (let i = 0; i < list.length; i++) {
      const e = list[i]
      if (typeof e !== 'object' || e === null || Array.isArray(e))
        return this.refuse(
          new AuditLogError('invalid_event', `event ${i} is not an object; nothing was sent`),
        )
      const given = (e as { id?: unknown }).id
      const id = given === undefined ? uuidv7() : String(given)
      let json: string
      try {
        json = JSON.stringify(given === undefined ? { ...e, id } : e)
      } catch (cause) {
        return this.refuse(
          new AuditLogError('invalid_event', `event ${i} cannot be serialized: ${String(cause)}`, {
            ids: [id],
            cause,
          }),
        )
      }
      const size = utf8Length(json)
      if (size + ENVELOPE > this.maxBytes)
        return this.refuse(
          new AuditLogError(
            'invalid_event',
            `event ${i} is ${size} bytes serialized, more than a batch of batch.maxBytes = ${this.maxBytes} holds; nothing was sent`,
            { ids: [id] },
          ),
        )
      ids.push(id)
      items.push({ id, json, size, ticket: undefined as unknown as Ticket })
    }
    if (items.length > this.bufferMax)
      return this.refuse(
        new AuditLogError(
          'buffer_full',
          `${items.length} events are more than the buffer holds (buffer.maxEvents = ${this.bufferMax})`,
          { ids },
        ),
      )
    const room = this.bufferMax - this.buffer.length
    if (items.length > room) {
      if (this.overflow === 'reject')
        return this.refuse(
          new AuditLogError(
            'buffer_full',
            `the buffer is full (${this.buffer.length} of ${this.bufferMax} events waiting); nothing was buffered`,
            { ids },
          ),
        )
      this.dropOldest(items.length - room)
    }
    const ticket = new Ticket(ids)
    for (const it of items) {
      it.ticket = ticket
      this.buffer.push(it)
      this.bufferedBytes += it.size + 1
    }
    this.pump()
    return ticket.promise
  }

  /**
   * Sends everything buffered now, without waiting for full batches; resolves when every event
   * that was buffered or in flight at the call has been accepted, or rejects with an
   * AuditLogSendError listing those that failed.
   */
  async flush(): Promise<FlushResult> {
    const tickets = new Set<Ticket>()
    for (const it of this.buffer) tickets.add(it.ticket)
    for (const batch of this.inFlight) for (const it of batch) tickets.add(it.ticket)
    if (this.buffer.length > 0) {
      this.draining = true
      this.pump()
    }
    await Promise.all(Array.from(tickets, (t) => t.done()))
    const byError = new Map<AuditLogError, string[]>()
    let accepted = 0
    for (const t of tickets) {
      accepted += t.ids.length - t.failed.length
      if (t.error) byError.set(t.error, [...(byError.get(t.error) ?? []), ...t.failed])
    }
    if (byError.size > 0) throw new AuditLogSendError(Array.from(byError, ([error, ids]) => ({ error, ids })))
    return { accepted }
  }

  /** Refuses further sends, stops the batch timer and flushes (resolving or rejecting as flush() does). */
  async close(): Promise<FlushResult> {
    this.closed = true
    this.clearTimer()
    return this.flush()
  }

  private refuse(error: AuditLogError): Promise<SendResult> {
    const p = Promise.reject(error)
    p.catch(noop)
    return p
  }

  private dropOldest(n: number) {
    const dropped: Item[] = []
    for (let i = 0; i < n; i++) {
      const it = this.buffer.shift()
      if (!it) break
      this.bufferedBytes -= it.size + 1
      dropped.push(it)
    }
    const error = new AuditLogError(
      'dropped',
      `${dropped.length} buffered event(s) were dropped to make room (buffer.overflow = drop-oldest)`,
      { ids: dropped.map((d) => d.id) },
    )
    for (const it of dropped) it.ticket.fail(it.id, error)
    this.onError(error)
  }

  private batchReady(): boolean {
    return (
      this.draining ||
      this.buffer.length >= this.maxEvents ||
      this.bufferedBytes - 1 + ENVELOPE >= this.maxBytes
    )
  }

  /** Starts batches while a request slot is free and a batch is due. */
  private pump() {
    while (this.inFlight.size < this.concurrency && this.buffer.length > 0 && this.batchReady()) {
      const batch = this.takeBatch()
      this.inFlight.add(batch)
      void this.deliver(batch).finally(() => {
        this.inFlight.delete(batch)
        this.pump()
      })
    }
    if (this.buffer.length === 0) {
      this.draining = false
      this.clearTimer()
    } else if (this.timer === undefined && !this.draining && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.draining = true
        this.pump()
      }, this.maxWaitMs)
    }
  }

  private clearTimer() {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The next batch from the buffer's head: within both limits, and no id twice (the service refuses that). */
  private takeBatch(): Item[] {
    const batch: Item[] = []
    const ids = new Set<string>()
    let bytes = ENVELOPE
    for (let it = this.buffer.peek(); it && batch.length < this.maxEvents; it = this.buffer.peek()) {
      const add = it.size + (batch.length > 0 ? 1 : 0)
      if (batch.length > 0 && (bytes + add > this.maxBytes || ids.has(it.id))) break
      this.buffer.shift()
      this.bufferedBytes -= it.size + 1
      ids.add(it.id)
      batch.push(it)
      bytes += add
    }
    return batch
  }

  /** The POST body: each event's JSON text as serialized at send(), never serialized again. */
  private body(items: Item[]): string {
    let out = HEAD
    for (let i = 0; i < items.length; i++) out += i === 0 ? items[i]!.json : `,${items[i]!.json}`
    return out + TAIL
  }

  private settle(items: Item[], error?: AuditLogError) {
    if (!error) {
      this.acceptedCount += items.length
      for (const it of items) it.ticket.accepted()
      return
    }
    error.ids = items.map((it) => it.id)
    for (const it of items) it.ticket.fail(it.id, error)
    this.onError(error)
  }

  /** Posts one batch until it is accepted, refused or out of tries. Never rejects. */
  private async deliver(batch: Item[]): Promise<void> {
    let items = batch
    try {
      for (let attempt = 1; ; attempt++) {
        let wait: number | undefined
        let lastError: AuditLogError
        let res: Response | undefined
        try {
          res = await this.fetchFn(`${this.base}/v1/events`, {
            method: 'POST',
            headers: this.writeHeaders,
            body: this.body(items),
          })
        } catch (cause) {
          lastError = new AuditLogError('network', `POST /v1/events failed: ${String(cause)}`, { cause })
        }
        if (res) {
          if (res.ok) {
            await discardBody(res)
            this.settle(items)
            return
          }
          const problem = await readProblem(res)
          wait = retryAfterMs(res.headers, problem)
          const err = new AuditLogHttpError(res.status, problem, wait)
          lastError = err
          if (problem && (Array.isArray(problem.accepted) || Array.isArray(problem.not_accepted))) {
            // The queue failed part-way: what it took is accepted; only the rest is sent again.
            const taken = new Set<string>()
            for (const a of Array.isArray(problem.accepted) ? problem.accepted : [])
              if (typeof (a as { id?: unknown })?.id === 'string') taken.add((a as { id: string }).id)
            if (taken.size > 0) {
              this.settle(items.filter((it) => taken.has(it.id)))
              items = items.filter((it) => !taken.has(it.id))
              if (items.length === 0) return
            }
          }
          if (!isRetryableStatus(res.status, problem)) {
            const named = res.status === 400 ? namedEvents(err, items) : undefined
            if (!named || named.bad.size === items.length) {
              if (named) err.eventErrors = named.errors
              this.settle(items, err)
              return
            }
            // Nothing of the batch was queued: fail the events named, post the others again.
            err.eventErrors = named.errors
            this.settle(
              items.filter((_, i) => named.bad.has(i)),
              err,
            )
            items = items.filter((_, i) => !named.bad.has(i))
            attempt--
            continue
          }
        }
        if (attempt >= this.retry.maxAttempts) {
          this.settle(items, lastError!)
          return
        }
        await sleep(retryDelayMs(attempt, this.retry, wait))
      }
    } catch (cause) {
      this.settle(items, new AuditLogError('network', `sending failed: ${String(cause)}`, { cause }))
    }
  }

  // ---------------------------------------------------------------- reading

  /** GET with the retry policy: network errors, 429 and 5xx are retried; other errors throw. */
  private async request(path: string, accept = 'application/json'): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined
      let lastError: AuditLogError
      let wait: number | undefined
      try {
        res = await this.fetchFn(`${this.base}${path}`, {
          method: 'GET',
          headers: { authorization: this.auth, accept },
        })
      } catch (cause) {
        lastError = new AuditLogError('network', `GET ${path.split('?')[0]} failed: ${String(cause)}`, {
          cause,
        })
      }
      if (res) {
        if (res.ok) return res
        const problem = await readProblem(res)
        wait = retryAfterMs(res.headers, problem)
        lastError = new AuditLogHttpError(res.status, problem, wait)
        if (!isRetryableStatus(res.status, problem)) throw lastError
      }
      if (attempt >= this.retry.maxAttempts) throw lastError!
      await sleep(retryDelayMs(attempt, this.retry, wait))
    }
  }

  private async getJson<T>(path: string): Promise<T> {
    return (await (await this.request(path)).json()) as T
  }

  /** One page of GET /v1/events. */
  page(options: SearchOptions = {}): Promise<EventPage> {
    return this.getJson<EventPage>(`/v1/events${queryString(options)}`)
  }

  /** Every page of a search, following next_cursor to the end. */
  async *pages(options: SearchOptions = {}): AsyncGenerator<EventPage> {
    let cursor = options.cursor
    for (;;) {
      const page = await this.page({ ...options, cursor })
      yield page
      if (!page.next_cursor) return
      cursor = page.next_cursor
    }
  }

  /** Every event matching the filters, newest first, across cursor pages (`limit` is the page size). */
  async *search(options: SearchOptions = {}): AsyncGenerator<AuditEvent> {
    for await (const page of this.pages(options)) yield* page.data
  }

  /** GET /v1/events/:id; a missing event throws AuditLogHttpError 404 (410 with its tombstone if expired). */
  get(id: string): Promise<AuditEventRead> {
    return this.getJson<AuditEventRead>(`/v1/events/${encodeURIComponent(id)}`)
  }

  /** The receipt of an event: GET /v1/events/:id/proof. */
  proof(id: string): Promise<ProofDocument> {
    return this.getJson<ProofDocument>(`/v1/events/${encodeURIComponent(id)}/proof`)
  }

  /** The published signing keys, GET /.well-known/audit-log-keys. */
  keys(): Promise<SigningKeys> {
    return this.getJson<SigningKeys>('/.well-known/audit-log-keys')
  }

  /**
   * Checks a receipt (proof()) against signing keys. Pass keys obtained independently of this
   * service (pinned, or from its archive) for a check that does not trust it; without them the
   * published keys are fetched from the same service.
   */
  async verifyReceipt(proof: unknown, keys?: SigningKeys): Promise<ReceiptResult> {
    return verifyReceipt(proof, keys ?? (await this.keys()))
  }

  /** Starts GET /v1/export; read the file with lines()/events() (checked for completeness) or body. */
  async export(options: ExportOptions = {}): Promise<ExportDownload> {
    const format = options.format ?? 'ndjson'
    const res = await this.request(
      `/v1/export${queryString({ ...options, format })}`,
      format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    )
    return new ExportDownload(res, format)
  }
}

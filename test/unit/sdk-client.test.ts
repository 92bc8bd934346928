// The client library's batching, buffer and retry rules against a scripted fetch (no Worker):
// what is sent when, what is retried, and how failures reach send(), flush() and onError.
import { describe, expect, it } from 'vitest'
import { uuidv7 } from '../../core/ids'
import { LIMITS } from '../../core/limits'
import type { searchFilterShape } from '../../core/search/filters'
import {
  type AuditEventInput,
  AuditLogClient,
  type AuditLogClientOptions,
  AuditLogError,
  AuditLogHttpError,
  AuditLogSendError,
  type FetchLike,
  SERVER_LIMITS,
  type SearchFilters,
} from '../../sdk'
import { splitRecords } from '../../sdk/export'
import { backoffMs, retryAfterMs, retryDelayMs } from '../../sdk/http'

type Posted = { at: number; ids: string[]; bytes: number }

/** A scripted service: `answer` gets each POST's ids and its number (1-based). */
function service(answer: (ids: string[], n: number) => Response | Promise<Response> = () => accepted()) {
  const posts: Posted[] = []
  let inFlight = 0
  let maxInFlight = 0
  const fetch: FetchLike = async (_input, init) => {
    const body = String(init.body)
    const ids = (JSON.parse(body) as { events: { id: string }[] }).events.map((e) => e.id)
    posts.push({ at: Date.now(), ids, bytes: new TextEncoder().encode(body).byteLength })
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    try {
      return await answer(ids, posts.length)
    } finally {
      inFlight--
    }
  }
  return { fetch, posts, maxInFlight: () => maxInFlight }
}

const accepted = (ids: string[] = []) =>
  new Response(JSON.stringify({ accepted: ids.map((id) => ({ id })) }), { status: 202 })

const problem = (status: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({
      type: 'urn:audit-log:problem:x',
      title: 'T',
      status,
      detail: 'D',
      request_id: 'r',
      ...extra,
    }),
    { status, headers: { 'content-type': 'application/problem+json', ...headers } },
  )

const ev = (id?: string, extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  ...(id === undefined ? {} : { id }),
  occurred_at: '2026-01-15T10:00:00Z',
  action: 'user.login',
  actor: { type: 'user', id: 'u1' },
  target: { type: 'app', id: 'a1' },
  ...extra,
})

const client = (fetch: FetchLike, opts: Partial<AuditLogClientOptions> = {}) =>
  new AuditLogClient({
    url: 'http://svc.test/',
    key: 'alk_test',
    fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...opts,
    batch: { maxWaitMs: 5, ...opts.batch },
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('limits and types', () => {
  it('plans batches with the service limits of core/limits.ts', () => {
    expect(SERVER_LIMITS).toEqual({
      maxBodyBytes: LIMITS.maxBodyBytes,
      maxEventsPerRequest: LIMITS.maxEventsPerRequest,
      maxEventBytes: LIMITS.maxEventBytes,
      pageMax: LIMITS.pageMax,
    })
  })

  it('search filters name every filter of core/search/filters.ts', () => {
    type Missing = Exclude<keyof typeof searchFilterShape, keyof SearchFilters>
    type Extra = Exclude<keyof SearchFilters, keyof typeof searchFilterShape>
    const none: [Missing, Extra] extends [never, never] ? true : false = true
    expect(none).toBe(true)
  })

  it('mints RFC 9562 UUIDv7 ids: version, variant, the time in front, no repeats', () => {
    const at = Date.UTC(2026, 0, 15, 10, 0, 0, 123)
    const ids = Array.from({ length: 3000 }, () => uuidv7(at))
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(at)
    expect(uuidv7(at) < uuidv7(at + 1)).toBe(true)
    expect(uuidv7(2 ** 48 - 1).slice(0, 13)).toBe('ffffffff-ffff')
  })

  it('refuses options outside the service limits', () => {
    const f = service().fetch
    expect(() => client(f, { batch: { maxEvents: 1001 } })).toThrow(RangeError)
    expect(() => client(f, { batch: { maxBytes: LIMITS.maxBodyBytes + 1 } })).toThrow(RangeError)
    expect(() => client(f, { buffer: { overflow: 'drop-newest' as never } })).toThrow(RangeError)
    expect(() => client(f, { buffer: { maxEvents: 0 } })).toThrow(RangeError)
  })
})

describe('batching', () => {
  it('sends a full batch at once and the rest when the oldest has waited maxWaitMs', async () => {
    const s = service()
    const c = client(s.fetch, { batch: { maxEvents: 10, maxWaitMs: 60 } })
    const t0 = Date.now()
    const sends = Array.from({ length: 13 }, (_, i) => c.send(ev(`e${i}`)))
    await sleep(5)
    expect(s.posts.map((p) => p.ids.length)).toEqual([10])
    await Promise.all(sends)
    expect(s.posts.map((p) => p.ids.length)).toEqual([10, 3])
    expect(s.posts[1]!.at - t0).toBeGreaterThanOrEqual(55)
    await c.close()
  })

  it('keeps every body within maxBytes, envelope included', async () => {
    const s = service()
    const c = client(s.fetch, { batch: { maxBytes: 4096, maxWaitMs: 1 } })
    await c.send(Array.from({ length: 40 }, (_, i) => ev(`b${i}`, { description: 'x'.repeat(300) })))
    await c.close()
    expect(s.posts.length).toBeGreaterThan(3)
    for (const p of s.posts) expect(p.bytes).toBeLessThanOrEqual(4096)
    expect(s.posts.flatMap((p) => p.ids)).toEqual(Array.from({ length: 40 }, (_, i) => `b${i}`))
  })

  it('never puts one id twice in a POST (the service refuses that): a repeat goes in the next', async () => {
    const s = service()
    const c = client(s.fetch, { batch: { maxWaitMs: 1 } })
    await Promise.all([c.send(ev('same')), c.send(ev('other')), c.send(ev('same'))])
    expect(s.posts.map((p) => p.ids)).toEqual([['same', 'other'], ['same']])
  })

  it('assigns UUIDv7 ids without changing the caller’s objects, and keeps given ones', async () => {
    const s = service()
    const c = client(s.fetch, { batch: { maxWaitMs: 1 } })
    const mine = ev()
    const { ids } = await c.send([mine, ev('given-1')])
    expect(mine).not.toHaveProperty('id')
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids[1]).toBe('given-1')
    expect(s.posts[0]!.ids).toEqual(ids)
  })

  it('keeps at most batch.concurrency POSTs in flight', async () => {
    const s = service(async (ids) => {
      await sleep(15)
      return accepted(ids)
    })
    const c = client(s.fetch, { batch: { maxEvents: 5, maxWaitMs: 1, concurrency: 2 } })
    await c.send(Array.from({ length: 40 }, (_, i) => ev(`c${i}`)))
    expect(s.posts).toHaveLength(8)
    expect(s.maxInFlight()).toBe(2)
  })

  it('refuses events it cannot send at all, and sends after close()', async () => {
    const c = client(service().fetch, { batch: { maxBytes: 2048 } })
    await expect(c.send(ev('huge', { description: 'x'.repeat(3000) }))).rejects.toMatchObject({
      kind: 'invalid_event',
    })
    await expect(c.send('nope' as never)).rejects.toMatchObject({ kind: 'invalid_event' })
    const cyclic: Record<string, unknown> = { ...ev('cyc') }
    cyclic.metadata = cyclic
    await expect(c.send(cyclic as never)).rejects.toMatchObject({ kind: 'invalid_event' })
    await c.close()
    await expect(c.send(ev('late'))).rejects.toMatchObject({ kind: 'closed' })
  })
})

describe('the bounded buffer', () => {
  it('overflow "reject" refuses the send that does not fit, and keeps what is buffered', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const s = service(async (ids) => {
      await gate
      return accepted(ids)
    })
    const c = client(s.fetch, {
      batch: { maxEvents: 2, maxWaitMs: 1000, concurrency: 1 },
      buffer: { maxEvents: 3 },
    })
    const first = c.send([ev('a'), ev('b')]) // in flight at once: a full batch
    const waiting = c.send([ev('c'), ev('d'), ev('e')]) // fills the buffer
    const refused = await c.send(ev('f')).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(AuditLogError)
    expect((refused as AuditLogError).kind).toBe('buffer_full')
    expect((refused as AuditLogError).ids).toEqual(['f'])
    expect(c.pending).toBe(5)
    release()
    await Promise.all([first, waiting, c.flush()])
    expect(s.posts.flatMap((p) => p.ids)).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('overflow "drop-oldest" drops the oldest waiting events and says so', async () => {
    const errors: AuditLogError[] = []
    const s = service()
    const c = client(s.fetch, {
      batch: { maxWaitMs: 1000 },
      buffer: { maxEvents: 3, overflow: 'drop-oldest' },
      onError: (e) => errors.push(e),
    })
    const a = c.send(ev('a'))
    const bc = c.send([ev('b'), ev('c')])
    const de = c.send([ev('d'), ev('e')])
    await expect(a).rejects.toMatchObject({ kind: 'dropped', ids: ['a', 'b'] })
    expect(errors.map((e) => e.kind)).toEqual(['dropped'])
    // What is left goes out with the next flush, which reports b: its send is one it waited on.
    await expect(c.flush()).rejects.toMatchObject({ name: 'AuditLogSendError', ids: ['b'] })
    await de
    await expect(bc).rejects.toMatchObject({ kind: 'dropped' })
    expect(s.posts.flatMap((p) => p.ids)).toEqual(['c', 'd', 'e'])
  })
})

describe('retries', () => {
  it('retries network errors, 5xx and 429, then succeeds with the same ids', async () => {
    const s = service((ids, n) => {
      if (n === 1) throw new TypeError('fetch failed')
      if (n === 2) return problem(502)
      if (n === 3) return problem(429, {}, { 'retry-after': '0' })
      return accepted(ids)
    })
    const c = client(s.fetch, { batch: { maxWaitMs: 1 } })
    await c.send([ev('r1'), ev('r2')])
    expect(s.posts.map((p) => p.ids)).toEqual(Array.from({ length: 4 }, () => ['r1', 'r2']))
  })

  it('gives up after maxAttempts with the last answer', async () => {
    const s = service(() => problem(500))
    const errors: AuditLogError[] = []
    const c = client(s.fetch, { retry: { maxAttempts: 3, baseDelayMs: 1 }, onError: (e) => errors.push(e) })
    const err = await c.send(ev('x')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuditLogHttpError)
    expect((err as AuditLogHttpError).status).toBe(500)
    expect(s.posts).toHaveLength(3)
    expect(errors).toHaveLength(1)
    const c2 = client(service(() => problem(503)).fetch, { retry: { maxAttempts: 2, baseDelayMs: 1 } })
    c2.send(ev('y'))
    const flushed = await c2.flush().catch((e: unknown) => e)
    expect(flushed).toBeInstanceOf(AuditLogSendError)
    expect((flushed as AuditLogSendError).failures).toMatchObject([{ ids: ['y'], error: { status: 503 } }])
  })

  it('does not retry other 4xx, nor an integrity violation', async () => {
    for (const [status, type] of [
      [401, 'urn:audit-log:problem:unauthorized'],
      [403, 'urn:audit-log:problem:forbidden'],
      [413, 'urn:audit-log:problem:payload_too_large'],
      [500, 'urn:audit-log:problem:integrity_violation'],
    ] as const) {
      const s = service(() => problem(status, { type }))
      const c = client(s.fetch)
      await expect(c.send(ev('z'))).rejects.toMatchObject({ status, problem: { type } })
      expect(s.posts).toHaveLength(1)
    }
  })

  it('after a 503 with accepted and not_accepted, resends only not_accepted', async () => {
    const s = service((ids, n) =>
      n === 1
        ? problem(
            503,
            {
              accepted: ids.slice(0, 2).map((id) => ({ id })),
              not_accepted: ids.slice(2).map((id) => ({ id })),
              retry_after: 0,
            },
            { 'retry-after': '0' },
          )
        : accepted(ids),
    )
    const c = client(s.fetch)
    await c.send([ev('p1'), ev('p2'), ev('p3'), ev('p4')])
    await c.flush()
    expect(s.posts.map((p) => p.ids)).toEqual([
      ['p1', 'p2', 'p3', 'p4'],
      ['p3', 'p4'],
    ])
  })

  it('a 400 naming some events fails those and posts the others again', async () => {
    const s = service((ids) => {
      const bad = ids.flatMap((id, i) =>
        id.startsWith('bad') ? [{ path: `events[${i}].action`, message: 'no' }] : [],
      )
      return bad.length > 0 ? problem(400, { errors: bad }) : accepted(ids)
    })
    const c = client(s.fetch, { batch: { maxWaitMs: 1 } })
    const good = c.send([ev('g1'), ev('g2')])
    const bad = c.send(ev('bad1'))
    const err = (await bad.catch((e: unknown) => e)) as AuditLogHttpError
    expect(err.eventErrors).toEqual([{ id: 'bad1', path: 'action', message: 'no' }])
    await expect(good).resolves.toEqual({ ids: ['g1', 'g2'] })
    expect(s.posts.map((p) => p.ids)).toEqual([
      ['g1', 'g2', 'bad1'],
      ['g1', 'g2'],
    ])
  })

  it('reads Retry-After as seconds, as a date, or from the problem body', () => {
    const now = Date.parse('2026-01-15T10:00:00Z')
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }))).toBe(7000)
    expect(
      retryAfterMs(new Headers({ 'retry-after': 'Thu, 15 Jan 2026 10:00:03 GMT' }), undefined, now),
    ).toBe(3000)
    expect(
      retryAfterMs(new Headers(), { type: 't', title: 't', status: 503, detail: 'd', retry_after: 5 }),
    ).toBe(5000)
    expect(retryAfterMs(new Headers())).toBeUndefined()
  })

  it('backs off exponentially with jitter, capped, and honours Retry-After as given', () => {
    const policy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1000 }
    expect(backoffMs(1, policy, () => 0)).toBe(50)
    expect(backoffMs(1, policy, () => 1)).toBe(100)
    expect(backoffMs(3, policy, () => 1)).toBe(400)
    expect(backoffMs(10, policy, () => 1)).toBe(1000)
    expect(retryDelayMs(1, policy, 5000, () => 0)).toBe(5000)
    expect(retryDelayMs(1, policy, 5000, () => 1)).toBe(5100)
  })
})

describe('reading exports', () => {
  const chunks = (text: string, size: number) => {
    const bytes = new TextEncoder().encode(text)
    const out: Uint8Array[] = []
    for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size))
    return out
  }
  const collect = async (it: AsyncIterable<string>) => {
    const out: string[] = []
    for await (const x of it) out.push(x)
    return out
  }

  it('splits NDJSON lines and CSV records across chunk boundaries, quotes kept whole', async () => {
    const nd = '{"a":"é"}\n{"b":2}\n{"_export":{"rows":2,"complete":true}}\n'
    for (const size of [1, 2, 3, 7, 100])
      expect(await collect(splitRecords(chunks(nd, size), 'ndjson'))).toEqual([
        '{"a":"é"}',
        '{"b":2}',
        '{"_export":{"rows":2,"complete":true}}',
      ])
    const csv = 'id,description\r\nx1,"two\r\nlines, ""quoted"""\r\nx2,plain\r\n#complete,2\r\n'
    for (const size of [1, 2, 5, 100])
      expect(await collect(splitRecords(chunks(csv, size), 'csv'))).toEqual([
        'id,description',
        'x1,"two\r\nlines, ""quoted"""',
        'x2,plain',
        '#complete,2',
      ])
  })
})

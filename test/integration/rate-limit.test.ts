// Abuse limits through the real Worker and the local Rate Limiting bindings (wrangler.toml, the
// production limits): per client IP for traffic without valid credentials, per API key, and per
// IP for rejected credentials with the admin-token lockout. Every test uses addresses and keys of
// its own, so their counts never meet. A limit of hundreds is first charged through the binding
// itself (the Worker's own keys for it), all but HEADROOM; real requests then cross it. Every loop
// is bounded; should a window end mid-test, the test starts over once in the new window.
import { env, SELF } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ipBucket, principalKey } from '../../worker/middleware/rate-limit'
import { BASE, expectProblem, mintKey, TEST_ADMIN_TOKEN, uniqueTenant } from './helpers'

const PER_IP = 300
const PER_KEY = 1000
const AUTH_FAILURES = 10
const HEADROOM = 20

let ipCounter = 0
/** A documentation-range address no other test uses. */
function freshIp(): string {
  ipCounter++
  return `198.18.${Math.floor(Math.random() * 200) + 1}.${ipCounter}`
}

function get(path: string, ip: string, token?: string) {
  return SELF.fetch(`${BASE}${path}`, {
    headers: { 'cf-connecting-ip': ip, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  })
}

/** Sends requests until one is a 429 (at most `max`): the statuses of those before it, and the 429. */
async function untilLimited(max: number, send: () => Promise<Response>) {
  const before: number[] = []
  for (let i = 0; i < max; i++) {
    const res = await send()
    if (res.status === 429) return { before, limited: res }
    before.push(res.status)
    await res.body?.cancel()
  }
  throw new Error(`no 429 within ${max} requests`)
}

const minute = () => Math.floor(Date.now() / 60_000)

/**
 * Charges `limit - HEADROOM` to `key` of `binding`, then sends requests until one is a 429: the
 * statuses of those before it (HEADROOM of them, unless a window ended meanwhile) and the 429.
 */
async function crossLimit(binding: RateLimit, key: string, limit: number, send: () => Promise<Response>) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const window = minute()
    for (let i = 0; i < limit - HEADROOM; i++) await binding.limit({ key })
    try {
      return await untilLimited(2 * HEADROOM, send)
    } catch (err) {
      if (minute() === window) throw err
    }
  }
  throw new Error('no 429 in two windows')
}

async function expectRateLimited(res: Response, detail?: RegExp) {
  const retryAfter = Number(res.headers.get('retry-after'))
  expect(Number.isInteger(retryAfter)).toBe(true)
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(60)
  const body = await expectProblem(res, 429, detail)
  expect(body.type).toBe('urn:audit-log:problem:rate_limited')
}

const randomKey = () =>
  `alk_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')}`

afterEach(() => vi.restoreAllMocks())

describe('per client IP, without valid credentials', () => {
  it('answers 429 with Retry-After after a burst of anonymous requests, for that address only', async () => {
    const ip = freshIp()
    const { before, limited } = await crossLimit(env.RATE_LIMIT_IP, ipBucket(ip), PER_IP, () =>
      get('/v1/nothing-here', ip),
    )
    expect(before.length).toBeGreaterThanOrEqual(1)
    expect(before.length).toBeLessThanOrEqual(HEADROOM)
    expect(before.every((s) => s === 404)).toBe(true)
    await expectRateLimited(limited, /address/)
    // The same address stays limited on any path; another address is not.
    await expectRateLimited(await get('/openapi.json', ip))
    expect((await get('/v1/nothing-here', freshIp())).status).toBe(404)
    // The cheap health check is never limited (it does no I/O at all).
    expect((await get('/healthz', ip)).status).toBe(200)
  })

  it('counts requests whose credentials no route checks as anonymous', async () => {
    const ip = freshIp()
    const { before, limited } = await crossLimit(env.RATE_LIMIT_IP, ipBucket(ip), PER_IP, () =>
      get('/v1/nothing-here', ip, randomKey()),
    )
    expect(before.every((s) => s === 404)).toBe(true)
    await expectRateLimited(limited)
    expect(limited.headers.get('cache-control')).toBe('no-store')
  })
})

describe('per API key', () => {
  it('answers 429 with Retry-After once a key is over its rate; other keys go on', async () => {
    const tenant = uniqueTenant('rl')
    // A write-only key reading is answered 403 right after the credential check: the cheapest
    // authenticated request there is, and it is charged to the key like any other.
    const writer = await mintKey(tenant, ['events:write'])
    const ip = freshIp()
    const { before, limited } = await crossLimit(
      env.RATE_LIMIT_KEY,
      principalKey({ kind: 'key', keyId: writer.id, tenant, scopes: ['events:write'] }),
      PER_KEY,
      () => get('/v1/events', ip, writer.key),
    )
    expect(before.length).toBeGreaterThanOrEqual(1)
    expect(before.length).toBeLessThanOrEqual(HEADROOM)
    expect(before.every((s) => s === 403)).toBe(true)
    await expectRateLimited(limited, /API key/)
    const reader = await mintKey(tenant, ['events:read'])
    expect((await get('/v1/events', ip, reader.key)).status).toBe(200)
  })
})

describe('rejected credentials', () => {
  it('are logged with the client IP and no secret, and throttled per IP', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const ip = freshIp()
    const wrong = 'not-the-admin-token-0123456789'
    const { before, limited } = await untilLimited(2 * AUTH_FAILURES + 1, () => get('/v1/keys', ip, wrong))
    expect(before.length).toBeGreaterThanOrEqual(1)
    expect(before.length).toBeLessThanOrEqual(2 * AUTH_FAILURES)
    expect(before.every((s) => s === 401)).toBe(true)
    await expectRateLimited(limited, /rejected credentials/)
    const lines = warn.mock.calls
      .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
      .filter((l) => l.kind === 'auth_failure' && l.client_ip === ip)
    expect(lines.length).toBe(before.length + 1)
    expect(lines[0]).toMatchObject({
      credential: 'admin_token',
      key_prefix: null,
      path: '/v1/keys',
      throttled: false,
    })
    expect(lines.at(-1)).toMatchObject({ throttled: true })
    expect(JSON.stringify(warn.mock.calls)).not.toContain(wrong)
  })

  it('lock the IP out of the admin token, even the right one, while API keys keep working', async () => {
    const tenant = uniqueTenant('lock')
    const key = await mintKey(tenant, ['events:read'])
    const ip = freshIp()
    const { limited } = await untilLimited(2 * AUTH_FAILURES + 1, () =>
      get('/v1/keys', ip, 'guess-0123456789abcdef'),
    )
    await expectRateLimited(limited)
    // The right admin token from that address: refused without being compared.
    await expectRateLimited(await get('/v1/keys', ip, TEST_ADMIN_TOKEN), /admin token is refused/)
    await expectRateLimited(await get('/healthz?deep=1', ip, TEST_ADMIN_TOKEN))
    // From elsewhere the admin token works; from the locked-out address an API key does.
    expect((await get('/v1/keys', freshIp(), TEST_ADMIN_TOKEN)).status).toBe(200)
    expect((await get('/v1/events', ip, key.key)).status).toBe(200)
  })

  it('unknown API keys are throttled too, logged by their public prefix only', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const tenant = uniqueTenant('badkey')
    const key = await mintKey(tenant, ['events:read'])
    const ip = freshIp()
    const tried: string[] = []
    const { before, limited } = await untilLimited(2 * AUTH_FAILURES + 1, () => {
      const k = randomKey()
      tried.push(k)
      return get('/v1/events', ip, k)
    })
    expect(before.every((s) => s === 401)).toBe(true)
    await expectRateLimited(limited)
    const lines = warn.mock.calls
      .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
      .filter((l) => l.kind === 'auth_failure' && l.client_ip === ip)
    expect(lines[0]).toMatchObject({ credential: 'api_key', key_prefix: tried[0]!.slice(0, 12) })
    const logged = JSON.stringify(warn.mock.calls)
    for (const k of tried) expect(logged).not.toContain(k)
    // A valid key from the same address is not locked out.
    expect((await get('/v1/events', ip, key.key)).status).toBe(200)
  })

  it('count an IPv6 client by its /64', async () => {
    const n = ipCounter++
    const net = `2001:db8:${n.toString(16)}:${(Math.floor(Math.random() * 0xffff) + 1).toString(16)}`
    const hosts = [`${net}::1`, `${net}:ffff:0:0:2`, `${net.toUpperCase()}:0:0:0:3`]
    const statuses: number[] = []
    for (let i = 0; i <= 2 * AUTH_FAILURES && !statuses.includes(429); i++) {
      const res = await get('/v1/keys', hosts[i % hosts.length]!, `wrong-${i}-0123456789abcdef`)
      statuses.push(res.status)
      await res.body?.cancel()
    }
    expect(statuses).toContain(429)
    // Another /64 of the same /48 is counted on its own.
    const other = `2001:db8:${n.toString(16)}:0::1`
    expect((await get('/v1/keys', other, 'wrong-other-0123456789abcdef')).status).toBe(401)
  })
})

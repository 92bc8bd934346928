// Console sessions through the real Worker: sign-in with an API key or the admin token, the
// cookie's attributes, the cookie as the credential it was made from on every /v1 route, the
// Authorization header taking precedence, the Origin check on unsafe methods, sign-out,
// revocation, expiry and the abuse limits. Cookies are sent by hand, as a browser would.
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { database } from '../../core/db/client'
import { insertSession, sessionsOfKey } from '../../core/db/sessions'
import { randomToken } from '../../core/ids'
import { secretHash } from '../../core/keys/api-keys'
import {
  BASE,
  expectProblem,
  mintKey,
  mintKeyViaApi,
  post,
  TEST_ADMIN_TOKEN,
  tick,
  uniqueTenant,
  waitForEvents,
} from './helpers'

type Session = {
  principal: string
  tenant: string | null
  scopes: string[]
  key_id: string | null
  expires_at: string | null
}

let ipCounter = 0
/** An address of its own per test, so the per-IP limits of one test never meet another's. */
const freshIp = () => `198.19.${Math.floor(Math.random() * 200) + 1}.${++ipCounter}`

async function signIn(
  body: unknown,
  init: { url?: string; ip?: string; headers?: Record<string, string> } = {},
) {
  return SELF.fetch(init.url ?? `${BASE}/v1/sessions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'cf-connecting-ip': init.ip ?? freshIp(),
      ...init.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? ''
  const m = /^audit_session=([^;]*)/.exec(set)
  expect(m, set).not.toBeNull()
  return m![1]!
}

async function session(credential: string) {
  const res = await signIn({ credential })
  expect(res.status).toBe(201)
  return { cookie: cookieOf(res), body: (await res.json()) as { session: Session }, res }
}

const withCookie = (cookie: string, headers: Record<string, string> = {}) => ({
  cookie: `audit_session=${cookie}`,
  ...headers,
})

describe('POST /v1/sessions', () => {
  it('exchanges an API key for an HttpOnly, SameSite=Strict cookie of at most 12 hours', async () => {
    const tenant = uniqueTenant('sess')
    const k = await mintKey(tenant, ['events:read'])
    const before = Date.now()
    const { res, cookie, body } = await session(k.key)
    const set = res.headers.get('set-cookie')!
    expect(set).toMatch(
      /^audit_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=(\d+)$/,
    )
    const maxAge = Number(/Max-Age=(\d+)/.exec(set)![1])
    expect(maxAge).toBeGreaterThan(12 * 3600 - 5)
    expect(maxAge).toBeLessThanOrEqual(12 * 3600)
    expect(set).not.toContain('Secure')
    expect(body.session).toEqual({
      principal: 'key',
      tenant,
      scopes: ['events:read'],
      key_id: k.id,
      expires_at: expect.any(String),
    })
    const expires = Date.parse(body.session.expires_at!)
    expect(expires - before).toBeLessThanOrEqual(12 * 3600_000 + 1000)
    expect(expires - before).toBeGreaterThan(12 * 3600_000 - 5000)
    // Stored by its SHA-256 only: no row holds the token itself.
    const rows = await env.DB.prepare('SELECT * FROM console_sessions WHERE key_id = ?').bind(k.id).all()
    expect(rows.results).toHaveLength(1)
    expect(rows.results[0]!.token_hash).toBe(await secretHash(cookie))
    expect(JSON.stringify(rows.results)).not.toContain(cookie)
    expect(JSON.stringify(rows.results)).not.toContain(k.key)
  })

  it('sets Secure when served over https, and lives no longer than its key', async () => {
    const tenant = uniqueTenant('sess')
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
    const k = await mintKeyViaApi({ tenant, scopes: ['events:read'], expires_at: expiresAt })
    const res = await signIn({ credential: k.key }, { url: 'https://audit.test/v1/sessions' })
    expect(res.status).toBe(201)
    const set = res.headers.get('set-cookie')!
    expect(set).toMatch(/; Secure$/)
    const maxAge = Number(/Max-Age=(\d+)/.exec(set)![1])
    expect(maxAge).toBeGreaterThan(3590)
    expect(maxAge).toBeLessThanOrEqual(3600)
    expect(((await res.json()) as { session: Session }).session.expires_at).toBe(k.expires_at)
  })

  it('signs in with the admin token, whose session manages keys but reads no tenant', async () => {
    const { cookie, body } = await session(TEST_ADMIN_TOKEN)
    expect(body.session).toMatchObject({ principal: 'admin-token', tenant: null, scopes: [], key_id: null })
    const keys = await SELF.fetch(`${BASE}/v1/keys`, { headers: withCookie(cookie) })
    expect(keys.status).toBe(200)
    await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(cookie) }), 403)
    // The row names the admin token by its hash, never the token.
    const row = await env.DB.prepare('SELECT * FROM console_sessions WHERE token_hash = ?')
      .bind(await secretHash(cookie))
      .first<Record<string, string>>()
    expect(row!.subject).toBe(await secretHash(TEST_ADMIN_TOKEN))
    expect(JSON.stringify(row)).not.toContain(TEST_ADMIN_TOKEN)
  })

  it('refuses a bad credential with a 401 that counts against the abuse limits', async () => {
    const ip = freshIp()
    const k = await mintKey(uniqueTenant('sess'))
    for (let i = 0; i < 10; i++) {
      const res = await signIn({ credential: `alk_${randomToken(32)}` }, { ip })
      await expectProblem(res, 401, /unknown or has been revoked/)
    }
    // Past the limit of rejected credentials per IP (10 a minute): 429, as for bearer tokens.
    await expectProblem(await signIn({ credential: `alk_${randomToken(32)}` }, { ip }), 429)
    // Guessing the admin token through the body locks the IP out of it like the header does.
    const guess = await signIn({ credential: 'not-the-admin-token-guess' }, { ip })
    await expectProblem(guess, 429)
    await expectProblem(await signIn({ credential: TEST_ADMIN_TOKEN }, { ip }), 429, /admin token is refused/)
    // API keys keep working from a locked-out IP.
    expect((await signIn({ credential: k.key }, { ip })).status).toBe(201)
  })

  it('refuses bad bodies, viewer tokens, other origins, and an empty body without Cloudflare Access', async () => {
    const k = await mintKey(uniqueTenant('sess'))
    await expectProblem(await signIn({ credential: k.key, remember: true }), 400)
    await expectProblem(await signIn({ credential: '' }), 400)
    await expectProblem(await signIn('{"credential":'), 400)
    const text = await SELF.fetch(`${BASE}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ credential: k.key }),
    })
    await expectProblem(text, 415)
    await expectProblem(await signIn({}), 401, /credential/)
    await expectProblem(
      await signIn({ credential: k.key }, { headers: { origin: 'https://evil.example' } }),
      403,
      /must come from this origin/,
    )
    expect((await signIn({ credential: k.key }, { headers: { origin: BASE } })).status).toBe(201)
    const admin = await mintKey(uniqueTenant('sess'), ['admin'])
    const minted = await SELF.fetch(`${BASE}/v1/viewer-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(minted.status).toBe(201)
    const { token } = (await minted.json()) as { token: string }
    await expectProblem(await signIn({ credential: token }), 400, /viewer token cannot make a session/)
  })

  it('refuses a revoked key', async () => {
    const tenant = uniqueTenant('sess')
    const k = await mintKeyViaApi({ tenant, scopes: ['events:read'] })
    const del = await SELF.fetch(`${BASE}/v1/keys/${k.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    expect(del.status).toBe(200)
    await expectProblem(await signIn({ credential: k.key }), 401)
  })
})

describe('the session cookie as a credential', () => {
  it('acts as its key on every route: same tenant, same scopes, same audit records', async () => {
    const tenant = uniqueTenant('sess')
    const writer = await mintKey(tenant, ['events:write'])
    const k = await mintKey(tenant, ['events:read'])
    expect(
      (
        await post(writer.key, {
          occurred_at: '2026-01-15T10:00:00Z',
          action: 'thing.done',
          actor: { type: 'user', id: 'u_1' },
          target: { type: 'doc', id: 'd1' },
        })
      ).status,
    ).toBe(202)
    await waitForEvents(tenant, 1)
    const { cookie } = await session(k.key)
    const page = await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(cookie) })
    expect(page.status).toBe(200)
    expect(page.headers.get('cache-control')).toBe('no-store')
    const data = ((await page.json()) as { data: { tenant: string; action: string }[] }).data
    expect(data.map((e) => [e.tenant, e.action])).toEqual([[tenant, 'thing.done']])
    // Its scopes are the key's: events:read does not write.
    const write = await SELF.fetch(`${BASE}/v1/events`, {
      method: 'POST',
      headers: withCookie(cookie, { 'content-type': 'application/json', origin: BASE }),
      body: JSON.stringify({
        occurred_at: '2026-01-15T10:00:00Z',
        action: 'x.y',
        actor: { type: 'user', id: 'u' },
        target: { type: 't', id: '1' },
      }),
    })
    await expectProblem(write, 403, /lacks the "events:write" scope/)
    const current = await SELF.fetch(`${BASE}/v1/sessions/current`, { headers: withCookie(cookie) })
    expect(((await current.json()) as { session: Session }).session).toMatchObject({
      principal: 'key',
      key_id: k.id,
      tenant,
    })
    // The search above is recorded as that key's read, like a bearer read.
    await waitForEvents(tenant, 2)
    const audit = await SELF.fetch(`${BASE}/v1/events?action=audit_log.searched`, {
      headers: { authorization: `Bearer ${k.key}` },
    })
    const recorded = ((await audit.json()) as { data: Record<string, unknown>[] }).data
    expect(recorded[0]).toMatchObject({
      action: 'audit_log.searched',
      actor: { type: 'api_key', id: k.id },
      ingest: { key_id: k.id },
    })
  })

  it('is ignored when the request carries an Authorization header', async () => {
    const a = await mintKey(uniqueTenant('sess-a'), ['events:read'])
    const b = await mintKey(uniqueTenant('sess-b'), ['events:read'])
    const { cookie } = await session(a.key)
    const res = await SELF.fetch(`${BASE}/v1/sessions/current`, {
      headers: withCookie(cookie, { authorization: `Bearer ${b.key}` }),
    })
    expect(((await res.json()) as { session: Session }).session.tenant).toBe(b.tenant)
    // A bad bearer token is a 401 even beside a good cookie.
    const bad = await SELF.fetch(`${BASE}/v1/events`, {
      headers: withCookie(cookie, {
        authorization: `Bearer alk_${randomToken(32)}`,
        'cf-connecting-ip': freshIp(),
      }),
    })
    await expectProblem(bad, 401)
  })

  it('needs this origin on unsafe methods (CSRF), not on reads', async () => {
    const tenant = uniqueTenant('sess')
    const admin = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const { cookie } = await session(admin.key)
    const mint = (headers: Record<string, string>) =>
      SELF.fetch(`${BASE}/v1/keys`, {
        method: 'POST',
        headers: withCookie(cookie, { 'content-type': 'application/json', ...headers }),
        body: JSON.stringify({ tenant, scopes: ['events:read'] }),
      })
    await expectProblem(await mint({}), 403, /must come from this origin/)
    await expectProblem(await mint({ origin: 'https://evil.example' }), 403, /Origin: http:\/\/audit\.test/)
    await expectProblem(await mint({ origin: 'null' }), 403)
    const ok = await mint({ origin: BASE })
    expect(ok.status).toBe(201)
    expect(((await ok.json()) as { created_by: string }).created_by).toBe(admin.id)
    // The same request with a bearer key needs no Origin.
    const bearer = await SELF.fetch(`${BASE}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant, scopes: ['events:read'] }),
    })
    expect(bearer.status).toBe(201)
    expect((await SELF.fetch(`${BASE}/v1/keys`, { headers: withCookie(cookie) })).status).toBe(200)
  })

  it('answers 401 and clears the cookie for an unknown or expired session, which is deleted on use', async () => {
    const unknown = await SELF.fetch(`${BASE}/v1/events`, {
      headers: withCookie(randomToken(32), { 'cf-connecting-ip': freshIp() }),
    })
    await expectProblem(unknown, 401, /session has ended or expired/)
    expect(unknown.headers.get('set-cookie')).toMatch(
      /^audit_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/,
    )
    const k = await mintKey(uniqueTenant('sess'), ['events:read'])
    const token = randomToken(32)
    const past = new Date(Date.now() - 1000).toISOString()
    await insertSession(database(env.DB), {
      tokenHash: await secretHash(token),
      principal: 'key',
      keyId: k.id,
      tenant: k.tenant,
      subject: null,
      createdAt: new Date(Date.now() - 2000).toISOString(),
      expiresAt: past,
    })
    expect(await sessionsOfKey(database(env.DB), k.id)).toHaveLength(1)
    await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(token) }), 401)
    expect(await sessionsOfKey(database(env.DB), k.id)).toHaveLength(0)
  })

  it('GET /v1/sessions/current without a credential is a 401', async () => {
    await expectProblem(
      await SELF.fetch(`${BASE}/v1/sessions/current`, { headers: { 'cf-connecting-ip': freshIp() } }),
      401,
    )
  })
})

describe('ending sessions', () => {
  it('DELETE /v1/sessions/current signs out: row deleted, cookie cleared, cookie refused', async () => {
    const k = await mintKey(uniqueTenant('sess'), ['events:read'])
    const { cookie } = await session(k.key)
    const foreign = await SELF.fetch(`${BASE}/v1/sessions/current`, {
      method: 'DELETE',
      headers: withCookie(cookie, { origin: 'https://evil.example' }),
    })
    await expectProblem(foreign, 403)
    const res = await SELF.fetch(`${BASE}/v1/sessions/current`, {
      method: 'DELETE',
      headers: withCookie(cookie, { origin: BASE }),
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('set-cookie')).toMatch(/^audit_session=; .*Max-Age=0/)
    expect(await sessionsOfKey(database(env.DB), k.id)).toHaveLength(0)
    await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(cookie) }), 401)
  })

  it('a new sign-in ends the session the browser held; signing out with a bearer token ends the cookie too', async () => {
    const k = await mintKey(uniqueTenant('sess'), ['events:read'])
    const first = await session(k.key)
    const again = await signIn({ credential: k.key }, { headers: withCookie(first.cookie, { origin: BASE }) })
    expect(again.status).toBe(201)
    const second = cookieOf(again)
    expect(second).not.toBe(first.cookie)
    expect(await sessionsOfKey(database(env.DB), k.id)).toHaveLength(1)
    await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(first.cookie) }), 401)
    const out = await SELF.fetch(`${BASE}/v1/sessions/current`, {
      method: 'DELETE',
      headers: withCookie(second, { origin: BASE, authorization: `Bearer ${k.key}` }),
    })
    expect(out.status).toBe(204)
    expect(await sessionsOfKey(database(env.DB), k.id)).toHaveLength(0)
  })

  it('revoking a key deletes its sessions at once (with cascade, those of the keys it minted)', async () => {
    const tenant = uniqueTenant('sess')
    const parent = await mintKeyViaApi({ tenant, scopes: ['admin'] })
    const child = await mintKeyViaApi({ tenant, scopes: ['events:read'] }, parent.key)
    const p = await session(parent.key)
    const c = await session(child.key)
    await session(child.key)
    expect(await sessionsOfKey(database(env.DB), child.id)).toHaveLength(2)
    const del = await SELF.fetch(`${BASE}/v1/keys/${parent.id}?cascade=true`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    })
    expect(del.status).toBe(200)
    expect(await sessionsOfKey(database(env.DB), parent.id)).toHaveLength(0)
    expect(await sessionsOfKey(database(env.DB), child.id)).toHaveLength(0)
    for (const s of [p, c]) {
      await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(s.cookie) }), 401)
    }
  })

  it('a session of an expired key stops with the key; the scheduled job removes expired rows', async () => {
    const k = await mintKey(uniqueTenant('sess'), ['events:read'])
    const token = randomToken(32)
    await insertSession(database(env.DB), {
      tokenHash: await secretHash(token),
      principal: 'key',
      keyId: k.id,
      tenant: k.tenant,
      subject: null,
      createdAt: new Date(Date.now() - 5000).toISOString(),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    })
    const live = await session(k.key)
    await tick()
    const left = await sessionsOfKey(database(env.DB), k.id)
    expect(left.map((s) => s.tokenHash)).toEqual([await secretHash(live.cookie)])
    // The key expiring ends the session that was made from it.
    await env.DB.prepare('UPDATE api_keys SET expires_at = ? WHERE id = ?')
      .bind(new Date(Date.now() - 1000).toISOString(), k.id)
      .run()
    await new Promise((r) => setTimeout(r, 5100))
    await expectProblem(await SELF.fetch(`${BASE}/v1/events`, { headers: withCookie(live.cookie) }), 401)
  })
})

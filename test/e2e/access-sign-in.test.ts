// Cloudflare Access sign-in, for real: a key server on 127.0.0.1 stands in for the team domain
// (<team>/cdn-cgi/access/certs serves the JWKS of a key pair made here), the Worker runs under
// wrangler dev with ACCESS_TEAM_DOMAIN pointing at it, and assertions are signed as Access signs
// them (RS256, iss = the team domain, aud = the application's AUD tag).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, mintKey, startWorker } from '../../bench/lib/worker-server'

type Server_ = Awaited<ReturnType<typeof startWorker>>
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>

const AUD = 'e2e-access-aud-0123456789abcdef'
const TENANT = 'e2e-access'
let keyServer: Server
let team: string
let worker: Server_
let good: KeyPair
let stranger: KeyPair
let certFetches = 0

async function assertion(
  email: string,
  o: { key?: KeyPair; kid?: string; aud?: string; iss?: string; exp?: number; nbf?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT({ email, type: 'app', identity_nonce: 'n' })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'team-key-1' })
    .setIssuer(o.iss ?? team)
    .setAudience(o.aud ?? AUD)
    .setSubject(`sub-${email}`)
    .setIssuedAt(now - 10)
    .setExpirationTime(o.exp ?? now + 300)
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf)
  return jwt.sign((o.key ?? good).privateKey)
}

function call(path: string, jwt?: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return fetch(`${worker.url}${path}`, {
    ...init,
    headers: { ...(jwt ? { 'cf-access-jwt-assertion': jwt } : {}), ...init.headers },
  })
}

async function problem(res: Response, status: number, detail?: RegExp) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = (await res.json()) as { detail: string }
  if (detail) expect(body.detail).toMatch(detail)
  return body
}

beforeAll(async () => {
  good = await generateKeyPair('RS256', { extractable: true })
  stranger = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(good.publicKey)), kid: 'team-key-1', alg: 'RS256', use: 'sig' }
  keyServer = createServer((req, res) => {
    if (req.url === '/cdn-cgi/access/certs') {
      certFetches++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: [jwk] }))
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r))
  team = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`
  worker = await startWorker('e2e-access', {
    vars: {
      ACCESS_TEAM_DOMAIN: team,
      ACCESS_AUD: AUD,
      ACCESS_PRINCIPALS: JSON.stringify({
        'ada@example.com': { tenant: TENANT, role: 'admin' },
        '*@example.com': { tenant: TENANT, role: 'viewer' },
      }),
    },
  })
})

afterAll(async () => {
  await worker?.stop()
  await new Promise((r) => keyServer?.close(r))
})

describe('Cloudflare Access assertions', () => {
  it('a valid assertion signs in as its mapped tenant and role, no cookie needed', async () => {
    const writer = await mintKey(worker.url, TENANT, ['events:write'])
    const posted = await fetch(`${worker.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'acc-1',
        occurred_at: '2026-01-15T10:00:00Z',
        action: 'user.login',
        actor: { type: 'user', id: 'u_1' },
        target: { type: 'session', id: 's_1' },
      }),
    })
    expect(posted.status).toBe(202)
    const viewer = await assertion('bob@example.com')
    const current = await call('/v1/sessions/current', viewer)
    expect(current.status).toBe(200)
    expect(await current.json()).toEqual({
      session: {
        principal: 'access',
        tenant: TENANT,
        scopes: ['events:read'],
        key_id: null,
        expires_at: expect.any(String),
        email: 'bob@example.com',
      },
    })
    let ids: string[] = []
    for (let i = 0; i < 240 && ids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250))
      const page = await call('/v1/events', viewer)
      expect(page.status).toBe(200)
      ids = ((await page.json()) as { data: { id: string }[] }).data.map((e) => e.id)
    }
    expect(ids, worker.logs.slice(-30).join('\n')).toEqual(['acc-1'])
    // A viewer role reads; it does not manage keys.
    await problem(await call('/v1/keys', viewer), 403, /lacks the "admin" scope/)
    const admin = await assertion('ada@example.com')
    const keys = await call('/v1/keys', admin)
    expect(keys.status).toBe(200)
    const listed = ((await keys.json()) as { data: { tenant: string }[] }).data
    expect(listed.length).toBeGreaterThan(0)
    expect(new Set(listed.map((k) => k.tenant))).toEqual(new Set([TENANT]))
    // An admin manages its tenant's keys, from this origin (Access is an ambient credential).
    const mintBody = JSON.stringify({ tenant: TENANT, scopes: ['events:read'] })
    const json = { 'content-type': 'application/json' }
    await problem(
      await call('/v1/keys', admin, { method: 'POST', headers: json, body: mintBody }),
      403,
      /origin/,
    )
    const minted = await call('/v1/keys', admin, {
      method: 'POST',
      headers: { ...json, origin: worker.url },
      body: mintBody,
    })
    expect(minted.status).toBe(201)
    expect(await minted.json()).toMatchObject({ tenant: TENANT, created_by: 'access:ada@example.com' })
    const elsewhere = await call('/v1/keys', admin, {
      method: 'POST',
      headers: { ...json, origin: worker.url },
      body: JSON.stringify({ tenant: 'another-tenant', scopes: ['events:read'] }),
    })
    await problem(elsewhere, 403, /own tenant/)
    // Viewer tokens die with a key, so they take one.
    const viewerToken = await call('/v1/viewer-tokens', admin, {
      method: 'POST',
      headers: { ...json, origin: worker.url },
      body: '{}',
    })
    await problem(viewerToken, 403, /tenant API key/)
    // Reads are recorded as that user's.
    let audit: { actor: { type: string; id: string }; metadata: Record<string, unknown> }[] = []
    for (let i = 0; i < 60 && audit.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250))
      const res = await call('/v1/events?action=audit_log.searched&limit=100', admin)
      audit = ((await res.json()) as { data: typeof audit }).data.filter(
        (e) => e.actor.id === 'bob@example.com',
      )
    }
    expect(audit[0]).toMatchObject({
      actor: { type: 'user', id: 'bob@example.com' },
      metadata: { via: 'cloudflare-access' },
    })
    // The team's keys are cached: more assertions fetch them no more.
    const fetched = certFetches
    expect(fetched).toBeGreaterThan(0)
    for (let i = 0; i < 20; i++) expect((await call('/v1/sessions/current', viewer)).status).toBe(200)
    expect(certFetches).toBe(fetched)
  })

  it('refuses wrong-audience, wrong-issuer, expired, not-yet-valid and wrong-key assertions with 401', async () => {
    const now = Math.floor(Date.now() / 1000)
    const bad = {
      'wrong audience': await assertion('bob@example.com', { aud: 'another-application' }),
      'wrong issuer': await assertion('bob@example.com', { iss: 'https://other-team.cloudflareaccess.com' }),
      expired: await assertion('bob@example.com', { exp: now - 60 }),
      'not yet valid': await assertion('bob@example.com', { nbf: now + 600 }),
      'wrong key, same kid': await assertion('bob@example.com', { key: stranger }),
      'wrong key, unknown kid': await assertion('bob@example.com', { key: stranger, kid: 'team-key-9' }),
      'not a JWT': 'eyJhbGciOiJub25lIn0.e30.',
    }
    const details: Record<string, string> = {}
    for (const [name, jwt] of Object.entries(bad)) {
      details[name] = (await problem(await call('/v1/events', jwt), 401)).detail
      await problem(
        await call('/v1/sessions', jwt, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
        401,
      )
    }
    expect(details['wrong audience']).toMatch(/"aud" claim/)
    expect(details['wrong issuer']).toMatch(/"iss" claim/)
    expect(details.expired).toMatch(/expired/)
    expect(details['not yet valid']).toMatch(/"nbf" claim/)
    expect(details['wrong key, same kid']).toMatch(/does not verify/)
    expect(details['wrong key, unknown kid']).toMatch(/does not verify/)
  })

  it('refuses a valid assertion of an unmapped e-mail with 403', async () => {
    const jwt = await assertion('eve@elsewhere.test')
    await problem(await call('/v1/events', jwt), 403, /not mapped to a tenant/)
    await problem(
      await call('/v1/sessions', jwt, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      403,
      /not mapped/,
    )
  })

  it('POST /v1/sessions with {} makes a cookie session of the Access identity', async () => {
    const jwt = await assertion('ada@example.com')
    const res = await call('/v1/sessions', jwt, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(res.status).toBe(201)
    const set = res.headers.get('set-cookie') ?? ''
    expect(set).toMatch(/^audit_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/)
    const body = (await res.json()) as {
      session: { principal: string; expires_at: string; scopes: string[] }
    }
    expect(body.session).toMatchObject({
      principal: 'access',
      tenant: TENANT,
      scopes: ['admin'],
      email: 'ada@example.com',
    })
    // No later than the assertion's own expiry (5 minutes here).
    expect(Date.parse(body.session.expires_at)).toBeLessThanOrEqual(Date.now() + 300_000)
    const cookie = set.split(';')[0]!
    const current = await call('/v1/sessions/current', undefined, { headers: { cookie } })
    expect(((await current.json()) as { session: { principal: string } }).session.principal).toBe('access')
    // Ambient credentials need this origin on unsafe methods.
    await problem(
      await call('/v1/sessions/current', jwt, { method: 'DELETE' }),
      403,
      /must come from this origin/,
    )
    const out = await call('/v1/sessions/current', undefined, {
      method: 'DELETE',
      headers: { cookie, origin: worker.url },
    })
    expect(out.status).toBe(204)
    await problem(await call('/v1/sessions/current', undefined, { headers: { cookie } }), 401)
  })

  it('leaves bearer keys and the admin token as they are', async () => {
    const key = await mintKey(worker.url, TENANT, ['events:read'])
    const res = await call('/v1/sessions/current', await assertion('ada@example.com'), {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(((await res.json()) as { session: { principal: string } }).session.principal).toBe('key')
    const admin = await call('/v1/sessions/current', undefined, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(((await admin.json()) as { session: { principal: string } }).session.principal).toBe('admin-token')
  })
})

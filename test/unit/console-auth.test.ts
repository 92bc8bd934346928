// core/auth: the viewer token format checked against an independent HKDF + HMAC (node:crypto),
// its refusals, the viewer scope rules, the Cloudflare Access configuration and session lifetimes.
import { createHmac, hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { accessConfig, accessPrincipal } from '../../core/auth/access'
import { SESSION_MAX_LIFETIME_MS, secondsUntil, sessionExpiry } from '../../core/auth/sessions'
import { inViewerScope, scopedFilters, scopeLabel } from '../../core/auth/viewer-scope'
import {
  signViewerToken,
  VIEWER_TOKEN_INFO,
  type ViewerTokenPayload,
  verifyViewerToken,
} from '../../core/auth/viewer-tokens'
import { DomainError } from '../../core/errors'

const SECRET = 'unit-admin-token-0123456789'
const now = new Date('2026-03-01T12:00:00.000Z')
const t0 = Math.floor(now.getTime() / 1000)
const payload: ViewerTokenPayload = {
  v: 1,
  jti: 'vt_abcdefghijklmnop',
  tenant: 'acme',
  kid: 'key_123',
  scope: { target: { type: 'order', id: '500' } },
  iat: t0,
  exp: t0 + 3600,
}

async function refused(p: Promise<unknown>, code: string, detail?: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(DomainError)
  expect((err as DomainError).code).toBe(code)
  if (detail) expect((err as DomainError).message).toMatch(detail)
}

describe('viewer tokens', () => {
  it('are avt_<payload>.<HMAC-SHA-256 under HKDF-SHA-256(ADMIN_TOKEN, info)>', async () => {
    const token = await signViewerToken(SECRET, payload)
    const [body, mac] = token.split('.') as [string, string]
    expect(body.startsWith('avt_')).toBe(true)
    expect(JSON.parse(Buffer.from(body.slice(4), 'base64url').toString('utf8'))).toEqual(payload)
    const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), VIEWER_TOKEN_INFO, 32))
    expect(mac).toBe(createHmac('sha256', key).update(body).digest('base64url'))
    expect(await verifyViewerToken(SECRET, token, now)).toEqual(payload)
  })

  it('refuse altered, non-canonical, foreign, expired and premature tokens', async () => {
    const token = await signViewerToken(SECRET, payload)
    const [body, mac] = token.split('.') as [string, string]
    const widened = Buffer.from(JSON.stringify({ ...payload, scope: {} })).toString('base64url')
    await refused(verifyViewerToken(SECRET, `avt_${widened}.${mac}`, now), 'unauthorized', /altered/)
    await refused(verifyViewerToken('another-secret-0123456789', token, now), 'unauthorized')
    // The last character of a 32-byte MAC carries 2 unused bits: another spelling of the same bytes.
    const last = mac.at(-1)!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!
    expect(Buffer.from(mac.slice(0, -1) + twin, 'base64url')).toEqual(Buffer.from(mac, 'base64url'))
    await refused(verifyViewerToken(SECRET, `${body}.${mac.slice(0, -1)}${twin}`, now), 'unauthorized')
    await refused(verifyViewerToken(SECRET, `alk_${token.slice(4)}`, now), 'unauthorized')
    await refused(verifyViewerToken(SECRET, body, now), 'unauthorized')
    await refused(verifyViewerToken(SECRET, token, new Date((t0 + 3600) * 1000)), 'unauthorized', /expired/)
    await refused(verifyViewerToken(SECRET, token, new Date((t0 - 120) * 1000)), 'unauthorized')
    // A well-signed payload of another shape (an unknown field) is refused too.
    const odd = await signViewerTokenUnchecked({ ...payload, admin: true })
    await refused(verifyViewerToken(SECRET, odd, now), 'unauthorized')
  })

  it('cannot be signed for more than a day, or for a target and an actor at once', async () => {
    await expect(signViewerToken(SECRET, { ...payload, exp: t0 + 86_401 })).rejects.toThrow()
    await expect(
      signViewerToken(SECRET, { ...payload, scope: { target: { type: 'o', id: '1' }, actor_id: 'u' } }),
    ).rejects.toThrow()
  })
})

/** A token with a valid MAC over any JSON (what a holder of the secret could make). */
async function signViewerTokenUnchecked(p: unknown): Promise<string> {
  const body = `avt_${Buffer.from(JSON.stringify(p)).toString('base64url')}`
  const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), VIEWER_TOKEN_INFO, 32))
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}

describe('viewer scopes', () => {
  const order = { target: { type: 'order', id: '500' } }
  const e = (target: [string, string], actor = 'u_1', parent?: [string, string]) => ({
    actor: { id: actor },
    target: { type: target[0], id: target[1] },
    ...(parent ? { parent: { type: parent[0], id: parent[1] } } : {}),
  })

  it('a target scope holds the target and its children; an actor scope that actor', () => {
    expect(inViewerScope(order, e(['order', '500']))).toBe(true)
    expect(inViewerScope(order, e(['order_item', '1'], 'u_1', ['order', '500']))).toBe(true)
    expect(inViewerScope(order, e(['order', '501']))).toBe(false)
    expect(inViewerScope(order, e(['invoice', '500']))).toBe(false)
    expect(inViewerScope(order, e(['order_item', '1'], 'u_1', ['order', '5000']))).toBe(false)
    expect(inViewerScope({ actor_id: 'u_1' }, e(['x', '1']))).toBe(true)
    expect(inViewerScope({ actor_id: 'u_1' }, e(['x', '1'], 'u_10'))).toBe(false)
    expect(inViewerScope({}, e(['x', '1']))).toBe(true)
    expect([scopeLabel(order), scopeLabel({ actor_id: 'u_1' }), scopeLabel({})]).toEqual([
      'target:order/500',
      'actor:u_1',
      'tenant',
    ])
  })

  it('forces search filters into the scope and refuses filters outside it', () => {
    expect(scopedFilters(order, { action: 'user.*' })).toEqual({
      action: 'user.*',
      target_type: 'order',
      target_id: '500',
      include_children: true,
    })
    expect(
      scopedFilters(order, { target_type: 'order', target_id: '500', include_children: false }),
    ).toMatchObject({
      include_children: false,
    })
    expect(() => scopedFilters(order, { target_type: 'order', target_id: '501' })).toThrow(
      /scoped to the target/,
    )
    expect(() => scopedFilters(order, { target_type: 'user' })).toThrow(DomainError)
    expect(scopedFilters({ actor_id: 'u_1' }, { target_type: 'x', target_id: '1' })).toEqual({
      target_type: 'x',
      target_id: '1',
      actor_id: 'u_1',
    })
    expect(() => scopedFilters({ actor_id: 'u_1' }, { actor_id: 'u_2' })).toThrow(/scoped to the actor u_1/)
    expect(scopedFilters({}, { actor_id: 'u_2' })).toEqual({ actor_id: 'u_2' })
  })
})

describe('Cloudflare Access configuration', () => {
  const principals = JSON.stringify({
    'Ada@Example.com': { tenant: 'acme', role: 'admin' },
    '*@example.com': { tenant: 'acme', role: 'viewer' },
  })

  it('is off when unset, and maps an e-mail before its domain, case-insensitively', () => {
    expect(accessConfig({})).toBeNull()
    const config = accessConfig({
      teamDomain: 'https://team.cloudflareaccess.com/',
      audience: 'aud',
      principals,
    })!
    expect(config.issuer).toBe('https://team.cloudflareaccess.com')
    expect(accessPrincipal(config, 'ada@example.COM')).toEqual({ tenant: 'acme', role: 'admin' })
    expect(accessPrincipal(config, 'bob@example.com')).toEqual({ tenant: 'acme', role: 'viewer' })
    expect(accessPrincipal(config, 'bob@sub.example.com')).toBeNull()
    expect(accessPrincipal(config, 'eve@evil.test')).toBeNull()
  })

  it('names what is wrong when misconfigured (503)', () => {
    const cases: [Parameters<typeof accessConfig>[0], RegExp][] = [
      [{ teamDomain: 'https://team.cloudflareaccess.com' }, /ACCESS_AUD is not/],
      [{ audience: 'aud' }, /ACCESS_TEAM_DOMAIN is not/],
      [{ teamDomain: 'team.cloudflareaccess.com', audience: 'aud' }, /not a URL/],
      [{ teamDomain: 'http://team.cloudflareaccess.com', audience: 'aud' }, /https/],
      [{ teamDomain: 'https://team.cloudflareaccess.com/x', audience: 'aud' }, /without a path/],
      [{ teamDomain: 'https://t.cloudflareaccess.com', audience: 'aud', principals: '{' }, /not JSON/],
      [
        {
          teamDomain: 'https://t.cloudflareaccess.com',
          audience: 'aud',
          principals: '{"bob": {"tenant": "a", "role": "viewer"}}',
        },
        /e-mail address or \*@domain/,
      ],
      [
        {
          teamDomain: 'https://t.cloudflareaccess.com',
          audience: 'aud',
          principals: '{"b@x.io": {"tenant": "a", "role": "owner"}}',
        },
        /ACCESS_PRINCIPALS/,
      ],
    ]
    for (const [vars, message] of cases) {
      let err: unknown
      try {
        accessConfig(vars)
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(vars)).toBeInstanceOf(DomainError)
      expect((err as DomainError).code).toBe('unavailable')
      expect((err as DomainError).message).toMatch(message)
    }
    // Plain http only for a team domain on this machine (the tests' key server).
    expect(accessConfig({ teamDomain: 'http://127.0.0.1:9999', audience: 'aud' })!.issuer).toBe(
      'http://127.0.0.1:9999',
    )
  })
})

describe('session lifetime', () => {
  it('is 12 hours, or the credential expiry when that is sooner', () => {
    const cap = new Date(now.getTime() + SESSION_MAX_LIFETIME_MS).toISOString()
    expect(sessionExpiry(now, null)).toBe(cap)
    expect(sessionExpiry(now, '2026-03-01T13:00:00.000Z')).toBe('2026-03-01T13:00:00.000Z')
    expect(sessionExpiry(now, '2027-01-01T00:00:00.000Z')).toBe(cap)
    expect(secondsUntil(cap, now)).toBe(12 * 3600)
    expect(secondsUntil('2026-03-01T11:00:00.000Z', now)).toBe(0)
  })
})

// HTTP hygiene through the real Worker: 405 with Allow, no-store on credentialed answers,
// security headers (the /docs page's policy allows exactly what the page uses), /healthz.
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { deepHealth } from '../../core/health'
import { BASE, expectProblem, mintKey, post, TEST_ADMIN_TOKEN, uniqueTenant } from './helpers'

const tenant = uniqueTenant('hygiene')
const keyPromise = mintKey(tenant, ['events:write', 'events:read'])

function call(method: string, path: string, token?: string) {
  return SELF.fetch(`${BASE}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
}

describe('405 for a wrong method on a known path', () => {
  it('answers problem+json with the methods the path has in Allow', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/v1/events', 'GET, HEAD, POST'],
      ['DELETE', '/v1/events/x', 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PATCH', '/v1/keys/key_1', 'DELETE'],
      ['GET', '/v1/archive/compact', 'POST'],
      ['POST', '/v1/events/x/proof', 'GET, HEAD'],
    ] as const) {
      const res = await call(method, path)
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow)
      const body = await expectProblem(res, 405, new RegExp(`${method} is not allowed`))
      expect(body.type).toBe('urn:audit-log:problem:method_not_allowed')
    }
    // With credentials too: the method is wrong whoever asks.
    const res = await call('PUT', '/v1/events', (await keyPromise).key)
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST')
    await expectProblem(res, 405)
  })

  it('keeps 404 for paths no route has, whatever the method', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['DELETE', '/v1/events/x/y/z'],
      ['POST', '/healthz/more'],
    ] as const) {
      const res = await call(method, path)
      expect(res.headers.get('allow')).toBeNull()
      await expectProblem(res, 404)
    }
  })
})

describe('Cache-Control', () => {
  it('is no-store on every answer to a request with credentials, errors included', async () => {
    const { key } = await keyPromise
    const answers = [
      await call('GET', '/v1/events', key),
      await call('GET', '/v1/events/no-such-event', key),
      await call('GET', '/v1/keys', key),
      await call('GET', '/v1/events', 'alk_unknown'),
      await call('GET', '/v1/events', TEST_ADMIN_TOKEN),
      await post(key, { not: 'an event' }),
      await call('GET', '/.well-known/audit-log-keys', key),
    ]
    expect(answers.map((r) => r.status)).toEqual([200, 404, 403, 401, 403, 400, 200])
    for (const res of answers) {
      expect(res.headers.get('cache-control'), res.url).toBe('no-store')
      await res.body?.cancel()
    }
  })

  it('leaves public answers their own', async () => {
    const keys = await call('GET', '/.well-known/audit-log-keys')
    expect(keys.status).toBe(200)
    expect(keys.headers.get('cache-control')).toBe('public, max-age=300')
    const health = await call('GET', '/healthz')
    expect(health.headers.get('cache-control')).toBe('no-store')
  })
})

describe('security headers', () => {
  it('are on every response', async () => {
    for (const res of [
      await call('GET', '/healthz'),
      await call('GET', '/openapi.json'),
      await call('GET', '/v1/nothing'),
      await call('GET', '/v1/events', (await keyPromise).key),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      await res.body?.cancel()
    }
  })

  it('/docs has a policy that allows what the page uses and nothing more', async () => {
    const res = await call('GET', '/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    const csp = res.headers.get('content-security-policy') ?? ''
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/)
        return [name, values] as const
      }),
    )
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    expect(directives.get('connect-src')).toEqual(["'self'"])
    expect(directives.get('script-src')).toEqual(["'self'"])
    expect(directives.get('style-src')).toEqual(["'self'"])
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/)

    const html = await res.text()
    // No inline script or style at all: every script and stylesheet comes from this origin.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(body).toBe('')
      expect(attrs).toMatch(/^ src="\/docs\/[^"]+"$/)
    }
    expect(html).not.toMatch(/<style|\son[a-z]+\s*=|\sstyle\s*=|javascript:|<img|<iframe/i)
    const init = await call('GET', '/docs/init.js')
    expect(init.headers.get('content-type')).toMatch(/^text\/javascript/)
    const script = await init.text()
    // The start-up script reads the document from this origin and calls no online validator.
    expect(script).toContain("url: '/openapi.json'")
    expect(script).toContain('validatorUrl: null')
    const doc = await call('GET', '/openapi.json')
    expect(doc.status).toBe(200)
    expect(((await doc.json()) as { paths: object }).paths).toHaveProperty('/healthz')
    const missing = await call('GET', '/docs/assets/other.js')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toMatch(/problem\+json/)
    await missing.body?.cancel()
  })
})

describe('/healthz', () => {
  it('is cheap and open by default', async () => {
    const res = await call('GET', '/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect((await call('GET', '/healthz?deep=0')).status).toBe(200)
  })

  it('?deep=1 takes the admin token', async () => {
    await expectProblem(await call('GET', '/healthz?deep=1'), 401)
    await expectProblem(await call('GET', '/healthz?deep=1', (await keyPromise).key), 403, /admin token/)
  })

  it('?deep=1 checks D1, R2, the queue bindings and the signing keys', async () => {
    const res = await call('GET', '/healthz?deep=1', TEST_ADMIN_TOKEN)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as {
      status: string
      checks: Record<
        string,
        { ok: boolean; ms: number; error?: string; keys?: number; development?: boolean }
      >
    }
    expect(Object.keys(body.checks).sort()).toEqual(['d1', 'queue', 'r2', 'signing_keys'])
    expect(body.checks.d1).toMatchObject({ ok: true })
    expect(body.checks.r2).toMatchObject({ ok: true })
    expect(body.checks.queue).toMatchObject({ ok: true })
    const sk = body.checks.signing_keys!
    expect(typeof sk.ok).toBe('boolean')
    expect(typeof sk.keys === 'number' || typeof sk.error === 'string').toBe(true)
    const allOk = Object.values(body.checks).every((c) => c.ok)
    expect(body.status).toBe(allOk ? 'ok' : 'degraded')
    expect(res.status).toBe(allOk ? 200 : 503)
  })

  it('reports degraded, naming the failing check, when a dependency fails or hangs', async () => {
    const broken = {
      ...env,
      DB: {
        prepare: () => {
          throw new Error('D1 is unreachable')
        },
      } as unknown as D1Database,
      ARCHIVE: { list: () => new Promise(() => {}) } as unknown as R2Bucket,
      DEAD_LETTER_QUEUE: undefined as unknown as Queue,
    }
    const r = await deepHealth(broken, { timeoutMs: 200 })
    expect(r.status).toBe('degraded')
    expect(r.checks.d1).toMatchObject({ ok: false, error: 'D1 is unreachable' })
    expect(r.checks.r2).toMatchObject({ ok: false, error: 'no answer within 200 ms' })
    expect(r.checks.queue).toMatchObject({ ok: false, error: 'queue binding missing: DEAD_LETTER_QUEUE' })
  })
})

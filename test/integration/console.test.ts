// The console's page shell and assets through the real Worker (workerd, static assets bound):
// every /console path answers the shell with the console's policy, assets come from the ASSETS
// binding, a wrong method is a 405 and an unknown asset a 404 problem.
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { BASE } from './helpers'

describe('the console shell', () => {
  it('answers /console, its deep links and the embed page with a strict policy', async () => {
    for (const path of [
      '/console',
      '/console/events/evt-1',
      '/console/targets/order/500',
      '/console/embed?token=x',
    ]) {
      const res = await SELF.fetch(`${BASE}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      const csp = res.headers.get('content-security-policy')
      expect(csp).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      )
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('cache-control')).toBe('no-store')
      const html = await res.text()
      expect(html).toContain('<script type="module" src="/console/assets/app.js"></script>')
      expect(html).not.toMatch(/<script>|<style|\son[a-z]+=/)
    }
  })

  it('serves the built script and stylesheet from the static assets', async () => {
    const js = await SELF.fetch(`${BASE}/console/assets/app.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('no-cache')
    expect((await js.text()).length).toBeGreaterThan(1000)
    const css = await SELF.fetch(`${BASE}/console/assets/style.css`)
    expect(css.status).toBe(200)
    expect(await css.text()).toContain('prefers-color-scheme')
  })

  it('refuses unknown assets and wrong methods with problems', async () => {
    const missing = await SELF.fetch(`${BASE}/console/assets/../../wrangler.toml`)
    expect(missing.status).toBe(404)
    const other = await SELF.fetch(`${BASE}/console/assets/secret.js`)
    expect(other.status).toBe(404)
    expect(other.headers.get('content-type')).toBe('application/problem+json')
    const post = await SELF.fetch(`${BASE}/console`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })
})

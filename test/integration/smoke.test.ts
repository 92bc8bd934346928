import { env, SELF } from 'cloudflare:test'
import { expect, it } from 'vitest'

it('serves healthz and applies migrations', async () => {
  const res = await SELF.fetch('http://x/healthz')
  expect(res.status).toBe(200)
  const t = await env.DB.prepare('select count(*) as n from events').first<{ n: number }>()
  expect(t?.n).toBe(0)
})

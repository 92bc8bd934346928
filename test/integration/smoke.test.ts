import { env, SELF } from 'cloudflare:test'
import { expect, it } from 'vitest'

it('serves healthz and applies migrations', async () => {
  const res = await SELF.fetch('http://x/healthz')
  expect(res.status).toBe(200)
  // Every shard has the schema (and nothing stored yet).
  for (const d1 of [env.DB, env.DB_1]) {
    const t = await d1.prepare('select count(*) as n from events').first<{ n: number }>()
    expect(t?.n).toBe(0)
  }
})

// bench:console — the console's figures: the JavaScript and CSS it ships (raw and gzip; target
// at most 150 KB gzip), and the time from submitting the sign-in form to the first results
// table (performance marks console:sign-in -> console:results), in Debian's Chromium against a
// local store of EVENTS events, over ROUNDS fresh sign-ins; and the time to build a page of
// 1,000 rows (console:fetched -> console:results).
import { chromium } from 'playwright-core'
import type { PendingEvent } from '../core/ingest/stored-event'
import { buildConsole } from '../scripts/build-console'
import { seedChain } from './lib/seed-chain'
import { median, percentile } from './lib/stats'
import { mintKey, sampleEvent, startWorker, table } from './lib/worker-server'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000)
const TENANT = 'bench-console'

/**
 * BENCH_SEED=direct: the events are chained with the product's own code and written straight
 * into the local D1 file before the Worker starts (as bench:search does), so the figure can be
 * taken on a store of a million events; otherwise they are posted through the API.
 */
const DIRECT = process.env.BENCH_SEED === 'direct'

async function seedDirect(file: string): Promise<void> {
  const t0 = performance.now()
  const start = Date.now() - 30 * 86_400_000
  await seedChain(file, EVENTS, (i): PendingEvent => {
    const at = new Date(start + Math.floor((i / EVENTS) * 30 * 86_400_000)).toISOString()
    return {
      v: 1,
      tenant: TENANT,
      id: `ev-${String(i).padStart(8, '0')}`,
      occurred_at: at,
      received_at: at,
      action: i % 3 === 0 ? 'user.login' : 'user.role.updated',
      actor: { type: 'user', id: `u_${i % 5000}` },
      target: { type: 'user', id: `u_${(i * 7) % 20000}` },
      outcome: { status: 'success' },
      source: 'accounts',
      ingest: { key_id: 'seed', request_id: 'seed' },
    }
  })
  console.log(`seeded ${EVENTS} chained events in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

const sizes = await buildConsole()
const worker = await startWorker('bench-console', DIRECT ? { beforeStart: seedDirect } : {})
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
try {
  const write = await mintKey(worker.url, TENANT, ['events:write'])
  const read = await mintKey(worker.url, TENANT, ['events:read'])
  for (let i = 0; !DIRECT && i < EVENTS; i += 1000) {
    const events = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => sampleEvent(i + j))
    const res = await fetch(`${worker.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    })
    if (res.status !== 202) throw new Error(`ingest: ${res.status} ${await res.text()}`)
  }
  for (let i = 0; ; i++) {
    const page = await fetch(`${worker.url}/v1/events?limit=1000&since=2000-01-01T00:00:00.000Z`, {
      headers: { authorization: `Bearer ${read}` },
    })
    const body = (await page.json()) as { data: unknown[] }
    if (body.data.length >= Math.min(1000, EVENTS)) break
    if (i > 300) throw new Error('the events were not stored')
    await new Promise((r) => setTimeout(r, 200))
  }
  const signIn: number[] = []
  const build: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(`${worker.url}/console`)
    await page.getByLabel('API key').fill(read)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator('table.events tbody tr').first().waitFor()
    signIn.push(
      await page.evaluate<number>("performance.measure('m', 'console:sign-in', 'console:results').duration"),
    )
    await page.goto(`${worker.url}/console/events?limit=1000`)
    await page.locator('.results[aria-busy="false"]').waitFor()
    build.push(
      await page.evaluate<number>("performance.measure('b', 'console:fetched', 'console:results').duration"),
    )
    await context.close()
  }
  const kb = (n: number) => (n / 1024).toFixed(1)
  table([
    { figure: 'app.js KiB (gzip)', value: `${kb(sizes.js)} (${kb(sizes.js_gzip)})` },
    { figure: 'style.css KiB (gzip)', value: `${kb(sizes.css)} (${kb(sizes.css_gzip)})` },
    { figure: 'shipped gzip KiB / 150 KB target', value: `${kb(sizes.js_gzip + sizes.css_gzip)} / 146.5` },
    {
      figure: `sign-in to first results ms, p50 (p95) of ${ROUNDS}`,
      value: `${median(signIn).toFixed(0)} (${percentile(signIn, 95).toFixed(0)})`,
    },
    {
      figure: 'build 1,000 rows ms, p50 (p95)',
      value: `${median(build).toFixed(0)} (${percentile(build, 95).toFixed(0)})`,
    },
  ])
} finally {
  await browser.close()
  await worker.stop()
}

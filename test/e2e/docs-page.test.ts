// /docs in a real browser (Debian's Chromium through playwright-core): Swagger UI, served from
// this origin, renders every operation of /openapi.json with its response bodies and examples,
// under the page's Content-Security-Policy, with no request to another origin.
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorker } from '../../bench/lib/worker-server'

type Doc = { paths: Record<string, Record<string, unknown>> }

let worker: Awaited<ReturnType<typeof startWorker>>
let browser: Browser

beforeAll(async () => {
  ;[worker, browser] = await Promise.all([
    startWorker('e2e-docs', { consumers: false }),
    chromium.launch({ executablePath: '/usr/bin/chromium' }),
  ])
})

afterAll(async () => {
  await browser?.close()
  await worker?.stop()
})

describe('/docs', () => {
  it('renders every operation with response bodies and examples, offline, under its policy', async () => {
    const doc = (await (await fetch(`${worker.url}/openapi.json`)).json()) as Doc
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
    const page = await browser.newPage()
    const violations: string[] = []
    const foreign: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text())
    })
    page.on('request', (r) => {
      if (!r.url().startsWith(worker.url) && !r.url().startsWith('data:')) foreign.push(r.url())
    })
    await page.goto(`${worker.url}/docs`)
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 })
    expect(await page.locator('.opblock').count()).toBe(operations)
    // One operation opened: its responses, with the example taken from a real answer.
    const ingest = page.locator('.opblock-post', { hasText: '/v1/events' }).first()
    await ingest.locator('.opblock-summary').click()
    await ingest.locator('.responses-wrapper').waitFor()
    expect(await ingest.locator('.response-col_status', { hasText: '202' }).count()).toBeGreaterThan(0)
    expect(await ingest.locator('.responses-wrapper').innerText()).toContain('accepted')
    expect(violations).toEqual([])
    expect(foreign).toEqual([])
    await page.close()
  })
})

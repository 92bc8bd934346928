// The console's embed page and its hostile-input guarantees, in a real browser against a running
// Worker: a viewer token's read-only view within its scope only (no keys, no operator pages, an
// event outside the scope not shown), framed by a configured origin and by no other page;
// hostile actor names, descriptions, metadata and javascript: URLs shown as inert text; the
// console driven by keyboard alone; axe on the embed pages.
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, mintKey, startWorker } from '../../bench/lib/worker-server'
import { buildConsole } from '../../scripts/build-console'
import { expectAccessible, launch, newPage, screenshot, signIn } from '../support/console-browser'

type Server = Awaited<ReturnType<typeof startWorker>>
let worker: Server
let framer: HttpServer
let framerUrl = ''
let browser: Browser
const TENANT = 'e2e-embed'
const keys = { write: '', read: '', admin: '' }
const t = (i: number) => new Date(Date.now() - 10 * 60_000 + i * 1000).toISOString()

const XSS = {
  name: '<img src=x onerror="window.__xss=1">',
  description: '<script>window.__xss=2</script>',
  svg: '<svg onload="window.__xss=3"></svg>',
  js: 'javascript:window.__xss=4',
  reason: '"><iframe src="javascript:window.__xss=5">',
}

async function post(events: Record<string, unknown>[]) {
  const res = await fetch(`${worker.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.write}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
  return res
}

async function stored(n: number) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${worker.url}/__bench/pipeline-stats?tenant=${TENANT}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    const st = (await res.json()) as { n: number; pending: number | null }
    if (st.n >= n && !st.pending) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${n} events were not stored`)
}

async function viewerToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${worker.url}/v1/viewer-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return ((await res.json()) as { token: string }).token
}

async function inert(page: Page) {
  expect(await page.evaluate<unknown>('window.__xss')).toBeUndefined()
  expect(await page.locator('#app img, #app svg, #app script, #app iframe').count()).toBe(0)
  for (const a of await page.locator('#app a').all()) {
    const href = (await a.getAttribute('href')) ?? ''
    expect(href, 'a link from data').not.toMatch(/^\s*javascript:/i)
  }
}

beforeAll(async () => {
  await buildConsole()
  // The page that frames the embed view, on an origin of its own (another port).
  framer = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? ''
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(
      `<!doctype html><html lang="en"><title>host</title><iframe title="audit" src="${src.replace(/"/g, '&quot;')}" width="1200" height="700"></iframe></html>`,
    )
  })
  await new Promise<void>((r) => framer.listen(0, '127.0.0.1', r))
  framerUrl = `http://127.0.0.1:${(framer.address() as AddressInfo).port}`
  worker = await startWorker('e2e-console-embed', {
    vars: { PROOF_CHECKPOINT_INTERVAL_SECONDS: '1', CONSOLE_FRAME_ORIGINS: framerUrl },
  })
  keys.write = await mintKey(worker.url, TENANT, ['events:write'])
  keys.read = await mintKey(worker.url, TENANT, ['events:read'])
  keys.admin = await mintKey(worker.url, TENANT, ['admin'])
  const events: Record<string, unknown>[] = [
    {
      id: 'in-order',
      occurred_at: t(1),
      action: 'order.created',
      actor: { type: 'user', id: 'u_1' },
      target: { type: 'order', id: '500' },
    },
    {
      id: 'in-item',
      occurred_at: t(2),
      action: 'order.item.added',
      actor: { type: 'user', id: 'u_1' },
      target: { type: 'order_item', id: 'oi_1' },
      parent: { type: 'order', id: '500' },
    },
    {
      id: 'out-other',
      occurred_at: t(3),
      action: 'order.created',
      actor: { type: 'user', id: 'u_2' },
      target: { type: 'order', id: '501' },
    },
    {
      id: 'hostile',
      occurred_at: t(4),
      action: 'user.profile.updated',
      actor: { type: 'user', id: XSS.name },
      target: {
        type: 'user',
        id: 'u_x',
        name: XSS.name,
        url: 'https://example.com/"><script>window.__xss=6</script>',
      },
      outcome: { status: 'failure', reason: XSS.reason },
      description: XSS.description,
      changes: [{ field: 'homepage', before: XSS.js, after: XSS.svg }],
      metadata: { note: XSS.svg, link: XSS.js },
      context: { correlation_id: XSS.name },
    },
  ]
  const res = await post(events)
  expect(res.status, await res.text()).toBe(202)
  await stored(events.length)
  browser = await launch()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await worker?.stop()
  await new Promise((r) => framer?.close(r))
})

describe('the embed page', () => {
  it('is framed by the configured origin only', async () => {
    const res = await fetch(`${worker.url}/console/embed?token=x`)
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors ${framerUrl}`)
    expect(res.headers.get('x-frame-options')).toBeNull()
    const token = await viewerToken({ target: { type: 'order', id: '500' } })
    const { page, context } = await newPage(browser)
    await page.goto(`${framerUrl}/?src=${encodeURIComponent(`${worker.url}/console/embed?token=${token}`)}`)
    const frame = page.frameLocator('iframe')
    await frame.locator('table.events tbody tr').first().waitFor()
    await screenshot(page, 'embed')
    // The full console refuses to be framed.
    await page.goto(`${framerUrl}/?src=${encodeURIComponent(`${worker.url}/console`)}`)
    await new Promise((r) => setTimeout(r, 1500))
    const child = page.frames().find((f) => f !== page.mainFrame())
    expect(
      await child
        ?.locator('#app')
        .count()
        .catch(() => 0),
    ).toBe(0)
    await context.close()
  })

  it("shows a viewer token's events and details within its scope only", async () => {
    const token = await viewerToken({ target: { type: 'order', id: '500' } })
    const { page, context, errors } = await newPage(browser)
    await page.goto(`${worker.url}/console/embed?token=${token}`)
    const rows = page.locator('table.events tbody tr')
    await rows.first().waitFor()
    expect((await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-id')))).sort()).toEqual([
      'in-item',
      'in-order',
    ])
    expect(await page.getByText(/Read-only view of tenant e2e-embed: target order:500/).count()).toBe(1)
    for (const name of ['Keys', 'Operators', 'Integrity', 'Live tail', 'Export'])
      expect(await page.getByRole('link', { name }).count(), name).toBe(0)
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0)
    await expectAccessible(page, 'embed events')
    await rows.first().locator('a').first().click()
    expect(new URL(page.url()).searchParams.get('token')).toBe(token)
    await page.getByText('Verified', { exact: true }).waitFor({ timeout: 20_000 })
    await expectAccessible(page, 'embed detail')
    // Widening the scope from the page: another target's event is not there.
    await page.goto(`${worker.url}/console/embed?token=${token}&event=out-other`)
    await page.getByText(/Could not load the event/).waitFor()
    expect(await page.getByText('order:501').count()).toBe(0)
    // Another target by filter: the service refuses it.
    await page.goto(`${worker.url}/console/embed?token=${token}&target_type=order&target_id=501`)
    await page.getByText(/Search failed/).waitFor()
    expect(await rows.count()).toBe(0)
    // The console's other pages are not reachable with the token.
    const status = await page.evaluate<number>(
      `fetch('/v1/keys', { headers: { authorization: 'Bearer ${token}' } }).then((r) => r.status)`,
    )
    expect(status).toBe(403)
    // An altered token shows nothing.
    const altered = `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}A`
    await page.goto(`${worker.url}/console/embed?token=${altered}`)
    await page.getByText(/viewer token is not valid/).waitFor()
    expect(await rows.count()).toBe(0)
    await page.goto(`${worker.url}/console/embed`)
    await page.getByText(/needs a viewer token/).waitFor()
    expect(errors).toEqual([])
    await context.close()
  })

  it('refuses a credential other than a viewer token', async () => {
    const { page, context } = await newPage(browser)
    await page.goto(`${worker.url}/console/embed?token=${keys.read}`)
    await page.getByText(/takes a viewer token only/).waitFor()
    expect(await page.locator('table.events').count()).toBe(0)
    await context.close()
  })
})

describe('hostile content', () => {
  it('refuses a javascript: target URL at ingest', async () => {
    const res = await post([
      {
        occurred_at: t(5),
        action: 'user.updated',
        actor: { type: 'user', id: 'u' },
        target: { type: 'user', id: 'u', url: XSS.js },
      },
    ])
    expect(res.status).toBe(400)
  })

  it('stays inert text in the list, the detail, the history and the embed page', async () => {
    const { page, context, dialogs, errors } = await newPage(browser)
    await signIn(page, worker.url, keys.read)
    await page.locator('tr[data-id="hostile"]').waitFor()
    await inert(page)
    expect(await page.locator('tr[data-id="hostile"]').textContent()).toContain('<img src=x')
    await page.locator('tr[data-id="hostile"] a').first().click()
    await page.locator('section.receipt .verdict').waitFor({ timeout: 20_000 })
    for (const more of await page.getByRole('button', { name: 'more' }).all()) await more.click()
    await page.getByText('Raw JSON').click()
    await inert(page)
    const text = (await page.locator('main').textContent()) ?? ''
    for (const payload of [XSS.description, XSS.svg, XSS.js]) expect(text).toContain(payload)
    // A target URL from data is a link only when it is http(s), opened without referrer or opener.
    const link = page.locator('dd a[target="_blank"]')
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer nofollow')
    expect(await link.getAttribute('href')).toMatch(/^https:\/\/example\.com\//)
    await page
      .getByRole('link', { name: /user:u_x/ })
      .first()
      .click()
    await page.locator('ol.timeline li').first().waitFor()
    await inert(page)
    const token = await viewerToken({})
    await page.goto(`${worker.url}/console/embed?token=${token}&event=hostile`)
    await page.locator('section.receipt .verdict').waitFor({ timeout: 20_000 })
    await inert(page)
    expect(dialogs).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('keyboard', () => {
  it('signs in, moves between pages and opens an event with the keyboard alone', async () => {
    const { page, context } = await newPage(browser)
    await page.goto(`${worker.url}/console`)
    await page.getByLabel('API key').waitFor()
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('credential')
    await page.keyboard.type(keys.read)
    await page.keyboard.press('Enter')
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    await page.locator('table.events tbody tr').first().waitFor()
    await page.keyboard.press('Tab')
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe(
      'Skip to content',
    )
    await page.keyboard.press('Tab')
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Events')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/tail')
    // A new page moves the focus to its content; back up through the header to Events.
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('main')
    const focused = () => page.evaluate<string | undefined>('document.activeElement?.textContent')
    await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Sign out')
    // Integrity, Export, Live tail, Events.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Events')
    await page.keyboard.press('Enter')
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/events')
    // The skip link takes the focus to the content.
    for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('main')
    await page.locator('table.events tbody tr').first().waitFor()
    // From the filters to the first event's link, then open it.
    await page.getByLabel('Actor id').focus()
    await page.keyboard.type('u_1')
    await page.keyboard.press('Enter')
    await expect.poll(() => new URL(page.url()).searchParams.get('actor_id')).toBe('u_1')
    await page.locator('table.events tbody tr a').first().focus()
    await page.keyboard.press('Enter')
    await page.locator('section.receipt').waitFor()
    expect(new URL(page.url()).pathname).toMatch(/^\/console\/events\/in-/)
    await context.close()
  })
})

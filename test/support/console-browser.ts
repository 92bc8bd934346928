// Browser helpers for the console's end-to-end tests: Debian's Chromium driven by
// playwright-core (no browser download), sign-in through the page's own form, axe-core's
// serious and critical findings, and screenshots for docs/console.md.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'

export const CHROMIUM = '/usr/bin/chromium'
export const SCREENSHOTS = resolve('docs/console')

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
}

export async function newPage(
  browser: Browser,
  opts: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[]; dialogs: string[] }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.dark ? 'dark' : 'light',
    acceptDownloads: true,
  })
  const page = await context.newPage()
  const errors: string[] = []
  const dialogs: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/i.test(m.text())) errors.push(m.text())
  })
  page.on('dialog', async (d) => {
    dialogs.push(d.message())
    await d.dismiss()
  })
  return { context, page, errors, dialogs }
}

/** Signs in through the form (signing out first when a session is on). */
export async function signIn(page: Page, url: string, credential: string): Promise<void> {
  await page.goto(`${url}/console`)
  const key = page.getByLabel('API key')
  const out = page.getByRole('button', { name: 'Sign out' })
  await key.or(out).first().waitFor()
  if (await out.isVisible()) {
    await out.click()
    await key.waitFor()
  }
  await page.getByLabel('API key').fill(credential)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

/** axe-core on the page as it stands: no serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze()
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  expect(bad, `${what}: axe`).toEqual([])
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: false })
}

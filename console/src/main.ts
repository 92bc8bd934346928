// The admin console: one page shell (served by the Worker at /console and every path below it)
// and this script. Signed out it shows the sign-in form; the API key is posted once to
// POST /v1/sessions and dropped: the session lives in an HttpOnly cookie that scripts cannot
// read. /console/embed?token=avt_… is the framed, read-only view of a viewer token's scope:
// the events list and detail, nothing else.
import { ApiError, currentSession, type Session, signIn, signOut, useBearer } from './api'
import { type Ctx, canManageKeys, canReadEvents, consoleCtx, embedCtx, isOperator } from './context'
import { clear, h, status } from './dom'
import { detailPage } from './pages/detail'
import { eventsPage } from './pages/events'
import { exportPage } from './pages/export'
import { correlationPage, historyPage } from './pages/history'
import { integrityPage, operatorsPage } from './pages/integrity'
import { keysPage } from './pages/keys'
import { tailPage } from './pages/tail'
import { current, navigate, onRoute, type Route } from './router'

const app = document.getElementById('app')!
const embed = location.pathname === '/console/embed'
let stop: (() => void) | undefined

function signInPage(message?: string) {
  const key = h('input', {
    id: 'credential',
    name: 'credential',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
  })
  const out = h('div', { 'aria-live': 'polite' }, message ? status(message, 'error') : null)
  const form = h(
    'form',
    { class: 'signin' },
    h('h1', {}, 'Audit Log console'),
    h('p', {}, 'Paste an API key (events:read; admin to manage keys) or the operator token.'),
    h('div', { class: 'field' }, h('label', { for: key.id }, 'API key'), key),
    h('p', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
    out,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    performance.mark('console:sign-in')
    // The key leaves the page's memory with this request: the field is cleared at once.
    const credential = key.value.trim()
    key.value = ''
    try {
      const session = await signIn(credential)
      start(session, true)
    } catch (err) {
      clear(out, status(`Sign-in failed: ${(err as Error).message}`, 'error'))
      key.focus()
    }
  })
  clear(app, h('main', { id: 'main', class: 'narrow' }, form))
  key.focus()
}

function navLinks(s: Session): [string, string][] {
  const links: [string, string][] = []
  if (canReadEvents(s))
    links.push(['/console/events', 'Events'], ['/console/tail', 'Live tail'], ['/console/export', 'Export'])
  if (canManageKeys(s)) links.push(['/console/keys', 'Keys'])
  links.push(['/console/integrity', 'Integrity'])
  if (isOperator(s)) links.push(['/console/operators', 'Operators'])
  return links
}

function shell(ctx: Ctx): HTMLElement {
  const s = ctx.session
  const main = h('main', { id: 'main', tabindex: '-1' })
  const who =
    s.principal === 'admin-token'
      ? 'operator'
      : s.principal === 'viewer'
        ? `viewer of ${s.tenant}`
        : `${s.tenant} (${s.scopes.join(', ')})`
  const header = ctx.embed
    ? h(
        'header',
        { class: 'top' },
        h('span', { class: 'brand' }, 'Audit Log'),
        h('span', { class: 'who' }, who),
      )
    : h(
        'header',
        { class: 'top' },
        h(
          'a',
          {
            class: 'skip',
            href: location.pathname,
            onclick: (e: Event) => {
              e.preventDefault()
              main.focus()
            },
          },
          'Skip to content',
        ),
        h('span', { class: 'brand' }, 'Audit Log'),
        h(
          'nav',
          { 'aria-label': 'Console' },
          h(
            'ul',
            {},
            navLinks(s).map(([href, label]) => h('li', {}, h('a', { href, 'data-nav': true }, label))),
          ),
        ),
        h('span', { class: 'who' }, `Signed in as ${who}`),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              stop?.()
              try {
                await signOut()
              } finally {
                history.pushState(null, '', '/console')
                signInPage()
              }
            },
          },
          'Sign out',
        ),
      )
  clear(app, header, main)
  return main
}

function markCurrent(path: string) {
  for (const a of app.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    const here = path === a.pathname || path.startsWith(`${a.pathname}/`)
    if (here) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
}

async function show(ctx: Ctx, main: HTMLElement, r: Route) {
  stop?.()
  stop = undefined
  markCurrent(r.path)
  const parts = r.path
    .replace(/^\/console\/?/, '')
    .split('/')
    .map(decodeURIComponent)
  const [pageName = '', a, b] = parts
  const s = ctx.session
  if (ctx.embed) {
    const id = r.params.get('event')
    document.title = id ? 'Event — Audit Log' : 'Events — Audit Log'
    return id ? detailPage(main, ctx, id) : eventsPage(main, ctx, r.params)
  }
  const home = canReadEvents(s)
    ? '/console/events'
    : canManageKeys(s)
      ? '/console/keys'
      : '/console/integrity'
  const titles: Record<string, string> = {
    events: a ? 'Event' : 'Events',
    targets: 'History',
    correlation: 'Correlation',
    tail: 'Live tail',
    export: 'Export',
    keys: 'Keys',
    integrity: 'Integrity',
    operators: 'Operators',
  }
  document.title = `${titles[pageName] ?? 'Console'} — Audit Log`
  switch (pageName) {
    case '':
      return navigate(home, true)
    case 'events':
      return a ? detailPage(main, ctx, a) : eventsPage(main, ctx, r.params)
    case 'targets':
      if (a && b) return historyPage(main, ctx, a, b, r.params)
      break
    case 'correlation':
      if (a) return correlationPage(main, ctx, a, r.params)
      break
    case 'tail':
      stop = tailPage(main, ctx, r.params)
      return
    case 'export':
      return exportPage(main, ctx, r.params)
    case 'keys':
      if (canManageKeys(s)) return keysPage(main, ctx)
      break
    case 'integrity':
      return integrityPage(main, ctx)
    case 'operators':
      if (isOperator(s)) return operatorsPage(main)
      break
  }
  clear(main, h('h1', {}, 'Not found'), status('There is no such page for this sign-in.', 'error'))
}

function start(session: Session, fresh = false) {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  const ctx = embed ? embedCtx(session, token) : consoleCtx(session)
  const main = shell(ctx)
  onRoute((r) => {
    if (!fresh) main.focus({ preventScroll: true })
    fresh = false
    show(ctx, main, r).catch(fatal)
  })
  show(ctx, main, current()).catch(fatal)
}

function fatal(err: unknown) {
  if (err instanceof ApiError && err.status === 401 && !embed)
    return signInPage('The session has ended; sign in again.')
  clear(app, h('main', { id: 'main' }, status(`Something went wrong: ${(err as Error).message}`, 'error')))
}

async function boot() {
  if (embed) {
    const token = new URLSearchParams(location.search).get('token')
    if (!token) return fatal(new Error('This page needs a viewer token (?token=avt_…).'))
    useBearer(token)
  }
  const session = await currentSession()
  if (!session) {
    if (embed) return fatal(new Error('The viewer token is not valid (altered, expired or revoked).'))
    return signInPage()
  }
  if (embed && session.principal !== 'viewer')
    return fatal(new Error('The embed page takes a viewer token only.'))
  start(session)
}

boot().catch(fatal)

// Events: every search filter, cursor pages, the query in the URL.
import { getJson } from '../api'
import type { Ctx, EventPage } from '../context'
import { clear, h, status } from '../dom'
import { eventsTable } from '../events-table'
import { apiQuery, filterQuery, filtersForm } from '../filters'
import { navigate, withQuery } from '../router'

export async function eventsPage(root: HTMLElement, ctx: Ctx, page: URLSearchParams): Promise<void> {
  const results = h('section', { 'aria-live': 'polite', 'aria-busy': 'true', class: 'results' })
  const exportLink = ctx.embed
    ? null
    : h(
        'a',
        { href: withQuery('/console/export', filterQuery(page)), 'data-nav': true },
        'Export these results',
      )
  clear(
    root,
    h('h1', {}, 'Events'),
    ctx.session.scope ? scopeNote(ctx) : null,
    filtersForm(page, (q) => navigate(ctx.listUrl(q))),
    exportLink ? h('p', {}, exportLink) : null,
    results,
  )
  results.append(status('Searching…'))
  let body: EventPage
  const query = apiQuery(page)
  try {
    body = await getJson<EventPage>(withQuery('/v1/events', query))
    performance.mark('console:fetched')
  } catch (err) {
    results.setAttribute('aria-busy', 'false')
    clear(results, status(`Search failed: ${(err as Error).message}`, 'error'))
    return
  }
  const first = !page.get('cursor')
  const nav = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    first ? null : h('a', { href: ctx.listUrl(filterQuery(page)), 'data-nav': true }, 'First page'),
    body.next_cursor
      ? h(
          'a',
          {
            href: ctx.listUrl(new URLSearchParams([...pinned(page, query), ['cursor', body.next_cursor]])),
            'data-nav': true,
            rel: 'next',
          },
          'Next page',
        )
      : h('span', { class: 'muted' }, 'Last page'),
  )
  clear(
    results,
    h(
      'p',
      { class: 'muted' },
      `${body.data.length} event${body.data.length === 1 ? '' : 's'} on this page, newest first`,
    ),
    body.data.length ? eventsTable(body.data, ctx, 'Events matching the search') : status('No events match.'),
    nav,
  )
  results.setAttribute('aria-busy', 'false')
  performance.mark('console:results')
}

/**
 * The filters of the next page: a cursor belongs to the exact query it came from, so a preset
 * range goes on as the `since` it was resolved to for this page.
 */
function pinned(page: URLSearchParams, query: URLSearchParams): URLSearchParams {
  const q = filterQuery(page)
  if (q.has('range')) {
    q.delete('range')
    q.set('since', query.get('since') ?? '')
  }
  return q
}

function scopeNote(ctx: Ctx): HTMLElement {
  const s = ctx.session.scope!
  const what = s.target
    ? `target ${s.target.type}:${s.target.id} and its children`
    : s.actor_id
      ? `actor ${s.actor_id}`
      : 'every event'
  return h('p', { class: 'scope' }, `Read-only view of tenant ${s.tenant}: ${what}.`)
}

// Resource history (a target's timeline, with its children) and the correlation view (every
// event sharing a correlation id).
import { enc, getJson } from '../api'
import type { ApiEvent, Ctx, EventPage } from '../context'
import { clear, fmtTime, h, status, truncated } from '../dom'
import { actorLabel, eventsTable, targetLabel } from '../events-table'
import { navigate, withQuery } from '../router'

function timeline(events: ApiEvent[], ctx: Ctx, type: string, id: string): HTMLElement {
  return h(
    'ol',
    { class: 'timeline' },
    events.map((e) => {
      const child = !(e.target.type === type && e.target.id === id)
      return h(
        'li',
        { class: child ? 'child' : 'self' },
        h(
          'a',
          { href: ctx.eventUrl(e.id), 'data-nav': true },
          h('time', { datetime: e.occurred_at }, fmtTime(e.occurred_at)),
        ),
        ' ',
        h('code', {}, truncated(e.action, 60)),
        ' by ',
        truncated(actorLabel(e.actor), 48),
        child ? h('span', { class: 'tag' }, ' child: ', truncated(targetLabel(e.target), 48)) : null,
        ' ',
        h('span', { class: `badge ${e.outcome.status}` }, e.outcome.status),
      )
    }),
  )
}

export async function historyPage(
  root: HTMLElement,
  ctx: Ctx,
  type: string,
  id: string,
  page: URLSearchParams,
): Promise<void> {
  const children = page.get('include_children') !== 'false'
  const base = ctx.targetUrl(type, id)!
  const toggle = h('input', { id: 'h-children', type: 'checkbox' })
  toggle.checked = children
  toggle.addEventListener('change', () =>
    navigate(withQuery(base, { include_children: toggle.checked ? undefined : 'false' })),
  )
  const out = h('section', { 'aria-live': 'polite' }, status('Loading…'))
  clear(
    root,
    h('h1', {}, 'History of ', h('code', {}, truncated(`${type}:${id}`, 80))),
    h(
      'p',
      { class: 'field check' },
      toggle,
      h('label', { for: toggle.id }, 'Include children (events whose parent is this target)'),
    ),
    out,
  )
  const q = new URLSearchParams({ include_children: String(children), limit: '100' })
  const cursor = page.get('cursor')
  if (cursor) q.set('cursor', cursor)
  try {
    const body = await getJson<EventPage>(withQuery(`/v1/targets/${enc(type)}/${enc(id)}/events`, q))
    clear(
      out,
      body.data.length ? timeline(body.data, ctx, type, id) : status('No events for this target.'),
      body.next_cursor
        ? h(
            'nav',
            { class: 'pager', 'aria-label': 'Pages' },
            h(
              'a',
              {
                href: withQuery(base, {
                  include_children: children ? undefined : 'false',
                  cursor: body.next_cursor,
                }),
                'data-nav': true,
              },
              'Older events',
            ),
          )
        : null,
    )
  } catch (err) {
    clear(out, status(`Could not load the history: ${(err as Error).message}`, 'error'))
  }
}

export async function correlationPage(
  root: HTMLElement,
  ctx: Ctx,
  id: string,
  page: URLSearchParams,
): Promise<void> {
  const out = h('section', { 'aria-live': 'polite' }, status('Loading…'))
  clear(root, h('h1', {}, 'Correlation ', h('code', {}, truncated(id, 80))), out)
  const q = new URLSearchParams({ correlation_id: id, limit: '1000' })
  const cursor = page.get('cursor')
  if (cursor) q.set('cursor', cursor)
  try {
    const body = await getJson<EventPage>(withQuery('/v1/events', q))
    clear(
      out,
      h('p', { class: 'muted' }, `${body.data.length} event(s) share this correlation id, newest first.`),
      body.data.length ? eventsTable(body.data, ctx, 'Events of this correlation id') : status('None.'),
      body.next_cursor
        ? h(
            'nav',
            { class: 'pager', 'aria-label': 'Pages' },
            h(
              'a',
              { href: withQuery(ctx.correlationUrl(id)!, { cursor: body.next_cursor }), 'data-nav': true },
              'Next page',
            ),
          )
        : null,
    )
  } catch (err) {
    clear(out, status(`Could not load the events: ${(err as Error).message}`, 'error'))
  }
}

// The events list as an HTML table: time, actor, action, target, outcome, source. Rows are
// built off-document and inserted at once, so a page of 1,000 events lays out in one pass.
import type { ApiEvent, Ctx } from './context'
import { fmtTime, h, truncated } from './dom'

export function actorLabel(a: ApiEvent['actor']): string {
  return a.name ? `${a.name} (${a.type}:${a.id})` : `${a.type}:${a.id}`
}
export function targetLabel(t: { type: string; id: string; name?: string }): string {
  return t.name ? `${t.name} (${t.type}:${t.id})` : `${t.type}:${t.id}`
}

function row(e: ApiEvent, ctx: Ctx): HTMLTableRowElement {
  const target = ctx.targetUrl(e.target.type, e.target.id)
  return h(
    'tr',
    { 'data-id': e.id },
    h(
      'td',
      { class: 'time' },
      h('a', { href: ctx.eventUrl(e.id), 'data-nav': true }, fmtTime(e.occurred_at)),
    ),
    h('td', {}, truncated(actorLabel(e.actor), 48)),
    h('td', {}, h('code', {}, truncated(e.action, 60))),
    h(
      'td',
      {},
      target
        ? h('a', { href: target, 'data-nav': true }, truncated(targetLabel(e.target), 48))
        : truncated(targetLabel(e.target), 48),
    ),
    h('td', {}, h('span', { class: `badge ${e.outcome.status}` }, e.outcome.status)),
    h('td', {}, e.source ? truncated(e.source, 32) : '—'),
  )
}

export function eventsTable(events: ApiEvent[], ctx: Ctx, caption: string): HTMLTableElement {
  const body = h('tbody')
  const frag = document.createDocumentFragment()
  for (const e of events) frag.append(row(e, ctx))
  body.append(frag)
  return h(
    'table',
    { class: 'events' },
    h('caption', { class: 'sr-only' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Time (UTC)', 'Actor', 'Action', 'Target', 'Outcome', 'Source'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    body,
  )
}

/** Puts rows for `events` at the top of a table made by eventsTable. */
export function prependRows(table: HTMLTableElement, events: ApiEvent[], ctx: Ctx): void {
  const body = table.tBodies[0]!
  const frag = document.createDocumentFragment()
  for (const e of events) frag.append(row(e, ctx))
  body.prepend(frag)
}

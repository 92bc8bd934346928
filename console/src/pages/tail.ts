// Live tail: polls GET /v1/events (newest first) every two seconds and puts events not yet
// shown at the top, without reloading; pause stops polling, resume catches up.
import { getJson } from '../api'
import type { ApiEvent, Ctx, EventPage } from '../context'
import { clear, h, status } from '../dom'
import { eventsTable, prependRows } from '../events-table'
import { apiQuery } from '../filters'
import { withQuery } from '../router'

export const TAIL_INTERVAL_MS = 2000
const MAX_ROWS = 1000

export function tailPage(root: HTMLElement, ctx: Ctx, page: URLSearchParams): () => void {
  const seen = new Set<string>()
  let table: HTMLTableElement | undefined
  let paused = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const info = h('p', { class: 'muted', role: 'status' }, 'Connecting…')
  const list = h('section', {})
  const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause')
  clear(root, h('h1', {}, 'Live tail'), h('p', { class: 'actions' }, pause), info, list)

  const filters = apiQuery(page, [])
  async function poll(first: boolean) {
    const fresh: ApiEvent[] = []
    let cursor: string | null = null
    try {
      // Newest first: read pages until one holds an event already shown (at most 10 per poll).
      for (let i = 0; i < (first ? 1 : 10); i++) {
        const q = new URLSearchParams(filters)
        q.set('limit', first ? '50' : '100')
        if (cursor) q.set('cursor', cursor)
        const body: EventPage = await getJson<EventPage>(withQuery('/v1/events', q))
        const unseen = body.data.filter((e) => !seen.has(e.id))
        fresh.push(...unseen)
        if (unseen.length < body.data.length || !body.next_cursor) break
        cursor = body.next_cursor
      }
      for (const e of fresh) seen.add(e.id)
      if (!table) {
        table = eventsTable(fresh, ctx, 'Newest events')
        clear(list, table)
      } else if (fresh.length) {
        prependRows(table, fresh, ctx)
        const rows = table.tBodies[0]!.rows
        while (rows.length > MAX_ROWS) rows[rows.length - 1]!.remove()
      }
      info.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC${fresh.length && !first ? `: ${fresh.length} new` : ''}.`
    } catch (err) {
      info.textContent = ''
      clear(list, status(`Tail stopped: ${(err as Error).message}`, 'error'))
      return
    }
    schedule()
  }
  function schedule() {
    if (!paused && !stopped) timer = setTimeout(() => poll(false), TAIL_INTERVAL_MS)
  }
  pause.addEventListener('click', () => {
    paused = !paused
    pause.textContent = paused ? 'Resume' : 'Pause'
    pause.setAttribute('aria-pressed', String(paused))
    if (paused) {
      clearTimeout(timer)
      info.textContent = 'Paused.'
    } else poll(false)
  })
  poll(true)
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

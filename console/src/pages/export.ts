// Export: the current filters as CSV or NDJSON, streamed with progress, checked against the
// completeness marker the service ends a whole file with, then saved.
import { request } from '../api'
import type { Ctx } from '../context'
import { clear, download, h, status } from '../dom'
import { markerRowsOf, RecordSplitter } from '../export-lines'
import { apiQuery, FILTERS } from '../filters'
import { withQuery } from '../router'

export function exportPage(root: HTMLElement, _ctx: Ctx, page: URLSearchParams): void {
  const q = apiQuery(page, [])
  const named = FILTERS.filter((k) => q.has(k))
  const format = h(
    'select',
    { id: 'x-format' },
    h('option', { value: 'csv' }, 'CSV'),
    h('option', { value: 'ndjson' }, 'NDJSON'),
  )
  const progress = h('progress', { id: 'x-progress', 'aria-label': 'Export progress' })
  progress.hidden = true
  const info = h('p', { role: 'status', 'aria-live': 'polite' })
  const start = h('button', { type: 'button' }, 'Export')
  clear(
    root,
    h('h1', {}, 'Export'),
    h(
      'p',
      {},
      named.length
        ? `Events matching: ${named.map((k) => `${k}=${q.get(k)}`).join(', ')}.`
        : 'Every event of the tenant (no filter is set; set filters on the Events page and follow its export link).',
    ),
    h('div', { class: 'field' }, h('label', { for: format.id }, 'Format'), format),
    h('p', { class: 'actions' }, start),
    progress,
    info,
  )
  start.addEventListener('click', async () => {
    start.disabled = true
    const fmt = format.value as 'csv' | 'ndjson'
    const x = new URLSearchParams(q)
    x.set('format', fmt)
    progress.hidden = false
    progress.removeAttribute('value')
    let bytes = 0
    let rows = 0
    const parts: string[] = []
    let marker: number | undefined
    try {
      const res = await request(withQuery('/v1/export', x))
      if (!res.body) throw new Error('the answer has no body')
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      const splitter = new RecordSplitter(fmt)
      let header = fmt === 'csv'
      for (;;) {
        const { done, value } = await reader.read()
        if (value) bytes += value.length
        const text = done ? decoder.decode() : decoder.decode(value, { stream: true })
        for (const line of splitter.push(text, done)) {
          parts.push(line)
          const m = markerRowsOf(line, fmt)
          if (m !== undefined) marker = m
          else if (header) header = false
          else rows++
        }
        info.textContent = `${rows} rows, ${(bytes / 1024).toFixed(0)} KiB…`
        if (done) break
      }
      if (marker === undefined || marker !== rows)
        throw new Error(`the file was cut short (${rows} rows read, marker ${marker ?? 'missing'})`)
      const sep = fmt === 'csv' ? '\r\n' : '\n'
      download(
        `audit-events-${new Date().toISOString().replace(/[:.]/g, '-')}.${fmt === 'csv' ? 'csv' : 'ndjson'}`,
        parts.join(sep) + sep,
        fmt === 'csv' ? 'text/csv' : 'application/x-ndjson',
      )
      progress.max = 1
      progress.value = 1
      clear(info, status(`Complete: ${rows} rows (${(bytes / 1024).toFixed(1)} KiB), saved.`, 'ok'))
    } catch (err) {
      progress.hidden = true
      clear(info, status(`Export failed: ${(err as Error).message}`, 'error'))
    } finally {
      start.disabled = false
    }
  })
}

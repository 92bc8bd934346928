// The search filters of GET /v1/events as a form, and the URL query that carries them: the query
// of the page is the query of the API call (plus `range`, a preset resolved at search time), so
// a search can be shared and bookmarked.
import { h } from './dom'

export const FILTERS = [
  'actor_id',
  'actor_type',
  'action',
  'target_type',
  'target_id',
  'include_children',
  'source',
  'outcome',
  'correlation_id',
  'ip',
  'since',
  'until',
] as const

export const RANGES: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
}
const RANGE_LABEL: Record<string, string> = {
  '': 'Any time',
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  custom: 'Custom range',
}

/** The API query for a page query: filters kept, a range preset turned into `since`. */
export function apiQuery(
  page: URLSearchParams,
  keep: readonly string[] = ['limit', 'cursor'],
): URLSearchParams {
  const q = new URLSearchParams()
  for (const k of [...FILTERS, ...keep]) {
    const v = page.get(k)
    if (v) q.set(k, v)
  }
  const range = page.get('range')
  if (range && RANGES[range] !== undefined) {
    q.set('since', new Date(Date.now() - RANGES[range]).toISOString())
    q.delete('until')
  }
  return q
}

/** The page query of the filters in the URL, without paging. */
export function filterQuery(page: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams()
  for (const k of [...FILTERS, 'range', 'limit']) {
    const v = page.get(k)
    if (v) q.set(k, v)
  }
  return q
}

const toLocalInput = (iso: string | null) => (iso ? iso.replace(/(\.\d{3})?Z$/, '').slice(0, 19) : '')
const fromLocalInput = (v: string) => (v ? `${v.length === 16 ? `${v}:00` : v}.000Z` : '')

function field(label: string, input: HTMLElement, wide = false): HTMLElement {
  return h('div', { class: wide ? 'field wide' : 'field' }, h('label', { for: input.id }, label), input)
}

function text(name: string, value: string | null, placeholder = ''): HTMLInputElement {
  return h('input', {
    id: `f-${name}`,
    name,
    value: value ?? '',
    placeholder,
    autocomplete: 'off',
    spellcheck: 'false',
  })
}

function select(name: string, value: string | null, options: [string, string][]): HTMLSelectElement {
  const s = h('select', { id: `f-${name}`, name }, ...options.map(([v, l]) => h('option', { value: v }, l)))
  s.value = value ?? ''
  return s
}

/** The filters form; `onSearch` gets the page query it describes. */
export function filtersForm(page: URLSearchParams, onSearch: (q: URLSearchParams) => void): HTMLFormElement {
  const range = page.get('range') ?? (page.get('since') || page.get('until') ? 'custom' : '')
  const since = h('input', {
    id: 'f-since',
    name: 'since',
    type: 'datetime-local',
    step: 1,
    value: toLocalInput(page.get('since')),
  })
  const until = h('input', {
    id: 'f-until',
    name: 'until',
    type: 'datetime-local',
    step: 1,
    value: toLocalInput(page.get('until')),
  })
  const rangeSel = select('range', range, Object.entries(RANGE_LABEL))
  const custom = h('div', { class: 'custom-range' }, field('Since (UTC)', since), field('Until (UTC)', until))
  const showCustom = () => {
    custom.hidden = rangeSel.value !== 'custom'
  }
  rangeSel.addEventListener('change', showCustom)
  showCustom()
  const children = h('input', { id: 'f-include_children', name: 'include_children', type: 'checkbox' })
  children.checked = page.get('include_children') === 'true'
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search events' },
    h(
      'div',
      { class: 'grid' },
      field('Actor id', text('actor_id', page.get('actor_id'))),
      field(
        'Actor type',
        select('actor_type', page.get('actor_type'), [
          ['', 'Any'],
          ...['user', 'service', 'api_key', 'system', 'ai'].map((t): [string, string] => [t, t]),
        ]),
      ),
      field('Action (end with * for a prefix)', text('action', page.get('action'), 'user.*')),
      field('Target type', text('target_type', page.get('target_type'))),
      field('Target id', text('target_id', page.get('target_id'))),
      h('div', { class: 'field check' }, children, h('label', { for: children.id }, 'Include children')),
      field('Source', text('source', page.get('source'))),
      field(
        'Outcome',
        select('outcome', page.get('outcome'), [
          ['', 'Any'],
          ['success', 'success'],
          ['failure', 'failure'],
        ]),
      ),
      field('Correlation id', text('correlation_id', page.get('correlation_id'))),
      field('IP address', text('ip', page.get('ip'))),
      field('Time', rangeSel),
      field(
        'Page size',
        select('limit', page.get('limit') ?? '100', [
          ['25', '25'],
          ['100', '100'],
          ['500', '500'],
          ['1000', '1000'],
        ]),
      ),
    ),
    custom,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'reset', class: 'secondary' }, 'Clear'),
    ),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const data = new FormData(form)
    const q = new URLSearchParams()
    for (const k of FILTERS) {
      if (k === 'since' || k === 'until' || k === 'include_children') continue
      const v = String(data.get(k) ?? '').trim()
      if (v) q.set(k, v)
    }
    if (children.checked) q.set('include_children', 'true')
    if (rangeSel.value === 'custom') {
      if (since.value) q.set('since', fromLocalInput(since.value))
      if (until.value) q.set('until', fromLocalInput(until.value))
    } else if (rangeSel.value) q.set('range', rangeSel.value)
    const limit = String(data.get('limit') ?? '100')
    if (limit !== '100') q.set('limit', limit)
    onSearch(q)
  })
  form.addEventListener('reset', (e) => {
    e.preventDefault()
    onSearch(new URLSearchParams())
  })
  return form
}

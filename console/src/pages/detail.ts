// Event detail: every field, the before/after diff of `changes`, context and ingest facts, the
// raw JSON, and the receipt checked here with Web Crypto (./receipt.ts), downloadable as the
// file `audit-log verify --proof` takes (with the key ring it was checked against).
import { enc, getJson } from '../api'
import type { ApiEvent, Ctx } from '../context'
import { clear, download, fmtTime, h, json, safeHref, status, truncated } from '../dom'
import { actorLabel, targetLabel } from '../events-table'
import { checkReceipt, type KeyRing } from '../receipt'

type Row = [string, Node | string | null | undefined]

function dl(rows: Row[]): HTMLElement {
  return h(
    'dl',
    { class: 'fields' },
    rows
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v as Node)]),
  )
}

function value(v: unknown): Node {
  if (v === undefined) return h('span', { class: 'muted' }, '(absent)')
  if (typeof v === 'string') return truncated(v, 120)
  const text = json(v)
  return text.length > 120 || text.includes('\n')
    ? h('pre', { class: 'json', tabindex: 0 }, truncated(text, 400))
    : h('code', {}, text)
}

function diff(changes: NonNullable<ApiEvent['changes']>): HTMLElement {
  return h(
    'table',
    { class: 'diff' },
    h('caption', {}, 'Changes'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Field', 'Before', 'After'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      changes.map((c) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('code', {}, c.field)),
          h('td', { class: 'before' }, h('span', { class: 'sr-only' }, 'before: '), value(c.before)),
          h('td', { class: 'after' }, h('span', { class: 'sr-only' }, 'after: '), value(c.after)),
        ),
      ),
    ),
  )
}

function link(href: string | null, label: string): Node {
  return href ? h('a', { href, 'data-nav': true }, truncated(label, 80)) : truncated(label, 80)
}

function description(d: ApiEvent['description']): Node | undefined {
  if (d === undefined) return undefined
  if (typeof d === 'string') return truncated(d, 200)
  return h('span', {}, truncated(d.template, 200), ' ', h('code', {}, truncated(json(d.values), 200)))
}

export async function detailPage(root: HTMLElement, ctx: Ctx, id: string): Promise<void> {
  clear(root, h('h1', {}, 'Event'), status('Loading…'))
  let e: ApiEvent
  try {
    e = await getJson<ApiEvent>(`/v1/events/${enc(id)}`)
  } catch (err) {
    clear(root, h('h1', {}, 'Event'), status(`Could not load the event: ${(err as Error).message}`, 'error'))
    return
  }
  const receipt = h('section', { class: 'receipt', 'aria-labelledby': 'receipt-h', 'aria-live': 'polite' })
  const corr = e.context?.correlation_id
  clear(
    root,
    h('p', {}, h('a', { href: ctx.listUrl({}), 'data-nav': true }, '← Events')),
    h('h1', {}, h('code', {}, truncated(e.action, 80))),
    e.integrity_violation ? status(`Integrity violation: ${e.integrity_violation.reason}`, 'error') : null,
    dl([
      ['Id', h('code', {}, truncated(e.id, 80))],
      ['Occurred', fmtTime(e.occurred_at)],
      ['Received', fmtTime(e.received_at)],
      ['Actor', link(ctx.listUrl({ actor_id: e.actor.id }), actorLabel(e.actor))],
      ['Actor e-mail', e.actor.email ? truncated(e.actor.email, 80) : undefined],
      ['Target', link(ctx.targetUrl(e.target.type, e.target.id), targetLabel(e.target))],
      ['Target URL', e.target.url ? safeHref(e.target.url) : undefined],
      [
        'Parent',
        e.parent ? link(ctx.targetUrl(e.parent.type, e.parent.id), targetLabel(e.parent)) : undefined,
      ],
      [
        'Outcome',
        h(
          'span',
          {},
          h('span', { class: `badge ${e.outcome.status}` }, e.outcome.status),
          e.outcome.code ? ` code ${e.outcome.code}` : '',
          e.outcome.reason ? ' — ' : '',
          e.outcome.reason ? truncated(e.outcome.reason, 120) : '',
        ),
      ],
      ['Source', e.source ? truncated(e.source, 80) : undefined],
      ['Description', description(e.description)],
      ['Tenant', e.tenant],
      ['Sequence', String(e.seq)],
      [
        'Conflicts',
        e.conflicts
          ? `${e.conflicts.count} later post(s) with other content, last ${fmtTime(e.conflicts.last_at)}`
          : undefined,
      ],
    ]),
    e.changes?.length ? diff(e.changes) : null,
    h('h2', {}, 'Context'),
    e.context && Object.keys(e.context).length
      ? dl(
          Object.entries(e.context).map(
            ([k, v]): Row => [k, k === 'correlation_id' ? link(ctx.correlationUrl(v), v) : truncated(v, 120)],
          ),
        )
      : h('p', { class: 'muted' }, 'None'),
    corr && ctx.correlationUrl(corr)
      ? h(
          'p',
          {},
          h('a', { href: ctx.correlationUrl(corr)!, 'data-nav': true }, 'Every event of this correlation id'),
        )
      : null,
    e.metadata
      ? [h('h2', {}, 'Metadata'), dl(Object.entries(e.metadata).map(([k, v]): Row => [k, value(v)]))]
      : null,
    h('h2', {}, 'Ingest'),
    dl(Object.entries(e.ingest).map(([k, v]): Row => [k, truncated(String(v), 120)])),
    dl([
      ['Hash', h('code', { class: 'hash' }, e.hash)],
      ['Previous hash', h('code', { class: 'hash' }, e.prev_hash)],
    ]),
    h('h2', { id: 'receipt-h' }, 'Receipt'),
    receipt,
    h(
      'details',
      { class: 'raw' },
      h('summary', {}, 'Raw JSON'),
      h('pre', { class: 'json', tabindex: 0 }, json(e)),
    ),
  )
  await showReceipt(receipt, e)
}

async function showReceipt(section: HTMLElement, e: ApiEvent): Promise<void> {
  clear(section, status('Checking the receipt in this browser…'))
  let proof: unknown
  let ring: KeyRing
  try {
    ;[proof, ring] = await Promise.all([
      getJson<unknown>(`/v1/events/${enc(e.id)}/proof`),
      getJson<KeyRing>('/.well-known/audit-log-keys'),
    ])
  } catch (err) {
    clear(section, status(`No receipt yet: ${(err as Error).message}`, 'error'))
    return
  }
  const result = await checkReceipt(proof, ring)
  const passed = h(
    'ul',
    { class: 'checks' },
    result.passed.map((c) => h('li', { class: 'pass' }, `✓ ${c}`)),
  )
  const files = h(
    'p',
    { class: 'actions' },
    h(
      'button',
      {
        type: 'button',
        onclick: () => download(`receipt-${e.id}.json`, `${json(proof)}\n`, 'application/json'),
      },
      'Download receipt',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: () => download('audit-log-keys.json', `${json(ring)}\n`, 'application/json'),
      },
      'Download public keys',
    ),
  )
  const cli = h(
    'p',
    { class: 'muted' },
    'Check offline: audit-log verify --proof receipt.json --keys audit-log-keys.json',
  )
  if (result.ok) {
    clear(
      section,
      h('p', { class: 'verdict ok', role: 'status' }, h('strong', {}, 'Verified')),
      h(
        'p',
        {},
        `Event ${result.seq} is in the signed checkpoint of ${result.checkpoint.seq} events at ${fmtTime(result.checkpoint.time)}, key ${result.checkpoint.key_id}.`,
      ),
      ring.development ? status('These are development signing keys: never trust them in production.') : null,
      passed,
      files,
      cli,
    )
  } else {
    const p = result.problem
    clear(
      section,
      h(
        'p',
        { class: 'verdict bad', role: 'alert' },
        h('strong', {}, 'Receipt check failed: '),
        `${p.message} (${p.kind})`,
      ),
      p.expected || p.found
        ? dl([
            ['Expected', p.expected ? h('code', { class: 'hash' }, p.expected) : undefined],
            ['Found', p.found ? h('code', { class: 'hash' }, p.found) : undefined],
          ])
        : null,
      passed,
      files,
    )
  }
}

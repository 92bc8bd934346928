// Integrity: the monitor's status and alarms, the tenant's signed checkpoints, the signing key
// ring. Operators (the admin token): dead letters (list, replay) and the archive (backlog,
// reconcile, compact).
import { enc, getJson, sendJson } from '../api'
import type { Ctx } from '../context'
import { canReadEvents } from '../context'
import { clear, fmtTime, h, json, status, truncated } from '../dom'
import type { Checkpoint, KeyRing } from '../receipt'

type Alarm = {
  id: string
  kind: string
  tenant: string
  seq?: number
  detail: string
  raised_at: string
  acknowledged_at?: string
  acknowledged_by?: string | null
}

function table(caption: string, head: string[], rows: Node[][]): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  )
}

const text = (s: string | number | null | undefined) =>
  document.createTextNode(s === null || s === undefined ? '—' : String(s))

async function section(el: HTMLElement, title: string, fill: () => Promise<Node[]>): Promise<void> {
  clear(el, h('h2', {}, title), status('Loading…'))
  try {
    clear(el, h('h2', {}, title), ...(await fill()))
  } catch (err) {
    clear(el, h('h2', {}, title), status(`Could not load: ${(err as Error).message}`, 'error'))
  }
}

export async function integrityPage(root: HTMLElement, ctx: Ctx): Promise<void> {
  const monitor = h('section', {})
  const checkpoints = h('section', {})
  const ring = h('section', {})
  clear(root, h('h1', {}, 'Integrity'), monitor, checkpoints, ring)
  const mayAck = ctx.session.principal === 'admin-token' || ctx.session.scopes.includes('admin')
  const loadMonitor = () =>
    section(monitor, 'Monitor', async () => {
      const s = await getJson<{ status: 'ok' | 'alarm'; checked_at: string | null; alarms: Alarm[] }>(
        '/v1/integrity/status',
      )
      return [
        h(
          'p',
          {
            class: `verdict ${s.status === 'ok' ? 'ok' : 'bad'}`,
            role: s.status === 'ok' ? 'status' : 'alert',
          },
          h('strong', {}, s.status === 'ok' ? 'No alarms' : `Alarm: ${s.alarms.length} raised`),
          ` — last checked ${fmtTime(s.checked_at)}`,
        ),
        s.alarms.length
          ? table(
              'Alarms',
              ['Raised', 'Kind', 'Tenant', 'Seq', 'Detail', 'Acknowledged'],
              s.alarms.map((a) => {
                const ack = h('button', { type: 'button' }, 'Acknowledge')
                ack.addEventListener('click', async () => {
                  try {
                    await sendJson('POST', `/v1/integrity/alarms/${enc(a.id)}/acknowledge`, {})
                    await loadMonitor()
                  } catch (err) {
                    monitor.append(status(`Could not acknowledge: ${(err as Error).message}`, 'error'))
                  }
                })
                return [
                  text(fmtTime(a.raised_at)),
                  h('code', {}, a.kind),
                  truncated(a.tenant, 32),
                  text(a.seq),
                  truncated(a.detail, 160),
                  a.acknowledged_at
                    ? text(`${fmtTime(a.acknowledged_at)} by ${a.acknowledged_by ?? '—'}`)
                    : mayAck
                      ? ack
                      : text('no'),
                ]
              }),
            )
          : null,
      ].filter((x): x is HTMLParagraphElement | HTMLTableElement => x !== null)
    })
  await Promise.all([
    loadMonitor(),
    canReadEvents(ctx.session)
      ? section(checkpoints, 'Checkpoints', async () => {
          const { data } = await getJson<{ data: Checkpoint[] }>('/v1/integrity/checkpoints?limit=50')
          return [
            data.length
              ? table(
                  'Signed checkpoints, newest first',
                  ['Time', 'Size (seq)', 'Root', 'Key'],
                  data.map((c) => [
                    text(fmtTime(c.time)),
                    text(c.seq),
                    h('code', { class: 'hash' }, c.root),
                    text(c.key_id),
                  ]),
                )
              : status('No checkpoint yet: the scheduled job signs one each tick.'),
          ]
        })
      : Promise.resolve(checkpoints.remove()),
    section(ring, 'Signing keys', async () => {
      const doc = await getJson<KeyRing>('/.well-known/audit-log-keys')
      return [
        doc.development ? status('Development keys: never trust them in production.') : h('span'),
        table(
          'Published public keys',
          ['Id', 'Algorithm', 'Public key', 'Valid from', 'Valid until'],
          doc.keys.map((k) => [
            text(k.id),
            text(k.algorithm),
            h('code', { class: 'hash' }, k.public_key),
            text(fmtTime(k.not_before)),
            text(k.not_after ? fmtTime(k.not_after) : 'open'),
          ]),
        ),
      ]
    }),
  ])
}

type Letter = { key: string; reason: string; failed_at: string; events: number }

export async function operatorsPage(root: HTMLElement): Promise<void> {
  const letters = h('section', {})
  const archive = h('section', {})
  const out = h('div', { 'aria-live': 'polite' })
  clear(root, h('h1', {}, 'Operators'), out, letters, archive)
  const act = async (label: string, path: string, reload: () => Promise<void>) => {
    try {
      const body = await sendJson<unknown>('POST', path)
      clear(
        out,
        status(`${label}: done.`, 'ok'),
        h('pre', { class: 'json', tabindex: 0 }, truncated(json(body), 2000)),
      )
      await reload()
    } catch (err) {
      clear(out, status(`${label} failed: ${(err as Error).message}`, 'error'))
    }
  }
  const loadLetters = () =>
    section(letters, 'Dead letters', async () => {
      const d = await getJson<{ dead_letters: Letter[]; truncated: boolean }>(
        '/v1/admin/dead-letters?limit=100',
      )
      return [
        d.dead_letters.length
          ? table(
              `Parked messages${d.truncated ? ' (more are parked)' : ''}`,
              ['Failed', 'Events', 'Reason', 'Key'],
              d.dead_letters.map((l) => [
                text(fmtTime(l.failed_at)),
                text(l.events),
                truncated(l.reason, 160),
                h('code', {}, truncated(l.key, 60)),
              ]),
            )
          : status('No dead letters.'),
        h(
          'p',
          { class: 'actions' },
          h(
            'button',
            { type: 'button', onclick: () => act('Replay', '/v1/admin/dead-letters/replay', loadLetters) },
            'Replay dead letters',
          ),
        ),
      ]
    })
  const loadArchive = () =>
    section(archive, 'Archive', async () => {
      const s = await getJson<Record<string, unknown>>('/v1/archive/status')
      return [
        h(
          'dl',
          { class: 'fields' },
          Object.entries(s).map(([k, v]) => [
            h('dt', {}, k),
            h('dd', {}, truncated(typeof v === 'string' ? v : json(v), 200)),
          ]),
        ),
        h(
          'p',
          { class: 'actions' },
          h(
            'button',
            { type: 'button', onclick: () => act('Reconcile', '/v1/archive/reconcile', loadArchive) },
            'Reconcile mirror',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => act('Compact', '/v1/archive/compact', loadArchive),
            },
            'Compact closed days',
          ),
        ),
      ]
    })
  await Promise.all([loadLetters(), loadArchive()])
}

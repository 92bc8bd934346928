// Keys: list, mint (the secret shown once, copyable), revoke.
import { enc, getJson, sendJson } from '../api'
import type { Ctx } from '../context'
import { clear, fmtTime, h, status, truncated } from '../dom'

type Key = {
  id: string
  tenant: string
  name: string | null
  scopes: string[]
  prefix: string
  created_at: string
  revoked_at: string | null
  created_by: string | null
  expires_at: string | null
}

const SCOPES = ['events:read', 'events:write', 'admin']

export async function keysPage(root: HTMLElement, ctx: Ctx): Promise<void> {
  const list = h('section', { 'aria-live': 'polite' })
  const minted = h('div', { 'aria-live': 'polite' })
  const operator = ctx.session.principal === 'admin-token'
  const tenant = h('input', { id: 'k-tenant', name: 'tenant', required: true, autocomplete: 'off' })
  const name = h('input', { id: 'k-name', name: 'name', autocomplete: 'off' })
  const expires = h('input', { id: 'k-expires', name: 'expires', type: 'datetime-local', step: 1 })
  const scopes = SCOPES.map((s) => {
    const box = h('input', { type: 'checkbox', id: `k-scope-${s}`, value: s })
    box.checked = s === 'events:read'
    return h('span', { class: 'check' }, box, h('label', { for: box.id }, s))
  })
  const form = h(
    'form',
    { class: 'mint', 'aria-labelledby': 'mint-h' },
    h('h2', { id: 'mint-h' }, 'Mint a key'),
    operator ? h('div', { class: 'field' }, h('label', { for: tenant.id }, 'Tenant'), tenant) : null,
    h('div', { class: 'field' }, h('label', { for: name.id }, 'Name'), name),
    h('fieldset', {}, h('legend', {}, 'Scopes'), scopes),
    h('div', { class: 'field' }, h('label', { for: expires.id }, 'Expires (UTC, optional)'), expires),
    h('p', { class: 'actions' }, h('button', { type: 'submit' }, 'Mint key')),
    minted,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const chosen = [...form.querySelectorAll<HTMLInputElement>('fieldset input:checked')].map((b) => b.value)
    const body: Record<string, unknown> = {
      tenant: operator ? tenant.value.trim() : ctx.session.tenant,
      scopes: chosen,
    }
    if (name.value.trim()) body.name = name.value.trim()
    if (expires.value)
      body.expires_at = `${expires.value.length === 16 ? `${expires.value}:00` : expires.value}.000Z`
    try {
      const k = (await sendJson<Key & { key: string }>('POST', '/v1/keys', body))!
      const secret = h('input', {
        id: 'k-secret',
        readonly: true,
        value: k.key,
        class: 'secret',
        spellcheck: 'false',
      })
      const copied = h('span', { role: 'status' })
      clear(
        minted,
        h(
          'div',
          { class: 'once' },
          h('label', { for: secret.id }, `New key ${k.id} (shown only now: copy it)`),
          secret,
          h(
            'button',
            {
              type: 'button',
              onclick: async () => {
                secret.select()
                try {
                  await navigator.clipboard.writeText(k.key)
                  copied.textContent = 'Copied.'
                } catch {
                  copied.textContent = 'Select the key and copy it.'
                }
              },
            },
            'Copy',
          ),
          copied,
        ),
      )
      form.reset()
      await load()
    } catch (err) {
      clear(minted, status(`Could not mint the key: ${(err as Error).message}`, 'error'))
    }
  })
  clear(root, h('h1', {}, 'Keys'), form, h('h2', {}, 'Keys'), list)

  async function revoke(k: Key, btn: HTMLButtonElement) {
    if (btn.dataset.confirm !== 'yes') {
      btn.dataset.confirm = 'yes'
      btn.textContent = `Confirm revoking ${k.prefix}…`
      return
    }
    try {
      await sendJson('DELETE', `/v1/keys/${enc(k.id)}`)
      await load()
    } catch (err) {
      list.prepend(status(`Could not revoke ${k.id}: ${(err as Error).message}`, 'error'))
    }
  }

  async function load() {
    try {
      const { data } = await getJson<{ data: Key[] }>('/v1/keys')
      clear(
        list,
        h(
          'table',
          { class: 'keys' },
          h('caption', { class: 'sr-only' }, 'API keys'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Prefix', 'Tenant', 'Scopes', 'Created', 'Expires', 'State', ''].map((c) =>
                h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions')),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            data.map((k) => {
              const btn = h('button', { type: 'button', class: 'danger' }, `Revoke ${k.prefix}`)
              btn.addEventListener('click', () => revoke(k, btn))
              return h(
                'tr',
                { 'data-id': k.id },
                h('td', {}, k.name ? truncated(k.name, 40) : h('span', { class: 'muted' }, '—')),
                h('td', {}, h('code', {}, k.prefix)),
                h('td', {}, truncated(k.tenant, 32)),
                h('td', {}, k.scopes.join(', ')),
                h('td', {}, fmtTime(k.created_at)),
                h('td', {}, fmtTime(k.expires_at)),
                h('td', {}, k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : 'active'),
                h('td', {}, k.revoked_at ? null : btn),
              )
            }),
          ),
        ),
      )
    } catch (err) {
      clear(list, status(`Could not list keys: ${(err as Error).message}`, 'error'))
    }
  }
  await load()
}

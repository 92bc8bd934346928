// The console's only way to build DOM. Untrusted values (anything an event, a key or the
// service sent) become text nodes or attribute values, never markup: there is no innerHTML in
// the console, so hostile actor names, descriptions and metadata stay inert. Links to
// addresses that came from data go through safeHref(), which keeps only http(s) URLs.

type Child = Node | string | number | null | undefined | false | Child[]
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v)
    else if (k === 'href' && typeof v === 'string' && !v.startsWith('/')) {
      throw new Error('h(): an href built here must be a path; use safeHref() for data')
    } else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/** A link to an address from data: http(s) only, opened without referrer or opener; else text. */
export function safeHref(url: string): Node {
  let ok = false
  try {
    ok = ['http:', 'https:'].includes(new URL(url).protocol)
  } catch {}
  if (!ok) return h('code', {}, url)
  const a = h('a', { target: '_blank', rel: 'noopener noreferrer nofollow' }, url)
  a.href = url
  return a
}

/**
 * A value shown in at most `max` characters; longer ones get a button that shows the rest
 * (and hides it again).
 */
export function truncated(text: string, max = 80): Node {
  if (text.length <= max) return h('span', { class: 'val' }, text)
  const span = h('span', { class: 'val' }, `${text.slice(0, max)}…`)
  const btn = h('button', { type: 'button', class: 'link expander', 'aria-expanded': 'false' }, 'more')
  btn.addEventListener('click', () => {
    const open = btn.getAttribute('aria-expanded') === 'true'
    span.textContent = open ? `${text.slice(0, max)}…` : text
    btn.textContent = open ? 'more' : 'less'
    btn.setAttribute('aria-expanded', String(!open))
  })
  return h('span', { class: 'trunc' }, span, ' ', btn)
}

/** A status line announced to screen readers. */
export function status(text: string, kind: 'info' | 'error' | 'ok' = 'info'): HTMLElement {
  return h('p', { class: `status ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text)
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  return iso.replace('T', ' ').replace(/\.\d{3}Z$|Z$/, ' UTC')
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined'
}

/** Saves bytes as a file the browser downloads. */
export function download(name: string, body: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([body], { type }))
  const a = h('a', { download: name, class: 'hidden' })
  a.href = url
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

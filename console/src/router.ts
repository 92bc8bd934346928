// History-API routing under /console: every page is a real URL (shareable, bookmarkable, the
// back button works); the Worker answers each with the same shell. Links marked data-nav are
// followed without a reload.

export type Route = { path: string; params: URLSearchParams }
type Listener = (r: Route) => void

let listener: Listener | undefined
let installed = false

export function current(): Route {
  return { path: location.pathname, params: new URLSearchParams(location.search) }
}

export function onRoute(fn: Listener): void {
  listener = fn
  if (installed) return
  installed = true
  window.addEventListener('popstate', () => listener?.(current()))
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a[data-nav]') as HTMLAnchorElement | null
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(a.getAttribute('href') ?? '/console')
  })
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  listener?.(current())
}

/** `base` with the non-empty entries of `params` as its query. */
export function withQuery(
  base: string,
  params: Record<string, string | undefined> | URLSearchParams,
): string {
  const q = new URLSearchParams()
  const entries = params instanceof URLSearchParams ? [...params] : Object.entries(params)
  for (const [k, v] of entries) if (v !== undefined && v !== '') q.set(k, v)
  const s = q.toString()
  return s ? `${base}?${s}` : base
}

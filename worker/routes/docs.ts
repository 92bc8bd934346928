// GET /docs: a self-contained page (no CDN, works offline) that renders /openapi.json.
import { Hono } from 'hono'
import type { AppEnv } from '../context'

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Audit Log API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.op{border:1px solid #e3e3e3;border-radius:6px;margin:1rem 0;padding:.75rem 1rem}
.m{font:600 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;margin-right:.5rem}
.get{background:#2f7d32}.post{background:#1565c0}.delete{background:#c62828}code,pre{font:13px monospace}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:300px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}</style>
</head><body><h1>Audit Log API</h1><p>Generated from <a href="/openapi.json">/openapi.json</a>.
Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>.</p><div id="ops">Loading…</div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  const byTag = {}
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const tag = (op.tags && op.tags[0]) || 'Other'; (byTag[tag] ||= []).push({ path, method, op })
  }
  let html = ''
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>'
    for (const { path, method, op } of ops) {
      html += '<div class="op"><span class="m ' + method + '">' + method.toUpperCase() + '</span><code>' + esc(path) + '</code><p>' + esc(op.summary) + '</p>'
      if (op.description) html += '<p>' + esc(op.description) + '</p>'
      if (op.parameters && op.parameters.length) html += '<table><tr><th>parameter</th><th>in</th><th>schema</th></tr>' + op.parameters.map((p) => '<tr><td><code>' + esc(p.name) + '</code>' + (p.required ? ' *' : '') + '</td><td>' + esc(p.in) + '</td><td><code>' + esc(JSON.stringify(p.schema)) + '</code></td></tr>').join('') + '</table>'
      const body = op.requestBody && op.requestBody.content
      if (body) html += '<details><summary>request body (' + esc(Object.keys(body).join(', ')) + ')</summary><pre>' + esc(JSON.stringify(body, null, 2)) + '</pre></details>'
      html += '<p>' + Object.entries(op.responses || {}).map(([s, r]) => '<b>' + esc(s) + '</b> ' + esc(r.description)).join(' · ') + '</p>'
      for (const [s, r] of Object.entries(op.responses || {})) for (const [type, media] of Object.entries(r.content || {})) {
        const example = media.example ?? (media.schema && media.schema.$ref && ((doc.components.schemas[media.schema.$ref.split('/').pop()] || {}).example))
        html += '<details><summary>' + esc(s) + ' ' + esc(type) + '</summary><pre>' + esc(JSON.stringify(media.schema, null, 2)) + '</pre>' + (example === undefined ? '' : '<p>example</p><pre>' + esc(JSON.stringify(example, null, 2)) + '</pre>') + '</details>'
      }
      html += '</div>'
    }
  }
  html += '<h2>Schemas</h2><pre>' + esc(JSON.stringify((doc.components || {}).schemas, null, 2)) + '</pre>'
  document.getElementById('ops').innerHTML = html
})
</script></body></html>`

async function sha256Source(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`
}

const inline = (tag: string) =>
  [...PAGE.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!)

let policy: Promise<string> | undefined
/**
 * The page's Content-Security-Policy: its one inline script and style allowed by their hashes,
 * fetches to this origin (/openapi.json), nothing else, and no framing.
 */
export function docsPolicy(): Promise<string> {
  policy ??= (async () => {
    const scripts = await Promise.all(inline('script').map(sha256Source))
    const styles = await Promise.all(inline('style').map(sha256Source))
    return [
      "default-src 'none'",
      `script-src ${scripts.join(' ')}`,
      `style-src ${styles.join(' ')}`,
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ')
  })()
  return policy
}

export const docsRoutes = new Hono<AppEnv>().get('/docs', async function docsPage(c) {
  c.header('Content-Security-Policy', await docsPolicy())
  return c.html(PAGE)
})

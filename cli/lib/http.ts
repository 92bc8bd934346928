// A small client of the Worker's HTTP API: bearer auth, JSON in and out, problem+json errors
// turned into a Failure that names the status and the detail.
import { Failure } from './args'

export type Query = Record<string, string | number | boolean | undefined>

export type Api = {
  url: string
  /** The raw response (any status) of one call. */
  raw(method: string, path: string, init?: { query?: Query; body?: unknown }): Promise<Response>
  /** The JSON answer of a 2xx call; a Failure otherwise. */
  json<T = unknown>(method: string, path: string, init?: { query?: Query; body?: unknown }): Promise<T>
}

export function queryString(q: Query = {}): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** The message of a refused call: the problem's detail and field errors when there are. */
export async function failureOf(res: Response, what: string): Promise<Failure> {
  const text = await res.text().catch(() => '')
  let detail = text.trim().slice(0, 2000)
  try {
    const p = JSON.parse(text) as {
      title?: string
      detail?: string
      errors?: { field?: string; message?: string }[]
    }
    detail = [
      p.detail ?? p.title ?? detail,
      ...(p.errors ?? []).map((e) => `  ${e.field}: ${e.message}`),
    ].join('\n')
  } catch {}
  return new Failure(`${what}: ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`)
}

export function api(url: string, key: string, fetchImpl: typeof fetch = fetch): Api {
  const raw: Api['raw'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` }
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await fetchImpl(`${url}${path}${queryString(init.query)}`, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new Failure(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
  }
  return {
    url,
    raw,
    async json<T>(method: string, path: string, init?: { query?: Query; body?: unknown }) {
      const res = await raw(method, path, init)
      if (!res.ok) throw await failureOf(res, `${method} ${path}`)
      return (await res.json()) as T
    },
  }
}

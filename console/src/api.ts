// The console talks only to the public API, as any client would: with the session cookie
// (same origin) or, in the embed page, with the viewer token as a bearer credential. Errors
// come back as application/problem+json and are thrown as ApiError with the service's words.

export type Session = {
  principal: 'key' | 'admin-token' | 'access' | 'viewer'
  tenant: string | null
  scopes: string[]
  key_id: string | null
  expires_at: string
  scope?: { tenant: string; target?: { type: string; id: string }; actor_id?: string }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

let bearer: string | undefined

/** The embed page's viewer token: sent as Authorization on every request from then on. */
export function useBearer(token: string): void {
  bearer = token
}

export function isEmbedded(): boolean {
  return bearer !== undefined
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (bearer) headers.set('authorization', `Bearer ${bearer}`)
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json')
  const res = await fetch(path, { ...init, headers, credentials: bearer ? 'omit' : 'same-origin' })
  if (!res.ok) throw await errorOf(res)
  return res
}

async function errorOf(res: Response): Promise<ApiError> {
  let detail = `${res.status} ${res.statusText}`
  try {
    const p = (await res.json()) as {
      title?: string
      detail?: string
      errors?: { path: string; message: string }[]
    }
    detail = [p.detail ?? p.title ?? detail, ...(p.errors ?? []).map((e) => `${e.path}: ${e.message}`)].join(
      ' ',
    )
  } catch {}
  return new ApiError(res.status, detail)
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request(path)).json()) as T
}

export async function sendJson<T>(
  method: 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T | null> {
  const res = await request(path, { method, body: body === undefined ? undefined : JSON.stringify(body) })
  if (res.status === 204) return null
  const text = await res.text()
  return text ? (JSON.parse(text) as T) : null
}

export async function currentSession(): Promise<Session | null> {
  try {
    return (await getJson<{ session: Session }>('/v1/sessions/current')).session
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null
    throw err
  }
}

export async function signIn(credential: string): Promise<Session> {
  const body = await sendJson<{ session: Session }>('POST', '/v1/sessions', { credential })
  if (!body) throw new ApiError(500, 'The service answered without a session.')
  return body.session
}

export async function signOut(): Promise<void> {
  await sendJson('DELETE', '/v1/sessions/current')
}

export const enc = encodeURIComponent

// Calls the running Worker's operator routes with the admin token: AUDIT_LOG_URL (default
// http://localhost:$PORT, 8787) and ADMIN_TOKEN (default: the one in .dev.vars).
import { existsSync, readFileSync } from 'node:fs'

/** Prints the JSON answer of one call, then exits: 0 when the Worker answered 2xx, else 1. */
export type AdminCall = (method: 'GET' | 'POST', path: string) => Promise<never>

export function adminApi(): AdminCall {
  const base = process.env.AUDIT_LOG_URL ?? `http://localhost:${process.env.PORT ?? 8787}`
  let token = process.env.ADMIN_TOKEN
  if (!token && existsSync('.dev.vars'))
    token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1]?.trim()
  if (!token) {
    console.error('Set ADMIN_TOKEN (or create .dev.vars).')
    process.exit(2)
  }
  return async (method, path) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } })
    console.log(JSON.stringify(await res.json(), null, 2))
    process.exit(res.ok ? 0 : 1)
  }
}

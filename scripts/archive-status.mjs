#!/usr/bin/env node
// The mirror backlog of the running Worker:
//   npm run archive:status               (http://localhost:8787, ADMIN_TOKEN from the env or .dev.vars)
//   npm run archive:status -- --reconcile (copy what is missing now)
import { existsSync, readFileSync } from 'node:fs'

const base = process.env.AUDIT_LOG_URL ?? `http://localhost:${process.env.PORT ?? 8787}`
let token = process.env.ADMIN_TOKEN
if (!token && existsSync('.dev.vars'))
  token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1]?.trim()
if (!token) {
  console.error('Set ADMIN_TOKEN (or create .dev.vars).')
  process.exit(2)
}
const headers = { authorization: `Bearer ${token}` }
const res = process.argv.includes('--reconcile')
  ? await fetch(`${base}/v1/archive/reconcile`, { method: 'POST', headers })
  : await fetch(`${base}/v1/archive/status`, { headers })
console.log(JSON.stringify(await res.json(), null, 2))
process.exit(res.ok ? 0 : 1)

#!/usr/bin/env node
// Replays parked dead letters through the running Worker:
//   npm run dlq:replay                  (http://localhost:8787, ADMIN_TOKEN from the env or .dev.vars)
//   npm run dlq:replay -- --list        (only list them, with their reasons)
//   AUDIT_LOG_URL=https://audit.example.com ADMIN_TOKEN=... npm run dlq:replay
import { existsSync, readFileSync } from 'node:fs'

const base = process.env.AUDIT_LOG_URL ?? `http://localhost:${process.env.PORT ?? 8787}`
let token = process.env.ADMIN_TOKEN
if (!token && existsSync('.dev.vars')) {
  token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1]?.trim()
}
if (!token) {
  console.error('Set ADMIN_TOKEN (or create .dev.vars) to replay dead letters.')
  process.exit(2)
}
const headers = { authorization: `Bearer ${token}` }
const listOnly = process.argv.includes('--list')
const res = listOnly
  ? await fetch(`${base}/v1/admin/dead-letters`, { headers })
  : await fetch(`${base}/v1/admin/dead-letters/replay`, { method: 'POST', headers })
const body = await res.json()
console.log(JSON.stringify(body, null, 2))
process.exit(res.ok ? 0 : 1)

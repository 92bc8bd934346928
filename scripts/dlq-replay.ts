#!/usr/bin/env -S npx tsx
// Replays parked dead letters through the running Worker:
//   npm run dlq:replay             (POST /v1/admin/dead-letters/replay)
//   npm run dlq:replay -- --list   (only list them, with their reasons)
//   AUDIT_LOG_URL=https://audit.example.com ADMIN_TOKEN=... npm run dlq:replay
import { adminApi } from './lib/admin-api'

const call = adminApi()
if (process.argv.includes('--list')) await call('GET', '/v1/admin/dead-letters')
else await call('POST', '/v1/admin/dead-letters/replay')

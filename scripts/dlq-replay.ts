#!/usr/bin/env -S npx tsx
// Replays parked dead letters through the running Worker: `audit-log dlq replay|list`.
//   npm run dlq:replay             (POST /v1/admin/dead-letters/replay)
//   npm run dlq:replay -- --list   (only list them, with their reasons)
//   AUDIT_LOG_URL=https://audit.example.com ADMIN_TOKEN=... npm run dlq:replay
import { main } from '../cli/main'

const args = process.argv.slice(2)
const list = args.includes('--list')
process.exitCode = await main(['dlq', list ? 'list' : 'replay', ...args.filter((a) => a !== '--list')])

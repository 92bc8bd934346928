#!/usr/bin/env -S npx tsx
// The mirror backlog of the running Worker:
//   npm run archive:status                (GET /v1/archive/status)
//   npm run archive:status -- --reconcile  (copy what is missing now)
import { adminApi } from './lib/admin-api'

const call = adminApi()
if (process.argv.includes('--reconcile')) await call('POST', '/v1/archive/reconcile')
else await call('GET', '/v1/archive/status')

#!/usr/bin/env -S npx tsx
// The mirror backlog of the running Worker: `audit-log archive status|reconcile`.
//   npm run archive:status                (GET /v1/archive/status)
//   npm run archive:status -- --reconcile  (copy what is missing now)
import { main } from '../cli/main'

const args = process.argv.slice(2)
const reconcile = args.includes('--reconcile')
process.exitCode = await main([
  'archive',
  reconcile ? 'reconcile' : 'status',
  ...args.filter((a) => a !== '--reconcile'),
])

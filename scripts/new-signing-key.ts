#!/usr/bin/env -S npx tsx
// npm run keys:new -- <key id> [not_before]: `audit-log signing-keys new`.
// Prints one SIGNING_KEYS entry (a fresh random Ed25519 seed) and its public key. Append the
// entry to the JSON array stored with `wrangler secret put SIGNING_KEYS`; see docs/integrity.md.
import { main } from '../cli/main'

process.exitCode = await main(['signing-keys', 'new', ...process.argv.slice(2)])

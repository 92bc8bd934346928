#!/usr/bin/env -S npx tsx
// npm run keys:new -- <key id> [not_before]
// Prints one SIGNING_KEYS entry (a fresh random Ed25519 seed) and its public key. Append the
// entry to the JSON array stored with `wrangler secret put SIGNING_KEYS`; see docs/integrity.md.
import { randomBytes } from 'node:crypto'
import { publicKeyOf } from './lib/ed25519'

const [id, notBefore = new Date().toISOString()] = process.argv.slice(2)
if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
  console.error('usage: npm run keys:new -- <key id: 1-64 of [A-Za-z0-9._-]> [not_before, RFC 3339]')
  process.exit(2)
}
const seed = randomBytes(32)
const entry = { id, seed: seed.toString('base64url'), not_before: new Date(notBefore).toISOString() }
console.log(JSON.stringify(entry))
console.error(`public key (base64url, published at /.well-known/audit-log-keys): ${publicKeyOf(seed)}`)

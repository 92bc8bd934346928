#!/usr/bin/env -S npx tsx
// npm run keys:retire -- '<SIGNING_KEYS entry as JSON>' [not_after]
// Prints the entry's public-only form: {id, public_key, not_before, not_after}. Put it in
// SIGNING_KEYS in place of the entry with the seed: the key stays published at
// /.well-known/audit-log-keys, so the checkpoints it signed still verify, and its private half
// can be destroyed. not_after defaults to the entry's own, else now.
import { publicKeyOf } from './lib/ed25519'

const [json, notAfter] = process.argv.slice(2)
let entry: { id?: unknown; seed?: unknown; not_before?: unknown; not_after?: unknown } | null
try {
  entry = JSON.parse(json ?? '') as typeof entry
} catch {
  console.error("usage: npm run keys:retire -- '<SIGNING_KEYS entry as JSON>' [not_after, RFC 3339]")
  process.exit(2)
}
if (
  typeof entry?.seed !== 'string' ||
  !/^[A-Za-z0-9_-]{43}$/.test(entry.seed) ||
  typeof entry.id !== 'string'
) {
  console.error('the entry needs "id" and "seed" (32 bytes, base64url), as npm run keys:new prints it')
  process.exit(2)
}
const end = notAfter ?? entry.not_after ?? new Date().toISOString()
if (Number.isNaN(Date.parse(String(end)))) {
  console.error(`not_after ${end} is not an RFC 3339 time`)
  process.exit(2)
}
console.log(
  JSON.stringify({
    id: entry.id,
    public_key: publicKeyOf(Buffer.from(entry.seed, 'base64url')),
    not_before: entry.not_before,
    not_after: new Date(String(end)).toISOString(),
  }),
)

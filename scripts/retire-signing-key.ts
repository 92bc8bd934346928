#!/usr/bin/env -S npx tsx
// npm run keys:retire -- '<SIGNING_KEYS entry as JSON>' [not_after]: `audit-log signing-keys retire`.
// Prints the entry's public-only form: {id, public_key, not_before, not_after}. Put it in
// SIGNING_KEYS in place of the entry with the seed: the key stays published at
// /.well-known/audit-log-keys, so the checkpoints it signed still verify, and its private half
// can be destroyed. not_after defaults to the entry's own, else now.
import { main } from '../cli/main'

process.exitCode = await main(['signing-keys', 'retire', ...process.argv.slice(2)])

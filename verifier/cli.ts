#!/usr/bin/env node
// npm run verify -- <archive dir | s3://bucket[/prefix] | r2://bucket[/prefix]> [--keys keys.json]
// Exit codes: 0 verified, 1 the archive is broken (the first break is printed), 2 usage or input error.
// A directory is a copy of the bucket (events/..., checkpoints/...), e.g. made with
// `aws s3 sync s3://<bucket> ./copy`; a URL is read in place over the S3 API (credentials and
// endpoint from the environment: verifier/archive-source.ts). keys.json is the document from
// GET /.well-known/audit-log-keys; for a directory it defaults to <dir>/audit-log-keys.json, for a
// URL it must be given (keys are trusted only from where you fetched them, not from the bucket).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { publicKeyDocumentSchema } from '../core/integrity/checkpoint'
import { type ArchiveSource, sourceFor } from './archive-source'
import { verifyArchive } from './verify-archive'

const args = process.argv.slice(2)
const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--keys')
const keysIdx = args.indexOf('--keys')
if (!dir) {
  console.error(
    'usage: npm run verify -- <archive dir | s3://bucket[/prefix] | r2://bucket[/prefix]> [--keys keys.json]',
  )
  process.exit(2)
}
const isUrl = /^(s3|r2):\/\//.test(dir)
if (isUrl && keysIdx < 0) {
  console.error(`${dir}: pass --keys with the document from GET /.well-known/audit-log-keys`)
  process.exit(2)
}
const keysPath = keysIdx >= 0 ? args[keysIdx + 1] : join(dir, 'audit-log-keys.json')
if (!keysPath || !existsSync(keysPath)) {
  console.error(`no public keys at ${keysPath}: save GET /.well-known/audit-log-keys there or pass --keys`)
  process.exit(2)
}
let keysJson: unknown
try {
  keysJson = JSON.parse(readFileSync(keysPath, 'utf8'))
} catch {
  console.error(`${keysPath} is not JSON: expected the document from GET /.well-known/audit-log-keys`)
  process.exit(2)
}
const parsedKeys = publicKeyDocumentSchema.safeParse(keysJson)
if (!parsedKeys.success) {
  const why = parsedKeys.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  console.error(`${keysPath} is not a key document: ${why}`)
  process.exit(2)
}
const keys = parsedKeys.data
if (keys.development)
  console.warn('warning: these are development keys; the archive proves nothing to a third party')
if (!isUrl && !existsSync(dir)) {
  console.error(`no archive directory at ${dir}`)
  process.exit(2)
}
let source: ArchiveSource
try {
  source = sourceFor(dir)
} catch (err) {
  console.error((err as Error).message)
  process.exit(2)
}
const t0 = performance.now()
const result = await verifyArchive(source, keys).catch((err: unknown) => {
  console.error(`cannot read ${source.location}: ${(err as Error).message}`)
  process.exit(2)
})
const seconds = (performance.now() - t0) / 1000
for (const w of result.warnings) console.warn(`warning: ${w}`)
for (const t of result.tenants) {
  console.log(
    `ok  ${t.tenant}: ${t.events} events in ${t.files} files, ${t.checkpoints} checkpoints${t.head ? `, head ${t.head}` : ''}`,
  )
}
if (!result.ok && result.break) {
  const b = result.break
  console.error(`BROKEN ${b.tenant}: ${b.kind}: ${b.message}`)
  if (b.file) console.error(`  file: ${b.file}${b.line ? `, line ${b.line}` : ''}`)
  if (b.seq !== undefined) console.error(`  seq: ${b.seq}`)
  if (b.expected !== undefined) console.error(`  expected: ${b.expected}\n  found:    ${b.found}`)
  process.exit(1)
}
console.log(`verified ${result.tenants.reduce((n, t) => n + t.events, 0)} events in ${seconds.toFixed(2)} s`)

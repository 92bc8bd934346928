#!/usr/bin/env node
// npm run verify -- <archive dir | s3://bucket[/prefix] | r2://bucket[/prefix]> [--keys keys.json] [--json]
// npm run verify -- --proof proof.json --keys keys.json
// npm run verify -- --consistency answer.json --from older.json --to newer.json --keys keys.json
// Exit codes: 0 verified, 1 the archive is broken (any tenant, or an object outside every tenant)
// or the proof does not prove what it claims, 2 usage or input error (or an archive that cannot
// be listed at all).
// An archive is reported tenant by tenant: one line each, `ok  <tenant>: ...` on stdout or
// `BROKEN <tenant>: <kind>: <message>` on stderr followed by the break's place (file, seq,
// expected, found), then a summary. With --json, stdout carries one JSON object per line: one per
// tenant ({"type":"tenant", ...TenantResult}), one for a break outside every tenant
// ({"type":"outside","break":...}), then {"type":"summary", ...}.
// A directory is a copy of the bucket (events/..., checkpoints/...), e.g. made with
// `aws s3 sync s3://<bucket> ./copy`; a URL is read in place over the S3 API (credentials and
// endpoint from the environment: verifier/archive-source.ts). keys.json is the document from
// GET /.well-known/audit-log-keys; for a directory it defaults to <dir>/audit-log-keys.json, for a
// URL or a proof it must be given (keys are trusted only from where you fetched them, not from
// the bucket or the service's answer). proof.json is a saved answer of GET /v1/events/:id/proof;
// answer.json one of GET /v1/integrity/consistency?from=&to= between two checkpoints you saved.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { issuesText } from '../core/errors'
import { publicKeyDocumentSchema } from '../core/integrity/checkpoint'
import { type ArchiveSource, sourceFor } from './archive-source'
import { checkConsistency, checkProof, type ProofProblem } from './check-proof'
import { type Break, type TenantResult, verifyArchive } from './verify-archive'

const usageOf = (prog: string) =>
  [
    `usage: ${prog} <archive dir | s3://bucket[/prefix] | r2://bucket[/prefix]> [--keys keys.json] [--json]`,
    `       ${prog} --proof proof.json --keys keys.json`,
    `       ${prog} --consistency answer.json --from older.json --to newer.json --keys keys.json`,
  ].join('\n')

/**
 * Runs the verifier on `args` (the words after the command): prints the report and sets the
 * exit code, or exits 2 on a usage or input error. `prog` names the command in the usage text.
 */
export async function runVerify(args: string[], prog = 'npm run verify --'): Promise<void> {
  const USAGE = usageOf(prog)
  const flagValue = (flag: string) => {
    const i = args.indexOf(flag)
    return i >= 0 ? (args[i + 1] ?? '') : undefined
  }
  const keysArg = flagValue('--keys')
  const proofArg = flagValue('--proof')
  const consistencyArg = flagValue('--consistency')
  const json = args.includes('--json')
  const VALUED = ['--keys', '--proof', '--consistency', '--from', '--to']
  const dir = args.find((a, i) => !a.startsWith('--') && !VALUED.includes(args[i - 1] ?? ''))
  function usage(why: string): never {
    console.error(`${why}\n${USAGE}`)
    process.exit(2)
  }

  function readJson(path: string, what: string): unknown {
    try {
      return JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      return usage(`${path} is not JSON: expected ${what}`)
    }
  }

  function loadKeys(path: string) {
    if (!existsSync(path))
      usage(`no public keys at ${path}: save GET /.well-known/audit-log-keys there or pass --keys`)
    const parsed = publicKeyDocumentSchema.safeParse(
      readJson(path, 'the document from GET /.well-known/audit-log-keys'),
    )
    if (!parsed.success) {
      console.error(`${path} is not a key document: ${issuesText(parsed.error.issues)}`)
      process.exit(2)
    }
    if (parsed.data.development)
      console.warn('warning: these are development keys; the archive proves nothing to a third party')
    return parsed.data
  }

  function notProven(p: ProofProblem): never {
    console.error(`NOT PROVEN: ${p.kind}: ${p.message}`)
    if (p.expected !== undefined) console.error(`  expected: ${p.expected}`)
    if (p.found !== undefined) console.error(`  found:    ${p.found}`)
    process.exit(1)
  }

  /** A file a flag names, that must exist. */
  function fileOf(flag: string, what: string): string {
    const path = flagValue(flag)
    if (!path) usage(`${flag} needs the file holding ${what}`)
    if (!existsSync(path)) usage(`no ${what} at ${path}`)
    return path
  }

  /**
   * The keys for checking a saved answer (--proof or --consistency): only from --keys, since the
   * service's answer cannot vouch for its own keys; one check per run.
   */
  function answerKeys() {
    if (dir || (proofArg !== undefined && consistencyArg !== undefined))
      usage('pass one of an archive, --proof or --consistency')
    if (json) usage('--json applies to an archive')
    if (!keysArg) usage('pass --keys with the document from GET /.well-known/audit-log-keys')
    return loadKeys(keysArg)
  }

  if (consistencyArg !== undefined) {
    const keys = answerKeys()
    const answer = 'the answer of GET /v1/integrity/consistency'
    const result = await checkConsistency(
      readJson(fileOf('--consistency', answer), answer),
      readJson(fileOf('--from', 'the older checkpoint'), 'a signed checkpoint'),
      readJson(fileOf('--to', 'the newer checkpoint'), 'a signed checkpoint'),
      keys,
    )
    if (!result.ok) notProven(result.problem)
    console.log(
      `ok  ${result.tenant}: the checkpoint of ${result.to.time} (seq ${result.to.seq}) extends the one of ${result.from.time} (seq ${result.from.seq})`,
    )
    process.exit(0)
  }

  if (proofArg !== undefined) {
    const keys = answerKeys()
    const what = 'the answer of GET /v1/events/:id/proof'
    const result = await checkProof(readJson(fileOf('--proof', what), what), keys)
    if (!result.ok) notProven(result.problem)
    const c = result.checkpoint
    console.log(
      `ok  event ${result.id} (${result.tenant}, seq ${result.seq}) is in the checkpoint of ${c.time} (seq ${c.seq}), signed by ${c.key_id}`,
    )
    process.exit(0)
  }

  if (!dir) usage('name an archive, or a proof with --proof')
  const isUrl = /^(s3|r2):\/\//.test(dir)
  if (isUrl && !keysArg) usage(`${dir}: pass --keys with the document from GET /.well-known/audit-log-keys`)
  const keys = loadKeys(keysArg ?? join(dir, 'audit-log-keys.json'))
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
  const broken = result.tenants.filter((t) => !t.ok)
  const events = result.tenants.reduce((n, t) => n + t.events, 0)
  for (const w of result.warnings) console.warn(`warning: ${w}`)

  function printBreak(label: string, b: Break) {
    console.error(`BROKEN ${label}: ${b.kind}: ${b.message}`)
    if (b.file) console.error(`  file: ${b.file}${b.line ? `, line ${b.line}` : ''}`)
    if (b.seq !== undefined) console.error(`  seq: ${b.seq}`)
    if (b.expected !== undefined) console.error(`  expected: ${b.expected}\n  found:    ${b.found}`)
  }
  const held = (t: TenantResult) =>
    `${t.events} events and ${t.checkpoints} checkpoints verified before the break`

  if (json) {
    const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
    for (const t of result.tenants) line({ type: 'tenant', ...t })
    if (result.outside) line({ type: 'outside', ok: false, break: result.outside })
    line({
      type: 'summary',
      ok: result.ok,
      tenants: result.tenants.length,
      broken: broken.length,
      outside: result.outside !== undefined,
      events,
      seconds: Number(seconds.toFixed(3)),
      warnings: result.warnings,
    })
  } else {
    if (result.outside) printBreak('outside any tenant', result.outside)
    for (const t of result.tenants) {
      if (t.break) {
        printBreak(t.tenant, t.break)
        console.error(`  held: ${held(t)}`)
      } else
        console.log(
          `ok  ${t.tenant}: ${t.events} events in ${t.files} files, ${t.checkpoints} checkpoints${expiredText(t.expired)}${t.head ? `, head ${t.head}` : ''}`,
        )
    }
    if (result.ok) console.log(`verified ${events} events in ${seconds.toFixed(2)} s`)
    else
      console.error(
        `BROKEN: ${broken.length} of ${result.tenants.length} tenants${result.outside ? ', and an object outside every tenant' : ''}; ${events} events verified in ${seconds.toFixed(2)} s`,
      )
  }
  // Not process.exit: stdout may be a pipe still being written.
  process.exitCode = result.ok ? 0 : 1
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runVerify(process.argv.slice(2))

/** `, 3 expired (transient 3)`: tombstones verified, per retention class. */
function expiredText(expired: Record<string, number> | undefined): string {
  if (!expired) return ''
  const n = Object.values(expired).reduce((a, b) => a + b, 0)
  return `, ${n} expired (${Object.entries(expired)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})`
}

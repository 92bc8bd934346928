// athena ddl|query|retention-rules: the analyst commands (athena/cli.ts) behind strict flags.
import { type Command, parse, UsageError } from '../lib/args'

const s = { type: 'string' } as const
const b = { type: 'boolean' } as const

export const athenaDdl: Command = {
  name: 'athena ddl',
  usage: [
    'athena ddl --bucket B [--prefix P] [--database audit_log] [--table events] [--since YYYY-MM-DD]',
    '  Prints the CREATE EXTERNAL TABLE statement for the S3 mirror.',
  ].join('\n'),
  options: { bucket: s, prefix: s, database: s, table: s, since: s },
}
export const athenaQuery: Command = {
  name: 'athena query',
  usage: [
    'athena query --tenant T --from YYYY-MM-DD --to YYYY-MM-DD [--actor-id ID] [--actor-type T] [--action A]',
    '    [--target-type T --target-id ID [--include-children]] [--source S] [--outcome success|failure]',
    '    [--correlation-id C] [--ip IP] [--since RFC3339] [--until RFC3339] [--include-audit-reads]',
    '    [--limit N] [--format ndjson|csv] [--database audit_log] [--table events] [--workgroup W]',
    '    [--output s3://bucket/results/] [--max-days 31] [--endpoint URL] [--region R] [--hash-key-from-env]',
    '  Runs a search in Athena over the mirror (credentials from the AWS chain). --hash-key-from-env hashes',
    "  the values of hashed fields (--ip) with AUDIT_LOG_HASH_KEY, the tenant's key (athena hash-key).",
  ].join('\n'),
  options: {
    tenant: s,
    from: s,
    to: s,
    'actor-id': s,
    'actor-type': s,
    action: s,
    'target-type': s,
    'target-id': s,
    'include-children': b,
    source: s,
    outcome: s,
    'correlation-id': s,
    ip: s,
    since: s,
    until: s,
    'include-audit-reads': b,
    limit: s,
    format: s,
    database: s,
    table: s,
    workgroup: s,
    output: s,
    'max-days': s,
    endpoint: s,
    region: s,
    'hash-key-from-env': b,
  },
}
export const athenaRetention: Command = {
  name: 'athena retention-rules',
  usage: [
    'athena retention-rules [--config retention.config.json] [--bucket audit-log-archive]',
    '  Prints the bucket lifecycle rules for the retention classes.',
  ].join('\n'),
  options: { config: s, bucket: s },
}

export const athenaHashKey: Command = {
  name: 'athena hash-key',
  usage: [
    'athena hash-key --tenant T',
    "  Prints the tenant's HMAC key (base64url) for athena query --hash-key-from-env, derived from",
    '  PII_KEYS in the environment (the secret: keep the output as secret as the key ring).',
  ].join('\n'),
  options: { tenant: s },
}

export async function runAthenaCommand(sub: string | undefined, argv: string[]): Promise<number> {
  const cmd =
    sub === 'ddl'
      ? athenaDdl
      : sub === 'query'
        ? athenaQuery
        : sub === 'retention-rules'
          ? athenaRetention
          : sub === 'hash-key'
            ? athenaHashKey
            : undefined
  if (!cmd)
    throw new UsageError(
      sub
        ? `unknown command: athena ${sub}`
        : 'athena needs a command: ddl, query, retention-rules or hash-key',
    )
  const p = parse(cmd, argv)
  if (!p) return 0
  const args: string[] = [sub ?? '']
  for (const [flag, v] of Object.entries(p.values)) {
    if (!(flag in (cmd.options ?? {}))) continue
    if (v === true) args.push(`--${flag}`)
    else if (typeof v === 'string') args.push(`--${flag}`, v)
  }
  // The AWS SDK loads only for a command that runs.
  const { runAthena } = await import('../../athena/cli')
  await runAthena(args)
  return Number(process.exitCode ?? 0)
}

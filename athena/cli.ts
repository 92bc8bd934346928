// Analyst CLI.
//   npm run athena -- ddl --bucket my-audit-mirror [--prefix p] [--database audit_log] [--table events] [--since 2024-01-01]
//   npm run athena -- query --tenant acme --from 2026-01-01 --to 2026-01-07 [--actor-id u_1] [--action 'user.*']
//       [--target-type order --target-id 500 [--include-children]] [--source s] [--outcome failure]
//       [--correlation-id c] [--actor-type user] [--ip 198.51.100.7] [--since RFC3339] [--until RFC3339]
//       [--include-audit-reads] [--limit 1000] [--format ndjson|csv] [--database audit_log] [--table events]
//       [--workgroup primary] [--output s3://bucket/athena-results/] [--max-days 31] [--endpoint URL] [--region r]
//   npm run athena -- retention-rules [--config retention.config.json] [--bucket audit-log-archive]
//   npm run athena -- hash-key --tenant acme   (the tenant's HMAC key, from PII_KEYS in the environment)
// query --hash-key-from-env hashes the values of hashed fields (--ip) with AUDIT_LOG_HASH_KEY.
// Credentials come from the usual AWS chain (environment, profile, role).
import { pathToFileURL } from 'node:url'
import { AthenaClient } from '@aws-sdk/client-athena'
import { stringify } from 'csv-stringify/sync'
import { ZodError } from 'zod'
import { exportHashKey, parsePiiKeys } from '../core/privacy/pii-keys'
import { runQuery } from './client'
import { athenaDdl } from './ddl'
import { type AthenaQuery, COLUMNS, HASH_KEY_ENV } from './query'
import { loadRetentionConfig, retentionRules } from './retention-rules'

/**
 * Runs one analyst command (`argv`: the command, then its flags): prints its answer, or exits 2
 * with the reason on a usage or input error.
 */
export async function runAthena(argv: string[]): Promise<void> {
  const [command, ...args] = argv
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const fail = (msg: string): never => {
    console.error(msg)
    process.exit(2)
  }

  try {
    if (command === 'ddl') {
      const bucket = opt('bucket') ?? fail('ddl needs --bucket')
      console.log(
        athenaDdl({
          bucket,
          prefix: opt('prefix'),
          database: opt('database'),
          table: opt('table'),
          since: opt('since'),
        }),
      )
    } else if (command === 'query') {
      const database = opt('database') ?? 'audit_log'
      const client = new AthenaClient({
        region: opt('region') ?? process.env.AWS_REGION ?? 'us-east-1',
        ...(opt('endpoint') ? { endpoint: opt('endpoint') } : {}),
      })
      const asked: AthenaQuery = {
        tenant: opt('tenant') ?? fail('query needs --tenant'),
        from: opt('from') ?? fail('query needs --from YYYY-MM-DD'),
        to: opt('to') ?? fail('query needs --to YYYY-MM-DD'),
        actor_id: opt('actor-id'),
        actor_type: opt('actor-type') as AthenaQuery['actor_type'],
        action: opt('action'),
        target_type: opt('target-type'),
        target_id: opt('target-id'),
        include_children: args.includes('--include-children') || undefined,
        source: opt('source'),
        outcome: opt('outcome') as 'success' | 'failure' | undefined,
        correlation_id: opt('correlation-id'),
        ip: opt('ip'),
        since: opt('since'),
        until: opt('until'),
        include_audit_reads: args.includes('--include-audit-reads') || undefined,
        limit: opt('limit') ? Number(opt('limit')) : undefined,
      }
      const hashKey = args.includes('--hash-key-from-env')
        ? (process.env[HASH_KEY_ENV] ??
          fail(`--hash-key-from-env needs ${HASH_KEY_ENV} (athena hash-key prints it)`))
        : undefined
      const rows = await runQuery(client, asked, {
        database,
        hashKey,
        table: opt('table'),
        workGroup: opt('workgroup'),
        outputLocation: opt('output'),
        maxDays: opt('max-days') ? Number(opt('max-days')) : undefined,
      })
      if (opt('format') === 'csv')
        process.stdout.write(stringify(rows, { header: true, columns: [...COLUMNS] }))
      else for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`)
    } else if (command === 'hash-key') {
      const tenant = opt('tenant') ?? fail('hash-key needs --tenant')
      const ring = parsePiiKeys(process.env.PII_KEYS ?? fail('hash-key needs PII_KEYS in the environment'))
      // Hashes use the oldest key of the ring (core/privacy/pii-keys.ts).
      console.log(await exportHashKey(ring[0]!.secret, tenant))
    } else if (command === 'retention-rules') {
      const rules = retentionRules(loadRetentionConfig(opt('config')), opt('bucket'))
      console.log(JSON.stringify(rules, null, 2))
    } else {
      fail('usage: npm run athena -- ddl|query|retention-rules ... (see athena/cli.ts)')
    }
  } catch (err) {
    if (err instanceof ZodError)
      fail(err.issues.map((i) => `--${i.path.join('.').replace(/_/g, '-')}: ${i.message}`).join('\n'))
    fail((err as Error).message)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runAthena(process.argv.slice(2))

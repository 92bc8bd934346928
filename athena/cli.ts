// npm run athena:ddl -- --bucket my-audit-mirror [--prefix p] [--database audit_log] [--table events] [--since 2024-01-01]
import { athenaDdl } from './ddl'

const args = process.argv.slice(2)
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const bucket = opt('bucket')
if (!bucket) {
  console.error(
    'usage: npm run athena:ddl -- --bucket <bucket> [--prefix <p>] [--database <db>] [--table <t>] [--since YYYY-MM-DD]',
  )
  process.exit(2)
}
try {
  console.log(
    athenaDdl({
      bucket,
      prefix: opt('prefix'),
      database: opt('database'),
      table: opt('table'),
      since: opt('since'),
    }),
  )
} catch (err) {
  console.error((err as Error).message)
  process.exit(2)
}

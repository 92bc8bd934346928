// The `audit-log` command: dispatch to the command groups, global flags, exit codes. A group's
// module is loaded only when it runs, so a command starts without loading the others.
import { EXIT, Failure, GLOBAL_HELP, UsageError } from './lib/args'

const GROUPS: Record<string, string> = {
  events: "events send|search|tail|get|export   a tenant's events (API key)",
  keys: 'keys create|list|revoke              API keys (admin token)',
  verify: 'verify <dir|s3://...|r2://...>       check an archive copy, a proof or a consistency answer',
  archive: 'archive pull <dir>|status|reconcile|compact   the archive (admin token)',
  athena: 'athena ddl|query|retention-rules     Athena over the S3 mirror',
  dlq: 'dlq list|replay                      parked dead letters (admin token)',
  shards: 'shards list|move                     D1 shards; move a tenant (admin token)',
  'signing-keys': 'signing-keys new|retire              SIGNING_KEYS entries (offline)',
}

export const USAGE = [
  'usage: audit-log <command> [options]',
  '',
  'commands:',
  ...Object.values(GROUPS).map((g) => `  ${g}`),
  '',
  GLOBAL_HELP,
  '',
  "Run `audit-log <command> --help` for a command's options.",
  'exit codes: 0 ok, 1 failure (the service refused, a check found a break, an export was cut short), 2 usage',
].join('\n')

const isHelp = (a: string | undefined) => a === '--help' || a === '-h'
const VALUED_GLOBALS = ['--url', '--key']
const BARE_GLOBALS = ['--json']

/** Global flags written before the command move after it, where every command parses them. */
function splitLeading(argv: string[]): { words: string[]; globals: string[] } {
  const globals: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (!a.startsWith('-') || isHelp(a)) break
    const name = a.split('=')[0] ?? a
    if (BARE_GLOBALS.includes(a) || (VALUED_GLOBALS.includes(name) && a.includes('='))) globals.push(a)
    else if (VALUED_GLOBALS.includes(a)) {
      const v = argv[i + 1]
      if (v === undefined) throw new UsageError(`${a} needs a value`)
      globals.push(a, v)
      i++
    } else throw new UsageError(`unknown option ${a} before the command`)
  }
  return { words: argv.slice(i), globals }
}

async function dispatch(argv: string[]): Promise<number> {
  const { words, globals } = splitLeading(argv)
  const [group, ...rest] = words
  if (group === undefined) {
    process.stderr.write(`${USAGE}\n`)
    return EXIT.usage
  }
  if (isHelp(group) || group === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  if (group === 'verify') return (await import('./commands/verify')).runVerifyCommand([...rest, ...globals])
  const [sub, ...args] = rest
  if (GROUPS[group] && isHelp(sub)) {
    process.stdout.write(
      `usage: audit-log ${GROUPS[group]}\n\nRun \`audit-log ${group} <command> --help\` for its options.\n`,
    )
    return EXIT.ok
  }
  const tail = [...args, ...globals]
  switch (group) {
    case 'events':
      return (await import('./commands/events')).runEvents(sub, tail)
    case 'keys':
      return (await import('./commands/keys')).runKeys(sub, tail)
    case 'archive':
      return (await import('./commands/archive')).runArchive(sub, tail)
    case 'athena':
      return (await import('./commands/athena')).runAthenaCommand(sub, tail)
    case 'dlq':
      return (await import('./commands/dlq')).runDlq(sub, tail)
    case 'shards':
      return (await import('./commands/shards')).runShards(sub, tail)
    case 'signing-keys':
      return (await import('./commands/signing-keys')).runSigningKeys(sub, tail)
    default:
      throw new UsageError(`unknown command: ${group}`)
  }
}

/** Runs one command line; resolves to its exit code. Messages go to stderr. */
export async function main(argv: string[]): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'))
  const named = words[0] === 'verify' ? ['verify'] : words.slice(0, 2)
  const hint = GROUPS[words[0] ?? ''] ? `audit-log ${named.join(' ')} --help` : 'audit-log --help'
  try {
    return await dispatch(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`audit-log: ${err.message}\nRun \`${hint}\` for usage.\n`)
      return EXIT.usage
    }
    if (err instanceof Failure) {
      process.stderr.write(`audit-log: ${err.message}\n`)
      return EXIT.failure
    }
    process.stderr.write(`audit-log: ${(err as Error).stack ?? String(err)}\n`)
    return EXIT.failure
  }
}

// verify: the offline verifier (verifier/cli.ts) behind strict flags.
import { type Command, type Parsed, parse } from '../lib/args'

export const verifyCommand: Command = {
  name: 'verify',
  usage: [
    'verify <archive dir | s3://bucket[/prefix] | r2://bucket[/prefix]> [--keys keys.json] [--json]',
    '       verify --proof proof.json --keys keys.json',
    '       verify --consistency answer.json --from older.json --to newer.json --keys keys.json',
    '  Checks an archive copy alone (e.g. made with `audit-log archive pull <dir>`), tenant by tenant,',
    '  and names the first break; or a saved proof or consistency answer. keys.json is the document',
    '  of GET /.well-known/audit-log-keys (for a directory, <dir>/audit-log-keys.json by default).',
    '  Exit 0 verified, 1 broken or not proven, 2 usage or input error.',
  ].join('\n'),
  options: {
    keys: { type: 'string' },
    proof: { type: 'string' },
    consistency: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
  positionals: [0, 1],
}

/** The parsed flags back as the verifier's own words. */
export function verifierArgs(p: Parsed): string[] {
  const args = [...p.positionals]
  for (const flag of ['keys', 'proof', 'consistency', 'from', 'to']) {
    const v = p.values[flag]
    if (typeof v === 'string') args.push(`--${flag}`, v)
  }
  if (p.globals.json) args.push('--json')
  return args
}

export async function runVerifyCommand(argv: string[]): Promise<number> {
  const p = parse(verifyCommand, argv)
  if (!p) return 0
  const { runVerify } = await import('../../verifier/cli')
  await runVerify(verifierArgs(p), 'audit-log verify')
  return Number(process.exitCode ?? 0)
}

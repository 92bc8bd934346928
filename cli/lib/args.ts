// Strict argument parsing for every command: util.parseArgs with strict: true, the global
// options, --help, and the usage error (exit 2).
import { existsSync, readFileSync } from 'node:fs'
import { type ParseArgsConfig, parseArgs } from 'node:util'

/** Exit codes: 0 ok, 1 a failure (the service refused, or what was checked is broken), 2 usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

export class UsageError extends Error {}

/** A failure that is not a usage error: printed on stderr, exit 1. */
export class Failure extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>

export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

export const GLOBAL_HELP = [
  'global options:',
  '  --url URL    the Worker (env AUDIT_LOG_URL; default http://localhost:8787)',
  '  --key KEY    API key or admin token (env AUDIT_LOG_KEY; admin commands also ADMIN_TOKEN or .dev.vars)',
  '  --json       one JSON object per line on stdout',
  '  -h, --help   print the usage and do nothing else',
].join('\n')

export type Globals = { url: string; key: string | undefined; json: boolean }

export type Command = {
  /** e.g. "events search" */
  name: string
  usage: string
  options?: Options
  /** How many positional arguments: [min, max]. */
  positionals?: [number, number]
}

export type Parsed = {
  globals: Globals
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

/**
 * Parses `argv` for `cmd`, or returns null after printing the usage for --help (the caller then
 * does nothing). Throws UsageError on an unknown flag, a missing value or a wrong argument count.
 */
export function parse(cmd: Command, argv: string[]): Parsed | null {
  // --help wins over everything else on the line, even a flag the command does not know.
  const end = argv.indexOf('--')
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`usage: audit-log ${cmd.usage}\n\n${GLOBAL_HELP}\n`)
    return null
  }
  let result: ReturnType<typeof parseArgs>
  try {
    result = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError(`${cmd.name}: ${(err as Error).message.split('. To specify')[0]}`)
  }
  const values = result.values as Parsed['values']
  const [min, max] = cmd.positionals ?? [0, 0]
  const n = result.positionals.length
  if (n < min) throw new UsageError(`${cmd.name}: missing argument`)
  if (n > max) throw new UsageError(`${cmd.name}: unexpected argument ${result.positionals[max]}`)
  return {
    globals: {
      url: (
        str(values.url) ??
        process.env.AUDIT_LOG_URL ??
        `http://localhost:${process.env.PORT ?? 8787}`
      ).replace(/\/+$/, ''),
      key: str(values.key) ?? process.env.AUDIT_LOG_KEY,
      json: values.json === true,
    },
    values,
    positionals: result.positionals,
  }
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/** A whole number flag within [min, max]. */
export function intFlag(
  values: Parsed['values'],
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = str(values[name])
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`)
  return n
}

/** The credential for operator commands: --key, AUDIT_LOG_KEY, ADMIN_TOKEN, or .dev.vars. */
export function adminKey(g: Globals): string {
  let token = g.key ?? process.env.ADMIN_TOKEN
  if (!token && existsSync('.dev.vars'))
    token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1]?.trim()
  if (!token) throw new UsageError('pass --key (or set AUDIT_LOG_KEY or ADMIN_TOKEN) with the admin token')
  return token
}

/** The API key for event commands: --key or AUDIT_LOG_KEY. */
export function apiKey(g: Globals): string {
  if (!g.key) throw new UsageError('pass --key (or set AUDIT_LOG_KEY) with an API key')
  return g.key
}

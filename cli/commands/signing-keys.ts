// signing-keys new|retire: SIGNING_KEYS entries, made offline (no Worker is called).
import { randomBytes } from 'node:crypto'
import { publicKeyOf } from '../../scripts/lib/ed25519'
import { type Command, parse, UsageError } from '../lib/args'
import { jsonLine } from '../lib/output'

export const signingKeysNew: Command = {
  name: 'signing-keys new',
  usage: [
    'signing-keys new <key id> [not_before, RFC 3339]',
    '  Prints one SIGNING_KEYS entry (a fresh random Ed25519 seed) on stdout and its public key on',
    '  stderr. Append the entry to the JSON array stored with `wrangler secret put SIGNING_KEYS`.',
  ].join('\n'),
  positionals: [1, 2],
}
export const signingKeysRetire: Command = {
  name: 'signing-keys retire',
  usage: [
    "signing-keys retire '<SIGNING_KEYS entry as JSON>' [not_after, RFC 3339]",
    '  Prints the entry without its seed ({id, public_key, not_before, not_after}): put it in',
    '  SIGNING_KEYS in place of the entry, so what the key signed still verifies.',
  ].join('\n'),
  positionals: [1, 2],
}

const rfc3339 = (v: string, what: string) => {
  if (Number.isNaN(Date.parse(v))) throw new UsageError(`${what} ${v} is not an RFC 3339 time`)
  return new Date(v).toISOString()
}

export async function runSigningKeys(sub: string | undefined, argv: string[]): Promise<number> {
  if (sub === 'new') {
    const p = parse(signingKeysNew, argv)
    if (!p) return 0
    const [id = '', notBefore = new Date().toISOString()] = p.positionals
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new UsageError('the key id is 1-64 of [A-Za-z0-9._-]')
    const seed = randomBytes(32)
    jsonLine({ id, seed: seed.toString('base64url'), not_before: rfc3339(notBefore, 'not_before') })
    process.stderr.write(
      `public key (base64url, published at /.well-known/audit-log-keys): ${publicKeyOf(seed)}\n`,
    )
    return 0
  }
  if (sub === 'retire') {
    const p = parse(signingKeysRetire, argv)
    if (!p) return 0
    const [json = '', notAfter] = p.positionals
    let entry: { id?: unknown; seed?: unknown; not_before?: unknown; not_after?: unknown } | null
    try {
      entry = JSON.parse(json) as typeof entry
    } catch {
      throw new UsageError('the first argument is a SIGNING_KEYS entry as JSON')
    }
    if (
      typeof entry?.seed !== 'string' ||
      !/^[A-Za-z0-9_-]{43}$/.test(entry.seed) ||
      typeof entry.id !== 'string'
    )
      throw new UsageError(
        'the entry needs "id" and "seed" (32 bytes, base64url), as signing-keys new prints it',
      )
    const end = notAfter ?? (typeof entry.not_after === 'string' ? entry.not_after : new Date().toISOString())
    jsonLine({
      id: entry.id,
      public_key: publicKeyOf(Buffer.from(entry.seed, 'base64url')),
      not_before: entry.not_before,
      not_after: rfc3339(end, 'not_after'),
    })
    return 0
  }
  throw new UsageError(
    sub ? `unknown command: signing-keys ${sub}` : 'signing-keys needs a command: new or retire',
  )
}

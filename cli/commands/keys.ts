// keys create|list|revoke: API keys, with the admin token (or a tenant admin key).
import { adminKey, type Command, parse, str, UsageError } from '../lib/args'
import { api } from '../lib/http'
import { jsonLine, line, printObject } from '../lib/output'

const SCOPES = ['events:write', 'events:read', 'admin']

export const keysCreate: Command = {
  name: 'keys create',
  usage: [
    'keys create --tenant T --scope events:write [--scope events:read ...] [--name N] [--expires-at RFC3339]',
    '  Mints an API key (POST /v1/keys); the key is shown only once.',
  ].join('\n'),
  options: {
    tenant: { type: 'string' },
    scope: { type: 'string', multiple: true },
    name: { type: 'string' },
    'expires-at': { type: 'string' },
  },
}

export const keysList: Command = {
  name: 'keys list',
  usage: 'keys list\n  Lists API keys (GET /v1/keys), never their secrets.',
}

export const keysRevoke: Command = {
  name: 'keys revoke',
  usage:
    'keys revoke <key id> [--cascade]\n  Revokes a key (DELETE /v1/keys/:id); --cascade also the keys it minted.',
  options: { cascade: { type: 'boolean' } },
  positionals: [1, 1],
}

type KeyView = {
  id: string
  tenant: string
  scopes: string[]
  name: string | null
  revoked_at?: string | null
}

export async function runKeys(sub: string | undefined, argv: string[]): Promise<number> {
  if (sub === 'create') {
    const p = parse(keysCreate, argv)
    if (!p) return 0
    const tenant = str(p.values.tenant)
    if (!tenant) throw new UsageError('keys create needs --tenant')
    const scopes = ((p.values.scope as string[] | undefined) ?? []).flatMap((s) => s.split(','))
    if (scopes.length === 0) throw new UsageError(`keys create needs --scope (${SCOPES.join(', ')})`)
    const bad = scopes.find((s) => !SCOPES.includes(s))
    if (bad) throw new UsageError(`unknown scope ${bad}: one of ${SCOPES.join(', ')}`)
    const body = { tenant, scopes, name: str(p.values.name), expires_at: str(p.values['expires-at']) }
    const created = await api(p.globals.url, adminKey(p.globals)).json<KeyView & { key: string }>(
      'POST',
      '/v1/keys',
      { body },
    )
    if (p.globals.json) jsonLine(created)
    else {
      line(created.key)
      process.stderr.write(
        `key ${created.id} for ${created.tenant} (${created.scopes.join(', ')}): shown only now\n`,
      )
    }
    return 0
  }
  if (sub === 'list') {
    const p = parse(keysList, argv)
    if (!p) return 0
    const { data } = await api(p.globals.url, adminKey(p.globals)).json<{ data: KeyView[] }>(
      'GET',
      '/v1/keys',
    )
    for (const k of data) {
      if (p.globals.json) jsonLine(k)
      else
        line(
          [
            k.id,
            k.tenant,
            k.scopes.join(','),
            k.name ?? '-',
            k.revoked_at ? `revoked ${k.revoked_at}` : 'active',
          ].join('\t'),
        )
    }
    return 0
  }
  if (sub === 'revoke') {
    const p = parse(keysRevoke, argv)
    if (!p) return 0
    const id = p.positionals[0] ?? ''
    const answer = await api(p.globals.url, adminKey(p.globals)).json(
      'DELETE',
      `/v1/keys/${encodeURIComponent(id)}`,
      { query: { cascade: p.values.cascade ? 'true' : undefined } },
    )
    printObject(answer, p.globals.json)
    return 0
  }
  throw new UsageError(sub ? `unknown command: keys ${sub}` : 'keys needs a command: create, list or revoke')
}

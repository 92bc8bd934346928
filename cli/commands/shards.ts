// shards list|move: the D1 shards, and moving a tenant from one to another.
import { adminKey, type Command, parse, UsageError } from '../lib/args'
import { api } from '../lib/http'
import { jsonLine, line, printObject } from '../lib/output'

export const shardsList: Command = {
  name: 'shards list',
  usage: 'shards list\n  The D1 shards, their tenant counts and moves under way (GET /v1/admin/shards).',
  options: {},
}
export const shardsMove: Command = {
  name: 'shards move',
  usage:
    'shards move <tenant> <shard> [--abort]\n  Moves the tenant to the shard and waits until the move is done (POST /v1/admin/shards/moves,\n  repeated). The move is resumable: run the same command again after an interruption.\n  --abort gives up a move that has not switched yet.',
  options: { abort: { type: 'boolean' } },
  positionals: [2, 2],
}

type MoveStatus = {
  tenant: string
  from: string
  to: string
  state: string
  copied: Record<string, number>
  wait_ms: number
}

export async function runShards(sub: string | undefined, argv: string[]): Promise<number> {
  const cmd = sub === 'list' ? shardsList : sub === 'move' ? shardsMove : undefined
  if (!cmd)
    throw new UsageError(sub ? `unknown command: shards ${sub}` : 'shards needs a command: list or move')
  const p = parse(cmd, argv)
  if (!p) return 0
  const client = api(p.globals.url, adminKey(p.globals))
  if (sub === 'list') {
    printObject(await client.json('GET', '/v1/admin/shards'), p.globals.json)
    return 0
  }
  const [tenant, to] = p.positionals as [string, string]
  for (;;) {
    const abort = p.values.abort === true
    const s = await client.json<MoveStatus>('POST', '/v1/admin/shards/moves', {
      body: abort ? { tenant, to, abort } : { tenant, to },
    })
    const rows = Object.values(s.copied).reduce((a, b) => a + b, 0)
    if (p.globals.json) jsonLine(s)
    else line(`${s.tenant}: ${s.from} -> ${s.to} ${s.state}${rows > 0 ? ` (${rows} rows copied)` : ''}`)
    if (s.state === 'done' || s.state === 'aborted') return 0
    if (s.wait_ms > 0) await new Promise((r) => setTimeout(r, s.wait_ms))
  }
}

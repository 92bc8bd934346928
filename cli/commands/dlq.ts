// dlq list|replay: the parked dead letters of the events queue.
import { adminKey, type Command, intFlag, parse, UsageError } from '../lib/args'
import { api } from '../lib/http'
import { printObject } from '../lib/output'

export const dlqList: Command = {
  name: 'dlq list',
  usage: 'dlq list [--limit N]\n  Lists parked dead letters with their reasons (GET /v1/admin/dead-letters).',
  options: { limit: { type: 'string' } },
}
export const dlqReplay: Command = {
  name: 'dlq replay',
  usage:
    'dlq replay [--limit N]\n  Replays parked dead letters through the queue (POST /v1/admin/dead-letters/replay).',
  options: { limit: { type: 'string' } },
}

export async function runDlq(sub: string | undefined, argv: string[]): Promise<number> {
  const cmd = sub === 'list' ? dlqList : sub === 'replay' ? dlqReplay : undefined
  if (!cmd) throw new UsageError(sub ? `unknown command: dlq ${sub}` : 'dlq needs a command: list or replay')
  const p = parse(cmd, argv)
  if (!p) return 0
  const limit = intFlag(p.values, 'limit', 1, 1000)
  const answer = await api(p.globals.url, adminKey(p.globals)).json(
    sub === 'list' ? 'GET' : 'POST',
    sub === 'list' ? '/v1/admin/dead-letters' : '/v1/admin/dead-letters/replay',
    { query: { limit } },
  )
  printObject(answer, p.globals.json)
  return 0
}

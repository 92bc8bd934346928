// archive status|reconcile|compact|pull: the archive in R2, through the admin routes.
import { createWriteStream, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { adminKey, type Command, Failure, intFlag, type Parsed, parse, UsageError } from '../lib/args'
import { api, failureOf } from '../lib/http'
import { jsonLine, line, printObject, progress } from '../lib/output'

export const archiveStatus: Command = {
  name: 'archive status',
  usage: 'archive status\n  The mirror backlog: archive objects in R2 not yet (or not identically) in S3.',
}
export const archiveReconcile: Command = {
  name: 'archive reconcile',
  usage:
    'archive reconcile [--max N]\n  Copies what the S3 mirror is missing now (one bounded step, default 500 objects).',
  options: { max: { type: 'string' } },
}
export const archiveCompact: Command = {
  name: 'archive compact',
  usage: 'archive compact [--grace-days N]\n  Compacts closed days now (default grace 1 day).',
  options: { 'grace-days': { type: 'string' } },
}
export const archivePull: Command = {
  name: 'archive pull',
  usage: [
    'archive pull <dir> [--concurrency N]',
    '  Copies the archive (events/, checkpoints/, manifests/, as stored) and the public keys',
    '  (audit-log-keys.json) from the running Worker into <dir>, for `audit-log verify <dir>` and',
    '  DuckDB. Files already there with the same size are kept.',
  ].join('\n'),
  options: { concurrency: { type: 'string' } },
  positionals: [1, 1],
}

type Listing = { objects: { key: string; size: number }[]; next_cursor: string | null }
const PREFIXES = ['events/', 'checkpoints/', 'manifests/']

async function pull(p: Parsed): Promise<number> {
  const dir = resolve(p.positionals[0] ?? '')
  const concurrency = intFlag(p.values, 'concurrency', 1, 32) ?? 4
  const client = api(p.globals.url, adminKey(p.globals))
  const bar = progress()
  const objects: Listing['objects'] = []
  for (const prefix of PREFIXES) {
    let cursor: string | undefined
    do {
      const page = await client.json<Listing>('GET', '/v1/archive/objects', { query: { prefix, cursor } })
      objects.push(...page.objects)
      bar.update(`listing: ${objects.length} objects`)
      cursor = page.next_cursor ?? undefined
    } while (cursor)
  }
  mkdirSync(dir, { recursive: true })
  let copied = 0
  let kept = 0
  let bytes = 0
  let next = 0
  const fileOf = (key: string) => {
    const file = resolve(dir, key)
    if (relative(dir, file).startsWith('..') || !file.startsWith(dir + sep))
      throw new Failure(`refusing archive key outside the directory: ${key}`)
    return file
  }
  const sameSize = (file: string, size: number) => {
    try {
      return statSync(file).size === size
    } catch {
      return false
    }
  }
  const worker = async () => {
    while (next < objects.length) {
      const o = objects[next++]
      if (!o) break
      const file = fileOf(o.key)
      if (sameSize(file, o.size)) kept++
      else {
        const res = await client.raw('GET', `/v1/archive/objects/${encodeURIComponent(o.key)}`)
        if (!res.ok || !res.body) throw await failureOf(res, `archive object ${o.key}`)
        mkdirSync(dirname(file), { recursive: true })
        const tmp = `${file}.part`
        await pipeline(Readable.fromWeb(res.body as never), createWriteStream(tmp))
        renameSync(tmp, file)
        if (!sameSize(file, o.size))
          throw new Failure(`${o.key}: got ${statSync(file).size} bytes, listed ${o.size}`)
        copied++
        bytes += o.size
      }
      bar.update(`pulling: ${copied + kept} of ${objects.length} objects, ${(bytes / 1e6).toFixed(1)} MB`)
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(objects.length, 1)) }, worker))
  } finally {
    bar.done()
  }
  const keys = await fetch(`${p.globals.url}/.well-known/audit-log-keys`).catch((err: Error) => {
    throw new Failure(`cannot reach ${p.globals.url}: ${err.message}`)
  })
  if (!keys.ok) throw await failureOf(keys, 'GET /.well-known/audit-log-keys')
  writeFileSync(resolve(dir, 'audit-log-keys.json'), `${JSON.stringify(await keys.json(), null, 2)}\n`)
  const summary = { dir, objects: objects.length, copied, kept, bytes }
  if (p.globals.json) jsonLine(summary)
  else
    line(
      `pulled ${objects.length} objects into ${dir} (${copied} copied, ${kept} already there) and audit-log-keys.json`,
    )
  return 0
}

export async function runArchive(sub: string | undefined, argv: string[]): Promise<number> {
  const simple: Record<
    string,
    [Command, 'GET' | 'POST', string, (p: Parsed) => Record<string, number | undefined>]
  > = {
    status: [archiveStatus, 'GET', '/v1/archive/status', () => ({})],
    reconcile: [
      archiveReconcile,
      'POST',
      '/v1/archive/reconcile',
      (p) => ({ max: intFlag(p.values, 'max', 1, 10_000) }),
    ],
    compact: [
      archiveCompact,
      'POST',
      '/v1/archive/compact',
      (p) => ({ grace_days: intFlag(p.values, 'grace-days', 0, 365) }),
    ],
  }
  if (sub === 'pull') {
    const p = parse(archivePull, argv)
    return p ? pull(p) : 0
  }
  const entry = sub ? simple[sub] : undefined
  if (!entry)
    throw new UsageError(
      sub ? `unknown command: archive ${sub}` : 'archive needs a command: pull, status, reconcile or compact',
    )
  const [cmd, method, path, query] = entry
  const p = parse(cmd, argv)
  if (!p) return 0
  const q = query(p)
  printObject(await api(p.globals.url, adminKey(p.globals)).json(method, path, { query: q }), p.globals.json)
  return 0
}

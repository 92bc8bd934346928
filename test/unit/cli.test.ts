// The `audit-log` command, spawned as users run it: strict flags, --help that never acts, exit
// codes, and the HTTP calls it makes (against a recording stand-in of the Worker).
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { checkCsvExport, checkNdjsonExport } from '../../cli/lib/export-check'
import { csvHeader, csvLines, csvTrailer } from '../../core/search/export-format'

type Run = { code: number | null; stdout: string; stderr: string }
type Call = { method: string; url: string; auth: string | undefined; body: string }

let server: Server
let url: string
const calls: Call[] = []
let handler: (
  req: IncomingMessage,
  body: string,
) => { status: number; body: string; type?: string; headers?: Record<string, string> } = () => ({
  status: 500,
  body: '{}',
})

function cli(args: string[], { input, env }: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['cli/bin.js', ...args],
      { encoding: 'utf8', env: { ...process.env, AUDIT_LOG_URL: url, AUDIT_LOG_KEY: 'k', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })
}

/** Runs the command lines `n` at a time. */
async function all(lines: string[][], n = 4): Promise<Run[]> {
  const out: Run[] = []
  for (let i = 0; i < lines.length; i += n)
    out.push(...(await Promise.all(lines.slice(i, i + n).map((l) => cli(l)))))
  return out
}

const COMMANDS = [
  ['events', 'send'],
  ['events', 'search'],
  ['events', 'tail'],
  ['events', 'get'],
  ['events', 'export'],
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['verify'],
  ['archive', 'pull'],
  ['archive', 'status'],
  ['archive', 'reconcile'],
  ['archive', 'compact'],
  ['athena', 'ddl'],
  ['athena', 'query'],
  ['athena', 'retention-rules'],
  ['dlq', 'list'],
  ['dlq', 'replay'],
  ['shards', 'list'],
  ['shards', 'move'],
  ['signing-keys', 'new'],
  ['signing-keys', 'retire'],
]

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body })
      const answer = handler(req, body)
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json', ...answer.headers })
      res.end(answer.body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

beforeEach(() => {
  calls.length = 0
})

describe('audit-log: usage', { timeout: 60_000 }, () => {
  it('--help on every command prints its usage, exits 0 and calls nothing', async () => {
    // Whatever else is on the line, even a flag the command does not know, is not acted on.
    const runs = await all(COMMANDS.map((c, i) => [...c, i % 2 ? '-h' : '--help', '--no-such-flag', 'x']))
    for (const [i, r] of runs.entries()) {
      const name = COMMANDS[i % COMMANDS.length]!.join(' ')
      expect(r.code, `${name}: ${r.stderr}`).toBe(0)
      expect(r.stdout.split('\n')[0]).toContain(`usage: audit-log ${name}`)
    }
    expect(calls).toEqual([])
  }, 120_000)

  it('dlq replay --help replays nothing and keys create --help mints nothing', async () => {
    const replay = await cli(['dlq', 'replay', '--help'])
    const mint = await cli(['keys', 'create', '--tenant', 'acme', '--scope', 'events:read', '--help'])
    expect([replay.code, mint.code]).toEqual([0, 0])
    expect(replay.stdout).toContain('usage: audit-log dlq replay')
    expect(mint.stdout).toContain('usage: audit-log keys create')
    expect(calls).toEqual([])
  })

  it('the top-level and group help print the commands', async () => {
    const [top, group, none] = await all([['--help'], ['events', '--help'], []])
    expect(top!.code).toBe(0)
    for (const c of ['events send', 'keys create', 'archive pull', 'signing-keys new', 'dlq list'])
      expect(top!.stdout).toContain(c.split(' ')[0])
    expect(group!.stdout).toContain('events send|search|tail|get|export')
    expect(none!.code).toBe(2)
    expect(none!.stderr).toContain('usage: audit-log')
  })

  it('an unknown flag on every command exits 2 naming it, and calls nothing', async () => {
    const runs = await all(COMMANDS.map((c) => [...c, '--no-such-flag']))
    for (const [i, r] of runs.entries()) {
      expect(r.code, COMMANDS[i]!.join(' ')).toBe(2)
      expect(r.stderr).toContain("Unknown option '--no-such-flag'")
      expect(r.stderr).toContain(`audit-log ${COMMANDS[i]!.join(' ')} --help`)
    }
    expect(calls).toEqual([])
  }, 120_000)

  it('missing arguments and unknown commands exit 2 with a message', async () => {
    const cases: [string[], string][] = [
      [['events', 'get'], 'missing argument'],
      [['keys', 'revoke'], 'missing argument'],
      [['archive', 'pull'], 'missing argument'],
      [['signing-keys', 'new'], 'missing argument'],
      [['keys', 'create', '--scope', 'events:read'], 'needs --tenant'],
      [['keys', 'create', '--tenant', 'a'], 'needs --scope'],
      [['keys', 'create', '--tenant', 'a', '--scope', 'root'], 'unknown scope root'],
      [['keys', 'create', '--tenant'], "'--tenant <value>' argument missing"],
      [['events', 'get', 'a', 'b'], 'unexpected argument b'],
      [['events', 'export', '--format', 'xml'], '--format is ndjson or csv'],
      [['events', 'search', '--limit', '0'], '--limit must be a whole number'],
      [['events', 'nope'], 'unknown command: events nope'],
      [['nope'], 'unknown command: nope'],
      [['--bogus', 'keys', 'list'], 'unknown option --bogus'],
      [['events'], 'events needs a command'],
      [['athena', 'ddl'], 'ddl needs --bucket'],
      [['signing-keys', 'retire', 'not json'], 'SIGNING_KEYS entry as JSON'],
    ]
    const runs = await all(cases.map(([args]) => args))
    for (const [i, r] of runs.entries()) {
      expect(r.code, cases[i]![0].join(' ')).toBe(2)
      expect(r.stderr).toContain(cases[i]![1])
    }
    expect(calls).toEqual([])
  }, 120_000)

  it('events commands need an API key; admin commands say where the admin token comes from', async () => {
    const noKey = { AUDIT_LOG_KEY: '', ADMIN_TOKEN: '' }
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'AUDIT_LOG_KEY' && k !== 'ADMIN_TOKEN'),
    )
    const [events, keys] = await Promise.all([
      cli(['events', 'search'], { env: { ...env, ...noKey, AUDIT_LOG_KEY: undefined } }),
      cli(['keys', 'list'], { env: { ...env, AUDIT_LOG_KEY: undefined, ADMIN_TOKEN: undefined } }),
    ])
    expect(events.code).toBe(2)
    expect(events.stderr).toContain('--key')
    // keys list may find .dev.vars in a clone that has run `npm start`; without it, exit 2.
    if (keys.code === 2) expect(keys.stderr).toContain('admin token')
  })
})

describe('audit-log: calls', { timeout: 60_000 }, () => {
  it('keys create posts the body with the key from --key and prints the key alone', async () => {
    handler = () => ({
      status: 201,
      body: JSON.stringify({
        id: 'k_1',
        key: 'alk_secret',
        tenant: 'acme',
        scopes: ['events:read'],
        name: null,
      }),
    })
    const r = await cli([
      '--url',
      url,
      'keys',
      'create',
      '--tenant',
      'acme',
      '--scope',
      'events:read',
      '--key',
      'adm',
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('alk_secret\n')
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ method: 'POST', url: '/v1/keys', auth: 'Bearer adm' })
    expect(JSON.parse(calls[0]!.body)).toEqual({ tenant: 'acme', scopes: ['events:read'] })
    const j = await cli(['keys', 'create', '--tenant', 'acme', '--scope', 'events:read', '--json'])
    expect(JSON.parse(j.stdout)).toMatchObject({ id: 'k_1', key: 'alk_secret' })
  })

  it('a refused call exits 1 with the problem detail', async () => {
    handler = () => ({
      status: 403,
      type: 'application/problem+json',
      body: JSON.stringify({ title: 'Forbidden', status: 403, detail: 'Key lacks admin.' }),
    })
    const r = await cli(['dlq', 'list'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('403')
    expect(r.stderr).toContain('Key lacks admin.')
  })

  it('events search sends every filter and follows every page', async () => {
    const ev = (id: string) => ({
      id,
      occurred_at: '2026-01-01T00:00:00.000Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u1' },
      target: { type: 'user', id: 't1' },
    })
    handler = (req) => {
      const cursor = new URL(req.url ?? '', url).searchParams.get('cursor')
      if (!cursor)
        return { status: 200, body: JSON.stringify({ data: [ev('a'), ev('b')], next_cursor: 'c1' }) }
      return { status: 200, body: JSON.stringify({ data: [ev('c')], next_cursor: null }) }
    }
    const flags = [
      ['--actor-id', 'u1'],
      ['--actor-type', 'user'],
      ['--action', 'user.*'],
      ['--target-type', 'order'],
      ['--target-id', '5'],
      ['--include-children'],
      ['--source', 'web'],
      ['--outcome', 'failure'],
      ['--correlation-id', 'c9'],
      ['--ip', '198.51.100.7'],
      ['--since', '2026-01-01T00:00:00Z'],
      ['--until', '2026-01-02T00:00:00Z'],
      ['--include-audit-reads'],
    ].flat()
    const r = await cli(['events', 'search', ...flags, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['a', 'b', 'c'])
    expect(calls).toHaveLength(2)
    const q = new URL(calls[0]!.url, url).searchParams
    expect(Object.fromEntries(q)).toEqual({
      actor_id: 'u1',
      actor_type: 'user',
      action: 'user.*',
      target_type: 'order',
      target_id: '5',
      include_children: 'true',
      source: 'web',
      outcome: 'failure',
      correlation_id: 'c9',
      ip: '198.51.100.7',
      since: '2026-01-01T00:00:00Z',
      until: '2026-01-02T00:00:00Z',
      include_audit_reads: 'true',
      limit: '1000',
    })
    expect(new URL(calls[1]!.url, url).searchParams.get('cursor')).toBe('c1')
    const limited = await cli(['events', 'search', '--limit', '1'])
    expect(limited.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('events send reads NDJSON from stdin in batches; a line that is not an object exits 2', async () => {
    handler = (_req, body) => ({
      status: 202,
      body: JSON.stringify({
        accepted: (JSON.parse(body) as { events: { id: string }[] }).events.map((e) => ({ id: e.id })),
      }),
    })
    const input = Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `e${i}` })).join('\n')
    const r = await cli(['events', 'send', '--batch-size', '2', '--json'], { input: `${input}\n\n` })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')).toHaveLength(5)
    expect(calls.map((c) => (JSON.parse(c.body) as { events: unknown[] }).events.length)).toEqual([2, 2, 1])
    calls.length = 0
    const bad = await cli(['events', 'send'], { input: '{"id":"a"}\n[1]\n' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('line 2')
    expect(calls).toEqual([])
  })

  it('events send goes through the SDK: a 503 is retried for what was not accepted; a 400 names the line', async () => {
    let first = true
    handler = (_req, body) => {
      const ids = (JSON.parse(body) as { events: { id: string }[] }).events.map((e) => e.id)
      if (first) {
        first = false
        return {
          status: 503,
          headers: { 'retry-after': '0' },
          body: JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: 'the queue refused part of the batch',
            accepted: ids.slice(0, 1).map((id) => ({ id })),
            not_accepted: ids.slice(1).map((id) => ({ id })),
          }),
          type: 'application/problem+json',
        }
      }
      return { status: 202, body: JSON.stringify({ accepted: ids.map((id) => ({ id })) }) }
    }
    const input = ['a', 'b', 'c'].map((id) => JSON.stringify({ id })).join('\n')
    const r = await cli(['events', 'send', '--json'], { input })
    expect(r.code, r.stderr).toBe(0)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['a', 'b', 'c'])
    // The retry posts only the events the 503 did not accept.
    expect(
      calls.map((c) => (JSON.parse(c.body) as { events: { id: string }[] }).events.map((e) => e.id)),
    ).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
    ])
    calls.length = 0
    handler = () => ({
      status: 400,
      body: JSON.stringify({
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'invalid events',
        errors: [{ path: 'events[1].action', message: 'Required' }],
      }),
      type: 'application/problem+json',
    })
    const bad = await cli(['events', 'send'], { input: `${input}\n` })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('line 2 (b) action: Required')
  })

  it('events export writes the file and checks the marker: exit 1 when cut short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-export-'))
    const good = `${JSON.stringify({ id: 'a' })}\n${JSON.stringify({ id: 'b' })}\n{"_export":{"rows":2,"complete":true}}\n`
    handler = () => ({ status: 200, body: good, type: 'application/x-ndjson' })
    const out = join(dir, 'x.ndjson')
    const ok = await cli(['events', 'export', '--out', out, '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ rows: 2, complete: true, format: 'ndjson' })
    expect(readFileSync(out, 'utf8')).toBe(good)
    handler = () => ({ status: 200, body: `${JSON.stringify({ id: 'a' })}\n`, type: 'application/x-ndjson' })
    const cut = await cli(['events', 'export', '--out', out])
    expect(cut.code).toBe(1)
    expect(cut.stderr).toContain('INCOMPLETE')
  })
})

describe('export completeness check', () => {
  const feed = (c: ReturnType<typeof checkCsvExport>, text: string) => {
    const bytes = new TextEncoder().encode(text)
    // Split anywhere, even inside a multi-byte character or a quoted field.
    for (let i = 0; i < bytes.length; i += 7) c.push(bytes.subarray(i, i + 7))
    return c.end()
  }
  const event = (id: string, description: string) =>
    ({
      id,
      occurred_at: '2026-01-01T00:00:00.000Z',
      received_at: '2026-01-01T00:00:00.000Z',
      action: 'a.b',
      actor: { type: 'user', id: 'u' },
      target: { type: 't', id: 'x' },
      outcome: { status: 'success' },
      seq: 1,
      hash: 'h',
      prev_hash: 'p',
      tenant: 't',
      ingest: { key_id: 'k', request_id: 'r' },
      description,
    }) as unknown as Parameters<typeof csvLines>[0][number]

  it('CSV: counts records with quoted newlines, and wants the #complete row with that count', () => {
    const rows = [event('a', 'two\r\nlines, "quoted"'), event('b', 'é ü')]
    const file = csvHeader() + csvLines(rows) + csvTrailer(2)
    expect(feed(checkCsvExport(), file)).toEqual({ rows: 2, complete: true })
    expect(feed(checkCsvExport(), csvHeader() + csvLines(rows) + csvTrailer(3)).complete).toBe(false)
    expect(feed(checkCsvExport(), csvHeader() + csvLines(rows)).complete).toBe(false)
  })

  it('NDJSON: the trailer line counts the lines before it', () => {
    expect(feed(checkNdjsonExport(), '{"id":"a"}\n{"_export":{"rows":1,"complete":true}}\n')).toEqual({
      rows: 1,
      complete: true,
    })
    expect(feed(checkNdjsonExport(), '{"id":"a"}\n{"_export":{"rows":2,"complete":true}}\n').complete).toBe(
      false,
    )
    expect(feed(checkNdjsonExport(), '').complete).toBe(false)
  })
})

// Starts the Worker under `wrangler dev` on 127.0.0.1 with its own fresh state directory,
// the benchmark routes mounted and a known admin token; stops it when done.

import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'

export const ADMIN_TOKEN = 'bench-admin-token-0123456789'
const WRANGLER = resolve('node_modules/wrangler/bin/wrangler.js')
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
  CI: 'true',
}

export type WorkerServer = {
  url: string
  /** The state directory (`--persist-to`). */
  state: string
  /** Every non-blank line wrangler and the Worker printed so far. */
  logs: string[]
  /** The process id of wrangler (workerd runs as its descendant). */
  pid: number
  stop(): Promise<void>
}

export type WorkerOptions = {
  /** Start from an empty state directory (default true). */
  fresh?: boolean
  /** Bind the queue consumers (default true). */
  consumers?: boolean
  /** Runs after the migrations, before the Worker starts, with the local D1 database's file. */
  beforeStart?: (d1File: string) => unknown
  /** Extra Worker variables, next to ADMIN_TOKEN. */
  vars?: Record<string, string>
  /**
   * D1 shards (default: wrangler.toml's, two). Benchmarks that seed the database file directly
   * (beforeStart) run one, so there is one file to seed.
   */
  shards?: number
}

/** The config's [[d1_databases]] blocks replaced by `n` shards DB, DB_1, ... and D1_SHARDS naming them. */
export function withShards(toml: string, n: number): string {
  const blocks = Array.from({ length: n }, (_, i) => {
    const binding = i === 0 ? 'DB' : `DB_${i}`
    const id = `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`
    return `[[d1_databases]]\nbinding = "${binding}"\ndatabase_name = "audit-log-${i}"\ndatabase_id = "${id}"\nmigrations_dir = "${resolve('migrations')}"\n`
  })
  const names = blocks.map((_, i) => (i === 0 ? 'DB' : `DB_${i}`)).join(' ')
  const stripped = toml.replace(/\[\[d1_databases\]\][^[]*/g, '')
  return `${stripped.replace(/^D1_SHARDS = ".*"$/m, `D1_SHARDS = "${names}"`)}\n${blocks.join('\n')}`
}

export function shardBindings(toml: string): string[] {
  return [...toml.matchAll(/^\[\[d1_databases\]\]\s*\nbinding = "([^"]+)"/gm)].map((m) => m[1]!)
}

/** The SQLite files behind the local D1 shards of a state directory. */
export function d1Files(state: string): string[] {
  const dir = resolve(state, 'v3/d1/miniflare-D1DatabaseObject')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
    .map((f) => resolve(dir, f))
}

/** The SQLite file of the shard that holds the tenant's chain. */
export async function d1FileOf(state: string, tenant: string): Promise<string> {
  const { default: Database } = await import('better-sqlite3')
  for (const file of d1Files(state)) {
    const db = new Database(file, { readonly: true })
    try {
      if (db.prepare('SELECT 1 FROM chain_heads WHERE tenant = ?').get(tenant)) return file
    } finally {
      db.close()
    }
  }
  throw new Error(`no local shard of ${state} holds tenant ${tenant}`)
}

/** The SQLite file behind the local D1 database of a state directory (one shard). */
export function d1File(state: string): string {
  const dir = resolve(state, 'v3/d1/miniflare-D1DatabaseObject')
  const files = readdirSync(dir).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
  const [file] = files
  if (files.length !== 1 || file === undefined)
    throw new Error(`expected one D1 database in ${dir}, found ${files.join(', ')}`)
  return resolve(dir, file)
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address()
      if (address === null || typeof address === 'string') {
        s.close(() => rej(new Error(`no TCP port to listen on: ${address}`)))
        return
      }
      s.close(() => res(address.port))
    })
  })
}

/**
 * `consumers: false` serves the same Worker without its queue consumers bound, so the edge
 * ingest path is measured alone (in production consumers run in their own invocations).
 */
export async function startWorker(
  name: string,
  {
    fresh = true,
    consumers = true,
    beforeStart,
    vars = {},
    shards = beforeStart ? 1 : undefined,
  }: WorkerOptions = {},
): Promise<WorkerServer> {
  const state = resolve('bench/.state', name)
  if (fresh) rmSync(state, { recursive: true, force: true })
  mkdirSync(state, { recursive: true })
  const config = resolve(state, 'wrangler.toml')
  let toml = readFileSync('wrangler.toml', 'utf8')
    .replace('main = "index.ts"', `main = "${resolve('bench/worker/index.ts')}"`)
    .replaceAll('migrations_dir = "migrations"', `migrations_dir = "${resolve('migrations')}"`)
    .replace('directory = "dist/assets"', `directory = "${resolve('dist/assets')}"`)
  if (shards !== undefined) toml = withShards(toml, shards)
  if (!consumers) toml = toml.replace(/\[\[queues\.consumers\]\][^[]*/g, '')
  // The rate limiters stay bound (their cost is measured) but never refuse a benchmark's load.
  toml = toml.replace(/(\[\[ratelimits\]\][^[]*?limit = )\d+/g, (_, head: string) => `${head}1000000000`)
  writeFileSync(config, toml)
  const varsFile = resolve(state, 'bench.vars')
  // Under the test runner, archive objects follow each batch within a second (the e2e tests read
  // them); the benchmarks keep wrangler.toml's flush settings.
  if (process.env.VITEST && vars.ARCHIVE_FLUSH_SECONDS === undefined)
    vars = { ...vars, ARCHIVE_FLUSH_SECONDS: '0' }
  const extra = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('')
  // A fresh development signing key per start: checkpoints and proofs work as deployed.
  const signingKeys = JSON.stringify([
    { id: 'dev-bench', seed: randomBytes(32).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
  ])
  // And a fresh PII key ring (vars may override it, e.g. PII_KEYS= to run without one).
  const piiKeys = JSON.stringify([
    { id: 'bench', secret: randomBytes(32).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
  ])
  writeFileSync(
    varsFile,
    `ADMIN_TOKEN=${ADMIN_TOKEN}\nSIGNING_KEYS=${signingKeys}\nPII_KEYS=${piiKeys}\n${extra}`,
  )
  for (const binding of shardBindings(toml)) {
    const m = spawnSync(
      process.execPath,
      [WRANGLER, 'd1', 'migrations', 'apply', binding, '--local', '--config', config, '--persist-to', state],
      { env, encoding: 'utf8' },
    )
    if (m.status !== 0) throw new Error(`migrations of ${binding} failed: ${m.stderr}`)
  }
  if (beforeStart) await beforeStart(d1File(state))
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      '--config',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--persist-to',
      state,
      '--env-file',
      varsFile,
      '--test-scheduled',
      '--show-interactive-dev-session=false',
      '--log-level',
      'log',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const logs: string[] = []
  const onData = (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) logs.push(line)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill()
      throw new Error(`wrangler dev did not start:\n${logs.slice(-20).join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return {
    url,
    state,
    logs,
    pid: child.pid ?? -1,
    async stop() {
      child.kill('SIGTERM')
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL')
          r()
        }, 5000)
        child.on('exit', () => {
          clearTimeout(t)
          r()
        })
      })
    },
  }
}

export async function mintKey(
  url: string,
  tenant: string,
  scopes: string[] = ['events:write', 'events:read'],
): Promise<string> {
  const res = await fetch(`${url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, scopes }),
  })
  if (res.status !== 201) throw new Error(`mint key: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { key: string }).key
}

/** One event v1 as a client posts it (`extra` adds or replaces fields; undefined drops one). */
export function sampleEvent(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `bench-${i}`,
    occurred_at: new Date(Date.now() - 60_000).toISOString(),
    action: 'user.role.updated',
    actor: { type: 'user', id: `u_${i % 500}`, email: `user${i % 500}@example.com` },
    target: { type: 'user', id: `u_${(i * 7) % 1000}` },
    changes: [{ field: 'role', before: 'viewer', after: 'admin' }],
    context: { ip: '203.0.113.7', user_agent: 'bench/1.0', correlation_id: `c-${i % 100}` },
    source: 'accounts',
    ...extra,
  }
}

/** Prints rows as an aligned text table, the first row's keys as the header. */
export function table(rows: Record<string, unknown>[]): void {
  const [first] = rows
  if (!first) throw new Error('a table needs at least one row')
  const cols = Object.keys(first)
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)))
  const line = (vals: unknown[]) => vals.map((v, i) => String(v).padEnd(width[i] ?? 0)).join('  ')
  console.log(line(cols))
  console.log(line(width.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(line(cols.map((c) => r[c])))
}

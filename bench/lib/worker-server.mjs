// Starts the Worker under `wrangler dev` on 127.0.0.1 with its own fresh state directory,
// the benchmark routes mounted and a known admin token; stops it when done.
import { spawn, spawnSync } from 'node:child_process'
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

/** The SQLite file behind the local D1 database of a state directory. */
export function d1File(state) {
  const dir = resolve(state, 'v3/d1/miniflare-D1DatabaseObject')
  const files = readdirSync(dir).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
  if (files.length !== 1) throw new Error(`expected one D1 database in ${dir}, found ${files.join(', ')}`)
  return resolve(dir, files[0])
}

export function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

/**
 * `consumers: false` serves the same Worker without its queue consumers bound, so the edge
 * ingest path is measured alone (in production consumers run in their own invocations).
 */
export async function startWorker(name, { fresh = true, consumers = true, beforeStart, vars = {} } = {}) {
  const state = resolve('bench/.state', name)
  if (fresh) rmSync(state, { recursive: true, force: true })
  mkdirSync(state, { recursive: true })
  const config = resolve(state, 'wrangler.toml')
  let toml = readFileSync('wrangler.toml', 'utf8')
    .replace('main = "index.ts"', `main = "${resolve('bench/worker/index.ts')}"`)
    .replace('migrations_dir = "migrations"', `migrations_dir = "${resolve('migrations')}"`)
  if (!consumers) toml = toml.replace(/\[\[queues\.consumers\]\][^[]*/g, '')
  writeFileSync(config, toml)
  const varsFile = resolve(state, 'bench.vars')
  const extra = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('')
  writeFileSync(varsFile, `ADMIN_TOKEN=${ADMIN_TOKEN}\n${extra}`)
  const m = spawnSync(
    process.execPath,
    [WRANGLER, 'd1', 'migrations', 'apply', 'DB', '--local', '--config', config, '--persist-to', state],
    {
      env,
      encoding: 'utf8',
    },
  )
  if (m.status !== 0) throw new Error(`migrations failed: ${m.stderr}`)
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
  const logs = []
  const onData = (d) => {
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
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => {
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

export async function mintKey(url, tenant, scopes = ['events:write', 'events:read']) {
  const res = await fetch(`${url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, scopes }),
  })
  if (res.status !== 201) throw new Error(`mint key: ${res.status} ${await res.text()}`)
  return (await res.json()).key
}

export function sampleEvent(i, extra = {}) {
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

export function table(rows) {
  const cols = Object.keys(rows[0])
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)))
  const line = (vals) => vals.map((v, i) => String(v).padEnd(width[i])).join('  ')
  console.log(line(cols))
  console.log(line(width.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(line(cols.map((c) => r[c])))
}

// bench:search — seeds 1,000,000 events straight into the local D1 SQLite file, then measures
// p50/p95 of each admin question through the Worker on loopback, next to the same SQL run
// directly on the same file with better-sqlite3.
import Database from 'better-sqlite3'
import { ADMIN_TOKEN, mintKey, startWorker, table } from './lib/worker-server.mjs'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 200)
const TENANT = 'bench-search'
const DAY = 86_400_000
const now = Date.now()

const sql = `INSERT INTO events (tenant, seq, id, occurred_at, received_at, action, actor_type, actor_id,
  target_type, target_id, parent_type, parent_id, source, outcome, correlation_id, ip, hash, body)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** A deterministic mix: users, settings, orders with items (children), logins with failures. */
function eventAt(i) {
  const occurred = new Date(now - 60 * DAY + Math.floor((i / N) * 60 * DAY)).toISOString()
  const kind = i % 10
  const actor = { type: 'user', id: `u_${i % 5000}`, email: `user${i % 5000}@example.com` }
  let e
  if (kind < 3) e = { action: 'user.role.updated', target: { type: 'user', id: `u_${(i * 7) % 20000}` } }
  else if (kind < 5) {
    const failed = i % 7 === 0
    e = {
      action: 'user.login',
      target: { type: 'session', id: `s_${i}` },
      outcome: failed ? { status: 'failure', reason: 'bad password' } : { status: 'success' },
    }
  } else if (kind < 6) e = { action: 'settings.changed', target: { type: 'setting', id: `set_${i % 50}` } }
  else if (kind < 7) e = { action: 'order.created', target: { type: 'order', id: String(i % 20000) } }
  else {
    // The items of the order created in the same run of ten.
    const order = String((i - kind + 6) % 20000)
    e = {
      action: 'order.item.updated',
      target: { type: 'order_item', id: `oi_${i}` },
      parent: { type: 'order', id: order },
    }
  }
  return {
    v: 1,
    tenant: TENANT,
    id: `ev-${String(i).padStart(8, '0')}`,
    occurred_at: occurred,
    received_at: occurred,
    actor,
    outcome: { status: 'success' },
    context: {
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i % 50}`,
      correlation_id: i % 2 === 0 ? `corr-${Math.floor(i / 4)}` : undefined,
    },
    source: kind < 5 ? 'accounts' : 'orders',
    ingest: { key_id: 'seed', request_id: 'seed' },
    seq: i + 1,
    prev_hash: '0'.repeat(64),
    hash: '0'.repeat(64),
    ...e,
  }
}

function seed(file) {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const stmt = db.prepare(sql)
  const t0 = performance.now()
  const chunk = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const e = eventAt(i)
      stmt.run(
        e.tenant,
        e.seq,
        e.id,
        e.occurred_at,
        e.received_at,
        e.action,
        e.actor.type,
        e.actor.id,
        e.target.type,
        e.target.id,
        e.parent?.type ?? null,
        e.parent?.id ?? null,
        e.source,
        e.outcome.status,
        e.context.correlation_id ?? null,
        e.context.ip,
        e.hash,
        JSON.stringify(e),
      )
    }
  })
  for (let i = 0; i < N; i += 50_000) chunk(i, Math.min(N, i + 50_000))
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  console.log(`seeded ${N} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

const since30 = new Date(now - 30 * DAY).toISOString()
const since7 = new Date(now - 7 * DAY).toISOString()
/** The first event at or after 90% of the range that satisfies `ok`: real values to ask about. */
function find(ok) {
  for (let i = Math.floor(N * 0.9); i < N; i++) if (ok(eventAt(i), i)) return eventAt(i)
  throw new Error('no matching event in the seed')
}
const userTarget = find((e) => e.action === 'user.role.updated').target.id
const setting = find((e) => e.action === 'settings.changed').target.id
const failedIp = find((e) => e.outcome.status === 'failure').context.ip
const actor = find(() => true).actor.id
const order = find((e) => e.action === 'order.created').target.id
const correlation = find((e) => e.context.correlation_id).context.correlation_id
const questions = [
  ['all changes to one user, last 30 days', `target_type=user&target_id=${userTarget}&since=${since30}`],
  ['who changed one setting and when', `target_type=setting&target_id=${setting}&action=settings.*`],
  ['every failed login from one IP', `ip=${failedIp}&outcome=failure&action=user.login`],
  ['all updates by one user last week', `actor_id=${actor}&since=${since7}`],
  ['one order and its items', `target_type=order&target_id=${order}&include_children=true`],
  ['everything with one correlation id', `correlation_id=${correlation}`],
  ['the newest 100 events', ''],
]

const pct = (xs, p) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]

// Every seeded day inside the hot window: this measures D1 search (archive reads are bench:archive's).
const server = await startWorker('search', {
  consumers: false,
  beforeStart: seed,
  vars: { HOT_RETENTION_DAYS: '3650' },
})
try {
  const key = await mintKey(server.url, TENANT, ['events:read'])
  const file = (await import('./lib/worker-server.mjs')).d1File(server.state)
  const direct = new Database(file, { readonly: true })
  const rows = []
  for (const [name, qs] of questions) {
    const url = `${server.url}/v1/events?limit=100${qs ? `&${qs}` : ''}`
    const headers = { authorization: `Bearer ${key}` }
    let count = 0
    for (let i = 0; i < 5; i++) count = (await (await fetch(url, { headers })).json()).data.length
    const viaWorker = []
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now()
      const res = await fetch(url, { headers })
      await res.arrayBuffer()
      viaWorker.push(performance.now() - t)
    }
    const stmts = await (
      await fetch(`${server.url}/__bench/search-sql?tenant=${TENANT}&limit=100${qs ? `&${qs}` : ''}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()
    const prepared = stmts.map((s) => direct.prepare(s.sql))
    const viaSqlite = []
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now()
      for (const [j, p] of prepared.entries()) p.all(...stmts[j].params)
      viaSqlite.push(performance.now() - t)
    }
    const p95w = pct(viaWorker, 95)
    const p95s = pct(viaSqlite, 95)
    rows.push({
      question: name,
      rows: count,
      'worker p50 ms': pct(viaWorker, 50).toFixed(1),
      'worker p95 ms': p95w.toFixed(1),
      'sqlite p50 ms': pct(viaSqlite, 50).toFixed(2),
      'sqlite p95 ms': p95s.toFixed(2),
      'ratio p95': `${(p95w / Math.max(p95s, 0.001)).toFixed(1)}x`,
      'p95 <= 25 ms': p95w <= 25 ? 'yes' : 'NO',
    })
  }
  direct.close()
  table(rows)
  const bare = []
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    await (await fetch(`${server.url}/healthz`)).arrayBuffer()
    bare.push(performance.now() - t)
  }
  console.log(
    `\nloopback + wrangler dev floor (GET /healthz): p50 ${pct(bare, 50).toFixed(1)} ms, p95 ${pct(bare, 95).toFixed(1)} ms`,
  )
  console.log(
    'ratio = Worker p95 / same SQL p95 on the same SQLite file (target <= 3; see README for the floor)',
  )
} finally {
  await server.stop()
}

// bench:monitor — seeds one tenant's chain of BENCH_EVENTS events (1,000,000) into the local D1
// SQLite file exactly as the consumer stores it (the product's own chaining, tree rows and insert
// statements, one committed run of BENCH_RUN events at a time), has the Worker sign a checkpoint
// of the head, archives one day's lines in R2, then calls the integrity monitor through the Worker
// (/__bench/monitor: runMonitor once = one cron tick's work, on a D1 binding that counts rows read)
// until one sweep over the tenant has finished. Reports ticks, Worker time, time per 1M events,
// D1 rows read per event, and every alarm the sweep raised (clean data must raise none).
import { readdirSync, readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { archiveObjectKey, utcDate } from '../core/archive/layout'
import { gzipLines } from '../core/archive/r2'
import { INSERT_EVENT_IDS_SQL, INSERT_EVENTS_SQL } from '../core/db/events'
import { appendToStoredTree } from '../core/db/tree'
import type { Env } from '../core/env'
import { contentHash } from '../core/ingest/content-hash'
import type { PendingEvent } from '../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../core/integrity/chain'
import type { Frontier } from '../core/integrity/merkle'
import { runMonitor } from '../cron/monitor'
import { nodeD1, nodeQueue, nodeR2 } from './lib/node-bindings'
import { median, percentile } from './lib/stats'
import { ADMIN_TOKEN, d1File, startWorker, table } from './lib/worker-server'
import type { D1Counts } from './worker/counting-d1'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
/** Events per committed run: one consumer batch (wrangler.toml max_batch_size 100). */
const RUN = Number(process.env.BENCH_RUN ?? 100)
/** The monitor's budget per tick (rows + leaves); cron/index.ts runs it with the default, 50,000. */
const BUDGET = Number(process.env.BENCH_BUDGET ?? 50_000)
/** Bounds on the sweep: ticks and minutes. */
const MAX_TICKS = Number(process.env.BENCH_MAX_TICKS ?? 2_000)
const MAX_MINUTES = Number(process.env.BENCH_MAX_MINUTES ?? 30)
/** BENCH_COUNT=0: the monitor on the plain D1 binding (no rows-read counts), to compare times. */
const COUNT = process.env.BENCH_COUNT !== '0'
const TENANT = 'bench-monitor'
const DAY = 86_400_000
const SPAN = 60 * DAY
const T0 = Date.parse('2026-10-01T00:00:00.000Z')
/** Runs chained in Node per write transaction. */
const BLOCK = 50_000

/**
 * Event i as the edge hands it to the consumer: seq follows arrival (received_at); occurred_at is
 * the client's time, up to 100 arrivals earlier, so reading order (occurred_at, id) is not seq
 * order, as in production.
 */
function pendingAt(i: number): PendingEvent {
  const arrived = T0 + Math.floor((i / N) * SPAN)
  const occurred = arrived - Math.floor((((i * 7919) % 100) * SPAN) / N)
  const kind = i % 10
  const e: PendingEvent = {
    v: 1,
    tenant: TENANT,
    id: `ev-${String(i).padStart(8, '0')}`,
    occurred_at: new Date(occurred).toISOString(),
    received_at: new Date(arrived).toISOString(),
    action: 'user.role.updated',
    actor: { type: 'user', id: `u_${i % 5000}`, email: `user${i % 5000}@example.com` },
    target: { type: 'user', id: `u_${(i * 7) % 20000}` },
    outcome: { status: 'success' },
    context: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i % 50}`, user_agent: 'bench/1.0' },
    source: kind < 5 ? 'accounts' : 'orders',
    ingest: { key_id: 'key_bench', request_id: `req-${Math.floor(i / 100)}` },
  }
  if (i % 2 === 0) e.context!.correlation_id = `corr-${Math.floor(i / 4)}`
  if (kind < 3) e.changes = [{ field: 'role', before: '"viewer"', after: '"admin"' }]
  else if (kind < 5) {
    e.action = 'user.login'
    e.target = { type: 'session', id: `s_${i}` }
    if (i % 7 === 0) e.outcome = { status: 'failure', reason: 'bad password' }
  } else if (kind < 6) {
    e.action = 'settings.changed'
    e.target = { type: 'setting', id: `set_${i % 50}` }
    e.metadata = { plan: 'pro', seats: i % 40 }
  } else if (kind < 7) {
    e.action = 'order.created'
    e.target = { type: 'order', id: String(i % 20000) }
  } else {
    e.action = 'order.item.updated'
    e.target = { type: 'order_item', id: `oi_${i}` }
    e.parent = { type: 'order', id: String((i - kind + 6) % 20000) }
  }
  return e
}

/** The day whose lines are archived in R2 (one object, as compaction leaves a closed day). */
const ARCHIVED_DAY = utcDate(pendingAt(Math.floor(N / 2)).occurred_at)
const archivedLines: string[] = []
const seedTimes = { chain: 0, insert: 0 }

async function seed(file: string): Promise<void> {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const insertEvents = db.prepare(INSERT_EVENTS_SQL)
  const insertIds = db.prepare(INSERT_EVENT_IDS_SQL)
  // The row commitEvents inserts per tree row (drizzle's insert of chain_leaves).
  const insertLeaves = db.prepare(
    'INSERT INTO chain_leaves (tenant, first_seq, leaves, nodes) VALUES (?, ?, ?, ?)',
  )
  let head = { seq: 0, hash: GENESIS_HASH }
  let frontier: Frontier = []
  const t0 = performance.now()
  for (let b = 0; b < N; b += BLOCK) {
    const c0 = performance.now()
    const runs: { lines: string[]; ids: string; leafRows: ReturnType<typeof appendToStoredTree>['rows'] }[] =
      []
    for (let r = b; r < Math.min(N, b + BLOCK); r += RUN) {
      const pending: PendingEvent[] = []
      for (let i = r; i < Math.min(N, b + BLOCK, r + RUN); i++) pending.push(pendingAt(i))
      const chained = await appendToChain(head, pending)
      const tree = appendToStoredTree(frontier, head.seq + 1, chained.leaves)
      frontier = tree.frontier
      const last = chained.stored[chained.stored.length - 1]!
      head = { seq: last.seq, hash: last.hash }
      const ids = chained.stored.map((e, k) =>
        JSON.stringify([e.id, e.seq, e.occurred_at, contentHash(pending[k]!)]),
      )
      for (const [k, e] of chained.stored.entries())
        if (utcDate(e.occurred_at) === ARCHIVED_DAY) archivedLines.push(chained.lines[k]!)
      runs.push({ lines: chained.lines, ids: `[${ids.join(',')}]`, leafRows: tree.rows })
    }
    const i0 = performance.now()
    seedTimes.chain += i0 - c0
    db.transaction(() => {
      for (const run of runs) {
        insertEvents.run(`[${run.lines.join(',')}]`)
        insertIds.run(TENANT, run.ids)
        for (const row of run.leafRows) insertLeaves.run(TENANT, row.firstSeq, row.leaves, row.nodes)
      }
    })()
    seedTimes.insert += performance.now() - i0
  }
  db.prepare('INSERT INTO chain_heads (tenant, seq, hash, frontier, updated_at) VALUES (?, ?, ?, ?, ?)').run(
    TENANT,
    head.seq,
    head.hash,
    JSON.stringify(frontier),
    new Date().toISOString(),
  )
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  console.log(
    `seeded ${N} events in runs of ${RUN} in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(chaining in Node ${(seedTimes.chain / 1000).toFixed(1)} s, SQLite inserts ${(seedTimes.insert / 1000).toFixed(1)} s)`,
  )
}

/**
 * The workerd processes under the wrangler dev of `state` (the Worker and, locally, D1's SQLite
 * too): CPU seconds (user + system) used so far, less sensitive than wall time to other work on a
 * shared machine, and resident memory. Linux /proc; null elsewhere.
 */
function workerdUsage(state: string): { cpu_s: number; rss_mb: number } | null {
  try {
    const procs = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
          // After "pid (comm) ": state ppid ... utime stime (fields 14 and 15), in clock ticks.
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
          return { pid, ppid: f[1]!, cpu: Number(f[11]) + Number(f[12]), rss: Number(rss?.[1] ?? 0), cmd }
        } catch {
          return null
        }
      })
      .filter((p) => p !== null)
    const mine = new Set(
      procs.filter((p) => p.cmd.includes('wrangler') && p.cmd.includes(state)).map((p) => p.pid),
    )
    for (let grew = true; grew; ) {
      grew = false
      for (const p of procs)
        if (!mine.has(p.pid) && mine.has(p.ppid)) {
          mine.add(p.pid)
          grew = true
        }
    }
    const workerd = procs.filter((p) => mine.has(p.pid) && p.cmd.includes('workerd'))
    if (workerd.length === 0) return null
    return {
      cpu_s: workerd.reduce((n, p) => n + p.cpu, 0) / 100, // USER_HZ is 100 on Linux
      rss_mb: workerd.reduce((n, p) => n + p.rss, 0) / 1024,
    }
  } catch {
    return null
  }
}

type Tick = {
  report: { tenants: number; rows: number; leaves: number; sweeps_finished: number; alarms: number }
  elapsed_ms: number
  d1: D1Counts
  http_ms: number
  /** workerd's resident memory after the tick, and the CPU seconds it used during it. */
  rss_mb: number | null
  cpu_s: number | null
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }

async function post(url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return res.json()
}

/**
 * One /__bench/monitor call. wrangler dev sometimes restarts its runtime (a 503 "restarted
 * mid-request"); the call is then sent again (at most one tick's work is redone), and counted.
 */
let retries = 0
async function monitorTick(): Promise<unknown> {
  for (;;) {
    try {
      return await post(`${server.url}/__bench/monitor?budget=${BUDGET}&count=${COUNT ? 1 : 0}`)
    } catch (err) {
      if (!String(err).includes('restarted mid-request') || ++retries > 10) throw err
      console.log(`tick retried after a runtime restart (${retries})`)
    }
  }
}

/**
 * Locally, workerd's memory grows with every D1 response, across requests, outside the Worker's
 * isolate (whose heap stays at 10-30 MB): wrangler dev's inspector proxy enables the DevTools
 * Network domain, so every D1 query (a subrequest to http://d1/query) comes back to it as events
 * carrying the whole response body, and with no DevTools attached it keeps them all in its
 * runtimeMessageBuffer (node_modules/wrangler/templates/startDevWorker/InspectorProxyWorker.ts,
 * handleRuntimeIncomingMessage / tryDrainRuntimeMessageBuffer) until workerd dies or restarts:
 * a 1M-event sweep does not fit in one wrangler dev. Past this resident size the Worker is
 * restarted on the same state between ticks (outside the measured time); the sweep resumes from
 * monitor_state, as it does between cron ticks.
 */
const RESTART_MB = Number(process.env.BENCH_RESTART_MB ?? 600)
const WORKER_OPTIONS = { consumers: false, vars: { HOT_RETENTION_DAYS: '3650' } }

/**
 * BENCH_REUSE=1: keep the chain seeded by the last run of the same size (bench/.state/monitor),
 * forget the monitor's state and alarms, and start a new sweep (a new checkpoint is signed with
 * this start's key). Saves the seeding when only the monitor changed.
 */
function reuse(file: string): void {
  const db = new Database(file)
  const head = db.prepare('SELECT seq FROM chain_heads WHERE tenant = ?').get(TENANT) as
    | { seq: number }
    | undefined
  if (head?.seq !== N)
    throw new Error(`BENCH_REUSE: the kept state holds seq ${head?.seq}, not ${N}: run without it`)
  db.prepare('DELETE FROM monitor_state').run()
  db.prepare('DELETE FROM alarms').run()
  const bodies = db
    .prepare('SELECT body FROM events WHERE tenant = ? AND substr(occurred_at, 1, 10) = ? ORDER BY seq')
    .all(TENANT, ARCHIVED_DAY) as { body: string }[]
  archivedLines.push(...bodies.map((r) => r.body))
  db.close()
  console.log(`reusing the ${N} events seeded before`)
}

const REUSE = process.env.BENCH_REUSE === '1'
/** BENCH_NODE=0 skips the in-process sweep in Node after the Worker's. */
const NODE = process.env.BENCH_NODE !== '0'
let server = await startWorker('monitor', {
  ...WORKER_OPTIONS,
  fresh: !REUSE,
  beforeStart: REUSE ? reuse : seed,
})
/** The key ring of the first start, which signs the checkpoint (every start writes a new one). */
const signingKeys = /^SIGNING_KEYS=(.*)$/m.exec(readFileSync(`${server.state}/bench.vars`, 'utf8'))?.[1]
let stopped = false
async function stopServer() {
  if (!stopped) await server.stop()
  stopped = true
}
try {
  const cp = (await post(`${server.url}/__bench/checkpoint?tenant=${TENANT}`)) as { seq: number } | null
  if (cp?.seq !== N) throw new Error(`checkpoint at seq ${cp?.seq}, expected ${N}`)
  const put = (await post(`${server.url}/__bench/archive-put`, {
    tenant: TENANT,
    dt: ARCHIVED_DAY,
    lines: archivedLines,
  })) as { key: string; lines: number }
  console.log(
    `checkpoint signed at seq ${cp.seq}; archived ${put.lines} lines of ${ARCHIVED_DAY} in ${put.key}`,
  )

  const ticks: Tick[] = []
  let restarts = 0
  const deadline = Date.now() + MAX_MINUTES * 60_000
  const rss0 = workerdUsage(server.state)?.rss_mb ?? null
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  while (ticks.length < MAX_TICKS && Date.now() < deadline) {
    const before = workerdUsage(server.state)
    const t = performance.now()
    const tick = (await monitorTick()) as Omit<Tick, 'http_ms' | 'rss_mb' | 'cpu_s'>
    const http_ms = performance.now() - t
    const after = workerdUsage(server.state)
    const cpu_s = before && after ? after.cpu_s - before.cpu_s : null
    ticks.push({ ...tick, http_ms, rss_mb: after?.rss_mb ?? null, cpu_s })
    if (process.env.BENCH_VERBOSE)
      console.log(
        `tick ${ticks.length}: leaves ${tick.report.leaves} rows ${tick.report.rows} ${tick.elapsed_ms} ms, ` +
          `workerd CPU ${cpu_s?.toFixed(2)} s, ${after?.rss_mb.toFixed(0)} MB`,
      )
    if (tick.report.sweeps_finished >= 1) break
    if ((after?.rss_mb ?? 0) > RESTART_MB) {
      await server.stop()
      server = await startWorker('monitor', { ...WORKER_OPTIONS, fresh: false })
      stopped = false
      restarts++
    }
  }
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  const finished = ticks.some((t) => t.report.sweeps_finished >= 1)
  const sum = (f: (t: Tick) => number) => ticks.reduce((n, t) => n + f(t), 0)
  const workerMs = sum((t) => t.elapsed_ms)
  const rowsRead = sum((t) => t.d1.rows_read)
  const leafTicks = ticks.filter((t) => t.report.leaves > 0)
  const rowTicks = ticks.filter((t) => t.report.rows > 0)
  const perTick = ticks.map((t) => t.elapsed_ms)
  const per1M = (workerMs / 1000) * (1_000_000 / N)
  const perEvent = rowsRead / N

  const direct = new Database(d1File(server.state), { readonly: true })
  const alarms = direct.prepare('SELECT kind, seq, detail FROM alarms ORDER BY kind, seq').all() as {
    kind: string
    seq: number | null
    detail: string
  }[]
  const state = direct
    .prepare('SELECT sweeps, sweep IS NOT NULL AS open FROM monitor_state WHERE tenant = ?')
    .get(TENANT) as { sweeps: number; open: number } | undefined
  const leafRowCount = (direct.prepare('SELECT count(*) AS n FROM chain_leaves').get() as { n: number }).n
  direct.close()

  console.log(
    `\nbench:monitor: ${N} events, runs of ${RUN} (${leafRowCount} chain_leaves rows), budget ${BUDGET}/tick`,
  )
  table([
    {
      figure: 'sweep finished',
      value: finished ? `yes (monitor_state.sweeps = ${state?.sweeps})` : 'NO',
      target: '',
    },
    { figure: 'ticks (runMonitor calls)', value: ticks.length, target: '' },
    {
      figure: '  of which checked leaves / rows',
      value: `${leafTicks.length} / ${rowTicks.length}`,
      target: '',
    },
    {
      figure: 'leaves checked / rows checked',
      value: `${sum((t) => t.report.leaves)} / ${sum((t) => t.report.rows)}`,
      target: '',
    },
    { figure: 'Worker time, whole sweep', value: `${(workerMs / 1000).toFixed(1)} s`, target: '' },
    {
      figure: '  in leaf ticks / row ticks',
      value: `${(sum((t) => (t.report.leaves > 0 ? t.elapsed_ms : 0)) / 1000).toFixed(1)} s / ${(sum((t) => (t.report.leaves > 0 ? 0 : t.elapsed_ms)) / 1000).toFixed(1)} s`,
      target: '',
    },
    {
      figure: 'workerd CPU (Worker + local D1)',
      value: ticks.every((t) => t.cpu_s !== null) ? `${sum((t) => t.cpu_s ?? 0).toFixed(1)} s` : 'n/a',
      target: '',
    },
    {
      figure: 'workerd memory at start / max',
      value: `${rss0?.toFixed(0)} / ${Math.max(...ticks.map((t) => t.rss_mb ?? 0)).toFixed(0)} MB (${restarts} restarts past ${RESTART_MB} MB)`,
      target: '',
    },
    { figure: 'machine load (1 min) before / after', value: `${load0} / ${load1}`, target: '' },
    {
      figure: 'client wall time (HTTP)',
      value: `${(sum((t) => t.http_ms) / 1000).toFixed(1)} s`,
      target: '',
    },
    {
      figure: 'per tick: median / p95 / max',
      value: `${median(perTick)} / ${percentile(perTick, 95)} / ${Math.max(...perTick)} ms`,
      target: '',
    },
    {
      figure: 'Worker time per 1M events',
      value: `${per1M.toFixed(1)} s`,
      target: `<= 60 s: ${per1M <= 60 ? 'yes' : 'NO'}`,
    },
    { figure: 'D1 statements', value: sum((t) => t.d1.statements), target: '' },
    { figure: 'D1 rows read', value: rowsRead, target: '' },
    {
      figure: 'D1 rows read per event',
      value: perEvent.toFixed(3),
      target: `<= 2: ${perEvent <= 2 ? 'yes' : 'NO'}`,
    },
    { figure: 'D1 rows written', value: sum((t) => t.d1.rows_written), target: '' },
    { figure: 'alarms raised', value: sum((t) => t.report.alarms), target: '0 on clean data' },
  ])
  // Where the rows read go, by statement.
  const bySql = new Map<string, { statements: number; rows_read: number; ms: number }>()
  for (const t of ticks)
    for (const [sql, c] of Object.entries(t.d1.by_sql)) {
      const m = bySql.get(sql) ?? { statements: 0, rows_read: 0, ms: 0 }
      m.statements += c.statements
      m.rows_read += c.rows_read
      m.ms += c.ms
      bySql.set(sql, m)
    }
  if (COUNT) console.log('\nD1 reads by statement:')
  if (COUNT)
    table(
      [...bySql.entries()]
        .sort((a, b) => b[1].rows_read - a[1].rows_read)
        .map(([sql, c]) => ({
          statement: sql.replace(/\s+/g, ' ').slice(0, 90),
          runs: c.statements,
          'rows read': c.rows_read,
          'per event': (c.rows_read / N).toFixed(3),
          'awaiting D1 s': (c.ms / 1000).toFixed(2),
        })),
    )
  if (alarms.length > 0) {
    const kinds = new Map<string, number>()
    for (const a of alarms) kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1)
    console.log(
      `\n${alarms.length} alarms on clean data: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    )
    for (const a of alarms.slice(0, 10)) console.log(`  ${a.kind} seq ${a.seq}: ${a.detail}`)
  }
  console.log(
    '\ntargets: a full sweep of 1M events in <= 60 s of Worker time spread over ticks; <= 2 D1 rows read per event',
  )
  if (!finished) process.exitCode = 1
  await stopServer()
  if (NODE) await sweepInNode(d1File(server.state))
} catch (err) {
  console.error(`wrangler dev's last lines:\n${server.logs.slice(-30).join('\n')}`)
  throw err
} finally {
  await stopServer()
}

/**
 * The same monitor, in Node, in-process on the same SQLite file once the Worker is stopped
 * (bench/lib/node-bindings.ts): a new sweep, with the same budget per call. No RPC to D1 and no
 * wrangler dev, so this is the monitor's own compute plus SQLite, the floor under the Worker time.
 */
async function sweepInNode(file: string): Promise<void> {
  const db = new Database(file)
  const archive = nodeR2()
  const seqs = archivedLines.map((l) => (JSON.parse(l) as { seq: number }).seq)
  await archive.put(
    archiveObjectKey(TENANT, ARCHIVED_DAY, Math.min(...seqs), Math.max(...seqs)),
    await gzipLines(archivedLines),
  )
  const env = {
    DB: nodeD1(db),
    ARCHIVE: archive,
    EVENTS_QUEUE: nodeQueue(),
    SIGNING_KEYS: signingKeys,
  } as unknown as Env
  const before = (db.prepare('SELECT count(*) AS n FROM alarms').get() as { n: number }).n
  const times: { ms: number; leaves: number; rows: number }[] = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < MAX_TICKS; i++) {
    const t = performance.now()
    const r = await runMonitor(env, { budget: BUDGET })
    times.push({ ms: performance.now() - t, leaves: r.leaves, rows: r.rows })
    if (r.sweeps_finished >= 1) break
  }
  const cpu = process.cpuUsage(cpu0)
  const alarms = db.prepare('SELECT kind, seq, detail FROM alarms').all() as {
    kind: string
    detail: string
  }[]
  db.close()
  const ms = times.reduce((n, t) => n + t.ms, 0)
  const leafMs = times.reduce((n, t) => n + (t.leaves > 0 ? t.ms : 0), 0)
  console.log(`\nThe same monitor in Node, in-process on the same file (no D1 round trips, no wrangler dev):`)
  table([
    { figure: 'calls (budget per call as above)', value: times.length },
    { figure: 'time, whole sweep', value: `${(ms / 1000).toFixed(1)} s` },
    {
      figure: '  in leaf calls / row calls',
      value: `${(leafMs / 1000).toFixed(1)} s / ${((ms - leafMs) / 1000).toFixed(1)} s`,
    },
    { figure: 'Node CPU (user + system)', value: `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s` },
    { figure: 'time per 1M events', value: `${((ms / 1000) * (1_000_000 / N)).toFixed(1)} s` },
    { figure: 'per event (leaves + row)', value: `${((ms * 1000) / N).toFixed(1)} us` },
    { figure: 'new alarms', value: alarms.length - before },
  ])
  for (const a of alarms.slice(before, before + 10)) console.log(`  ${a.kind}: ${a.detail}`)
}

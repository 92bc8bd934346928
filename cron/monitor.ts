// The integrity monitor: on every tick, a bounded part of a sweep over each tenant's D1 state,
// resumed on the next tick (state in monitor_state). A sweep fixes, when it starts, the chain head
// and the newest signed checkpoint, then checks:
// - leaves: chain_leaves rows are continuous from seq 1; the Merkle root of the stored leaves at
//   the checkpoint's size equals its signed root (and the checkpoint's signature holds against the
//   published keys); the root at the head equals the head's stored frontier; every stored subtree
//   root equals the one the leaves give (so no leaf can be altered under a stored subtree);
// - rows, in (occurred_at, id) order: each body re-hashes to its chain hash and to D1's hash column
//   (core/integrity/verified-read.ts), each indexed column equals the body's field (an edited
//   column cannot hide an event from searches), each body's leaf equals the stored leaf of its seq,
//   and each row's hash equals the archived line's for the same seq while both exist;
// - completeness: the rows seen up to the head are all the chain holds less what retention
//   released (a deleted row is missing from that count);
// - tombstones of expired events: each links its leaf to its hash, and its leaf is the stored leaf
//   of its seq (expired rows are released, so they are expected, not missing).
// Every finding raises an alarm (core/integrity/alarms.ts). What a sweep cannot see: events
// appended after the newest checkpoint and cut before the next one is signed (a tail cut); the
// cron signs a checkpoint every tick, which bounds that window to one tick.
import { type VisibleObject, visibleObjects } from '../core/archive/archive-reader'
import { utcDate } from '../core/archive/layout'
import { gunzipLines } from '../core/archive/r2'
import { listCheckpoints, tenantsWithChains } from '../core/db/checkpoints'
import type { Db } from '../core/db/client'
import { columnValueOf, EVENT_COLUMNS, getChainHead } from '../core/db/events'
import {
  leafRowHolding,
  leafRowsBetween,
  leafRowsFrom,
  monitorStateOf,
  rowsAfter,
  type StoredRow,
  saveMonitorState,
} from '../core/db/monitor'
import { forEachShard, shards } from '../core/db/shards'
import { tombstonesAfter } from '../core/db/tombstones'
import { LEAVES_PER_ROW, STORED_SUBTREE } from '../core/db/tree'
import type { Env } from '../core/env'
import { type Finding, raiseAlarms } from '../core/integrity/alarms'
import { linkHashSync } from '../core/integrity/chain'
import { checkCheckpoint } from '../core/integrity/checkpoint'
import { keyRing } from '../core/integrity/issue-checkpoint'
import { type Frontier, frontierRoot, MerkleAccumulator } from '../core/integrity/merkle'
import { publicKeyDocument } from '../core/integrity/signing-keys'
import { checkStoredLine } from '../core/integrity/verified-read'
import { tombstoneLinks } from '../core/retention/tombstone'

export type MonitorOptions = { /** Rows and leaves checked per tick, over all tenants. */ budget?: number }

type Sweep = {
  started_at: string
  head: number
  head_root: string
  checkpoint: { seq: number; root: string } | null
  released: number
  leaves_next: number
  frontier: Frontier
  leaves_done: boolean
  rows_after: { t: string; id: string }
  rows_seen: number
  /** The rows are done; tombstones (by seq) are checked next. Absent in sweeps started before. */
  rows_done?: boolean
  tombstones_after?: number
}

const CHUNK = 1000

export async function runMonitor(env: Env, o: MonitorOptions = {}) {
  let budget = o.budget ?? 50_000
  const report = { tenants: 0, rows: 0, leaves: 0, sweeps_finished: 0, alarms: 0 }
  // Every shard's tenants within one budget for the tick, shared out so that a large shard does
  // not starve the others: each shard gets an equal part of what the ones before it left.
  let left = shards(env).length
  await forEachShard(env, async ({ db }, owns) => {
    const share = Math.ceil(budget / left--)
    let mine = share
    let after = ''
    for (;;) {
      if (mine <= 0) break
      const tenants = await tenantsWithChains(db, after)
      if (tenants.length === 0) break
      mine = await monitorTenants(env, db, tenants, owns, mine, report)
      after = tenants[tenants.length - 1]!
    }
    budget -= share - mine
  })
  return report
}

async function monitorTenants(
  env: Env,
  db: Db,
  tenants: string[],
  owns: (tenant: string) => boolean,
  budget: number,
  report: { tenants: number; rows: number; leaves: number; sweeps_finished: number; alarms: number },
): Promise<number> {
  for (const tenant of tenants) {
    if (budget <= 0) return budget
    if (!owns(tenant)) continue
    const r = await monitorTenant(env, db, tenant, budget)
    budget -= r.rows + r.leaves
    report.tenants++
    report.rows += r.rows
    report.leaves += r.leaves
    report.sweeps_finished += r.finished ? 1 : 0
    report.alarms += r.alarms
  }
  return budget
}

async function startSweep(db: Db, tenant: string, released: number): Promise<Sweep | null> {
  const head = await getChainHead(db, tenant)
  if (!head) return null
  const [cp] = await listCheckpoints(db, tenant, 1)
  return {
    started_at: new Date().toISOString(),
    head: head.seq,
    head_root: frontierRoot(head.frontier),
    checkpoint: cp && cp.seq <= head.seq ? { seq: cp.seq, root: cp.root } : null,
    released,
    leaves_next: 1,
    frontier: [],
    leaves_done: false,
    rows_after: { t: '', id: '' },
    rows_seen: 0,
  }
}

async function monitorTenant(env: Env, db: Db, tenant: string, budget: number) {
  const state = await monitorStateOf(db, tenant)
  const findings: Finding[] = []
  const sweep = state.sweep
    ? (JSON.parse(state.sweep) as Sweep)
    : await startSweep(db, tenant, state.released)
  if (!sweep) return { rows: 0, leaves: 0, finished: false, alarms: 0 }
  if (!state.sweep) await checkNewestCheckpoint(env, db, tenant, findings)
  let leaves = 0
  let rows = 0
  let finished = false
  const objects = new ObjectCache(env.ARCHIVE)
  while (!sweep.leaves_done && leaves < budget) leaves += await leavesStep(db, tenant, sweep, findings)
  while (sweep.leaves_done && !finished && rows + leaves < budget) {
    if (!sweep.rows_done) {
      const n = await rowsStep(db, tenant, sweep, findings, objects)
      rows += n
      if (n === 0) sweep.rows_done = true
    } else {
      const n = await tombstonesStep(db, tenant, sweep, findings)
      rows += n
      finished = n === 0
    }
  }
  if (finished) {
    // Rows of seq <= head still in D1: the chain's length less what retention released.
    const { released } = await monitorStateOf(db, tenant)
    const expected = sweep.head - released
    if (sweep.rows_seen < expected)
      findings.push({
        tenant,
        kind: 'rows_missing',
        detail: `D1 holds ${sweep.rows_seen} of the ${expected} events of seq 1..${sweep.head} not released by retention`,
        expected: String(expected),
        found: String(sweep.rows_seen),
      })
  }
  const now = new Date().toISOString()
  await saveMonitorState(db, {
    ...state,
    sweep: finished ? null : JSON.stringify(sweep),
    sweeps: state.sweeps + (finished ? 1 : 0),
    lastSweepAt: finished ? now : state.lastSweepAt,
    updatedAt: now,
  })
  const raised = await raiseAlarms(env, findings)
  return { rows, leaves, finished, alarms: raised.length }
}

/** The newest checkpoint's signature against the published keys. */
async function checkNewestCheckpoint(env: Env, db: Db, tenant: string, findings: Finding[]) {
  const [cp] = await listCheckpoints(db, tenant, 1)
  if (!cp) return
  const ring = await keyRing(env)
  if (ring.length === 0) return
  const problem = await checkCheckpoint(cp, publicKeyDocument(ring))
  if (problem)
    findings.push({
      tenant,
      kind: 'checkpoint_invalid',
      seq: cp.seq,
      detail: `the newest checkpoint (seq ${cp.seq}, ${cp.time}) fails its check: ${problem}`,
    })
}

/** One page of leaf rows: continuity, stored subtree roots, and the roots at checkpoint and head. */
async function leavesStep(db: Db, tenant: string, sweep: Sweep, findings: Finding[]): Promise<number> {
  const rows = await leafRowsFrom(db, tenant, sweep.leaves_next, 100)
  const acc = new MerkleAccumulator(sweep.frontier)
  let n = 0
  const rootAt = (size: number, expected: string, kind: 'root_mismatch' | 'head_mismatch', what: string) => {
    const root = acc.root()
    if (root !== expected)
      findings.push({
        tenant,
        kind,
        seq: size,
        detail: `the stored leaves' root at ${size} differs from ${what}`,
        expected,
        found: root,
      })
  }
  for (const row of rows) {
    if (row.firstSeq !== sweep.leaves_next) {
      findings.push({
        tenant,
        kind: 'leaves_gap',
        seq: sweep.leaves_next,
        detail: `stored leaves jump from seq ${sweep.leaves_next - 1} to ${row.firstSeq}`,
      })
      sweep.leaves_done = true
      break
    }
    const stored = row.nodes ? (JSON.parse(row.nodes) as Record<string, string>) : {}
    const count = row.leaves.length / 64
    for (let i = 0; i < count && sweep.leaves_next <= sweep.head; i++) {
      acc.append(Buffer.from(row.leaves.slice(i * 64, i * 64 + 64), 'hex'), (start, size, hash) => {
        const want = size >= STORED_SUBTREE ? stored[`${start}:${size}`] : undefined
        if (want !== undefined && want !== hash)
          findings.push({
            tenant,
            kind: 'subtree_mismatch',
            seq: start + size,
            detail: `the stored root of leaves ${start + 1}..${start + size} differs from the leaves'`,
            expected: hash,
            found: want,
          })
      })
      n++
      if (sweep.checkpoint?.seq === sweep.leaves_next)
        rootAt(
          sweep.leaves_next,
          sweep.checkpoint.root,
          'root_mismatch',
          `checkpoint ${sweep.leaves_next}'s signed root`,
        )
      if (sweep.leaves_next === sweep.head)
        rootAt(sweep.head, sweep.head_root, 'head_mismatch', "the chain head's frontier")
      sweep.leaves_next++
    }
    if (sweep.leaves_next > sweep.head) break
  }
  if (rows.length === 0 && sweep.leaves_next <= sweep.head)
    findings.push({
      tenant,
      kind: 'leaves_gap',
      seq: sweep.leaves_next,
      detail: `stored leaves end at seq ${sweep.leaves_next - 1}, the chain at ${sweep.head}`,
    })
  if (rows.length === 0 || sweep.leaves_next > sweep.head) sweep.leaves_done = true
  sweep.frontier = acc.frontier()
  return Math.max(n, 1)
}

/** One chunk of rows: bodies, columns, leaves and the archived copies. */
async function rowsStep(
  db: Db,
  tenant: string,
  sweep: Sweep,
  findings: Finding[],
  objects: ObjectCache,
): Promise<number> {
  const rows = await rowsAfter(db, tenant, sweep.rows_after, CHUNK)
  const last = rows[rows.length - 1]
  if (!last) return 0
  sweep.rows_after = { t: last.occurred_at, id: last.id }
  const leaves = await storedLeaves(
    db,
    tenant,
    rows.map((r) => r.seq),
  )
  const archived = await archivedLines(objects, tenant, rows)
  for (const row of rows) {
    if (row.seq > sweep.head) continue
    sweep.rows_seen++
    const f = (kind: Finding['kind'], detail: string, expected?: string, found?: string) =>
      findings.push({ tenant, kind, seq: row.seq, detail: `event ${row.id}: ${detail}`, expected, found })
    const check = checkStoredLine(row.body, row.hash)
    if (!check.ok) {
      f('body_mismatch', check.reason, check.expected, check.computed)
      continue
    }
    const body = JSON.parse(row.body) as Record<string, unknown>
    for (const [col, path] of EVENT_COLUMNS) {
      if (!(col in row)) continue
      const value = columnValueOf(body, path)
      const stored = (row as Record<string, unknown>)[col]
      if (stored !== value)
        f('column_mismatch', `column ${col} differs from the stored body`, String(value), String(stored))
    }
    const leaf = leaves.get(row.seq)
    if (leaf !== check.leaf)
      f('leaf_mismatch', "the body's leaf differs from the stored leaf", check.leaf, leaf ?? 'none')
    const line = archived.get(row.seq)
    if (line !== undefined) {
      const a = checkStoredLine(line)
      if (!a.ok)
        f('archive_line_invalid', `the archived line fails its check: ${a.reason}`, a.expected, a.computed)
      else if (a.hash !== row.hash)
        f('archive_mismatch', 'the archived line differs from D1', row.hash, a.hash)
    }
  }
  return rows.length
}

/**
 * One chunk of tombstones (expired events, core/retention/tombstone.ts), by seq: each must link
 * its leaf to its hash, and its leaf must be the stored leaf of its seq. Expired rows themselves
 * are expected: retention counted them as released.
 */
async function tombstonesStep(db: Db, tenant: string, sweep: Sweep, findings: Finding[]): Promise<number> {
  const list = await tombstonesAfter(db, tenant, sweep.tombstones_after ?? 0, CHUNK)
  const last = list[list.length - 1]
  if (!last) return 0
  sweep.tombstones_after = last.seq
  const leaves = await storedLeaves(
    db,
    tenant,
    list.map((t) => t.seq),
  )
  for (const t of list) {
    if (t.seq > sweep.head) continue
    if (!tombstoneLinks(t))
      findings.push({
        tenant,
        kind: 'body_mismatch',
        seq: t.seq,
        detail: `tombstone of seq ${t.seq}: its leaf does not link to its hash`,
        expected: t.hash,
        found: linkHashSync(t.prev_hash, t.leaf),
      })
    const leaf = leaves.get(t.seq)
    if (leaf !== t.leaf)
      findings.push({
        tenant,
        kind: 'leaf_mismatch',
        seq: t.seq,
        detail: `tombstone of seq ${t.seq}: its leaf differs from the stored leaf`,
        expected: leaf ?? 'none',
        found: t.leaf,
      })
  }
  return list.length
}

/**
 * The stored leaves of `seqs`: the seqs are split into runs no wider than a leaf row, and each
 * run costs two queries (the row holding its first seq, then every row up to its last), so a
 * chunk of rows in time order reads its leaf rows once instead of once per row.
 */
async function storedLeaves(db: Db, tenant: string, seqs: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>()
  const sorted = [...new Set(seqs)].sort((a, b) => a - b)
  let i = 0
  while (i < sorted.length) {
    const first = sorted[i]!
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1]! - first < LEAVES_PER_ROW) j++
    const last = sorted[j]!
    const holding = await leafRowHolding(db, tenant, first)
    const rows = holding ? await leafRowsBetween(db, tenant, holding.firstSeq, last) : []
    for (const r of rows) {
      const end = r.firstSeq + r.leaves.length / 64
      for (let k = i; k <= j; k++) {
        const s = sorted[k]!
        if (s >= r.firstSeq && s < end)
          out.set(s, r.leaves.slice((s - r.firstSeq) * 64, (s - r.firstSeq + 1) * 64))
      }
    }
    i = j + 1
  }
  return out
}

/** Archive objects read in this tick (one tenant's), the newest few kept: chunks of one day share them. */
class ObjectCache {
  private readonly lines = new Map<string, Map<number, string>>()
  private readonly listings = new Map<string, VisibleObject[]>()
  constructor(private readonly bucket: R2Bucket) {}

  /** The day's objects a reader takes (the compaction read rule), with their seq ranges. */
  async objectsOf(tenant: string, dt: string): Promise<VisibleObject[]> {
    const known = this.listings.get(dt)
    if (known) return known
    const objects = await visibleObjects(this.bucket, tenant, dt)
    this.listings.set(dt, objects)
    return objects
  }

  async bySeq(key: string): Promise<Map<number, string>> {
    let m = this.lines.get(key)
    if (m) return m
    m = new Map()
    const obj = await this.bucket.get(key)
    if (obj)
      for (const line of await gunzipLines(await obj.arrayBuffer())) {
        const seq = (JSON.parse(line) as { seq?: unknown }).seq
        if (typeof seq === 'number') m.set(seq, line)
      }
    if (this.lines.size >= 4) this.lines.delete(this.lines.keys().next().value!)
    this.lines.set(key, m)
    return m
  }
}

/**
 * The archived lines of the chunk's seqs, from the objects of their days whose seq range holds
 * them. Events whose segment is not written yet are simply absent.
 */
async function archivedLines(objects: ObjectCache, tenant: string, rows: StoredRow[]) {
  const out = new Map<number, string>()
  const byDay = new Map<string, number[]>()
  for (const r of rows) {
    const dt = utcDate(r.occurred_at)
    const list = byDay.get(dt)
    if (list) list.push(r.seq)
    else byDay.set(dt, [r.seq])
  }
  for (const [dt, seqs] of byDay) {
    for (const { key, first, last } of await objects.objectsOf(tenant, dt)) {
      if (!seqs.some((s) => s >= first && s <= last)) continue
      const lines = await objects.bySeq(key)
      for (const seq of seqs) {
        const line = lines.get(seq)
        if (line !== undefined && !out.has(seq)) out.set(seq, line)
      }
    }
  }
  return out
}

// Moving a tenant between shards: resumable (every step's progress is in the shard map, so an
// interrupted move goes on where it stopped, from any isolate) and verified (every page copied is
// read back and compared, and the source is recounted before the switch).
//
//   frozen    moving_to set: the tenant takes no writes (the consumer requeues its messages, write
//             routes answer 503); reads still go to the source. Waits one map-cache period so
//             every isolate has seen the freeze, and a little more for writes already under way.
//   copying   every per-tenant table, page by page in primary-key order: the target's rows of the
//             tenant are cleared first (a restarted move), each page is inserted and read back.
//             Then each table's count and the chain head are compared with the source's.
//   switched  shard = target: reads and writes go there. After another cache period the
//             source's copy is deleted, and the move is done (the map row has no move state).
import { and, eq } from 'drizzle-orm'
import type { Env } from '../env'
import { conflict, DomainError } from '../errors'
import { tenantShards } from './schema'
import {
  directoryDb,
  forgetPlacement,
  type Placement,
  placementOf,
  type Shard,
  shardByName,
  shardCacheMs,
} from './shards'

/** The tables that hold a tenant's data, with their primary keys (keyset paging order). */
export const TENANT_TABLES: readonly { table: string; key: readonly string[] }[] = [
  { table: 'events', key: ['occurred_at', 'id'] },
  { table: 'event_ids', key: ['id'] },
  { table: 'id_conflicts', key: ['id', 'request_id', 'content_hash'] },
  { table: 'chain_leaves', key: ['first_seq'] },
  { table: 'checkpoints', key: ['issued_at'] },
  { table: 'archive_segments', key: ['dt', 'first_seq'] },
  { table: 'alarms', key: ['id'] },
  { table: 'tombstones', key: ['seq'] },
  { table: 'monitor_state', key: [] },
  { table: 'subject_keys', key: ['subject', 'key_id'] },
  // Last: the chain head is what says the copy is whole.
  { table: 'chain_heads', key: [] },
]

const PAGE = 200
/** Beyond the cache period: writes that read the map just before the freeze have finished. */
const SETTLE_MS = 5_000
const settleMs = (ttl: number) => Math.min(SETTLE_MS, ttl)

type Cursor = {
  table: number
  after: unknown[] | null
  /** Tables of the target cleared of the tenant's rows (a restarted move's leftovers). */
  cleared: number
  copied: Record<string, number>
  /** After the switch: tables of the source whose copy is deleted. */
  dropped?: number
}

export type MoveStatus = {
  tenant: string
  from: string
  to: string
  state: 'frozen' | 'copying' | 'switched' | 'done' | 'aborted'
  /** Rows copied so far, by table. */
  copied: Record<string, number>
  /** When to call again (the move waits for every isolate to see its last step). */
  wait_ms: number
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`

async function setMove(env: Env, tenant: string, from: Placement, patch: Partial<Placement>) {
  const res = await directoryDb(env)
    .update(tenantShards)
    .set({ ...patch, updatedAt: new Date().toISOString() })
    .where(and(eq(tenantShards.tenant, tenant), eq(tenantShards.updatedAt, from.updatedAt)))
    .run()
  // Another caller advanced the same move first: this one reads the map again next time.
  if ((res.meta.changes ?? 0) !== 1)
    throw conflict(`the move of ${tenant} was advanced by another request; retry`)
  forgetPlacement(tenant)
}

/**
 * A table's stored columns as a select list: generated ones are computed again by the target and
 * never copied; each value comes with its SQL type ("<column>#t"), and a BLOB as hex, so it travels
 * through JSON and is written back as the same bytes.
 */
const selectLists = new Map<string, string>()

async function storedColumns(d1: D1Database, table: string): Promise<string> {
  // Every shard has the same schema (the same migrations): one lookup per table and isolate, not
  // three per page copied.
  const known = selectLists.get(table)
  if (known) return known
  const { results } = await d1
    .prepare('SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid')
    .bind(table)
    .all<{ name: string }>()
  if (results.length === 0) throw new Error(`no table ${table} on this shard`)
  const list = results
    .map(
      (r) =>
        `iif(typeof(${q(r.name)}) = 'blob', hex(${q(r.name)}), ${q(r.name)}) AS ${q(r.name)}, typeof(${q(r.name)}) AS ${q(`${r.name}#t`)}`,
    )
    .join(', ')
  selectLists.set(table, list)
  return list
}

async function page(
  d1: D1Database,
  table: string,
  key: readonly string[],
  tenant: string,
  after: unknown[] | null,
) {
  const order = key.length > 0 ? ` ORDER BY ${key.map(q).join(', ')}` : ''
  const past =
    after && key.length > 0 ? ` AND (${key.map(q).join(', ')}) > (${key.map(() => '?').join(', ')})` : ''
  const { results } = await d1
    .prepare(
      `SELECT ${await storedColumns(d1, table)} FROM ${q(table)} WHERE tenant = ?${past}${order} LIMIT ${PAGE}`,
    )
    .bind(tenant, ...(after ?? []))
    .all<Record<string, unknown>>()
  return results
}

async function rowsBetween(
  d1: D1Database,
  table: string,
  key: readonly string[],
  tenant: string,
  first: Record<string, unknown>,
  last: Record<string, unknown>,
) {
  if (key.length === 0) {
    const { results } = await d1
      .prepare(`SELECT ${await storedColumns(d1, table)} FROM ${q(table)} WHERE tenant = ?`)
      .bind(tenant)
      .all()
    return results
  }
  const cols = key.map(q).join(', ')
  const marks = key.map(() => '?').join(', ')
  const { results } = await d1
    .prepare(
      `SELECT ${await storedColumns(d1, table)} FROM ${q(table)} WHERE tenant = ? AND (${cols}) >= (${marks}) AND (${cols}) <= (${marks}) ORDER BY ${cols}`,
    )
    .bind(tenant, ...key.map((k) => first[k]), ...key.map((k) => last[k]))
    .all()
  return results
}

async function insertRows(d1: D1Database, table: string, rows: Record<string, unknown>[]) {
  const cols = Object.keys(rows[0]!).filter((c) => !c.endsWith('#t'))
  const value = (c: string) =>
    `iif(json_extract(value, '$."${c}#t"') = 'blob', unhex(json_extract(value, '$.${c}')), json_extract(value, '$.${c}'))`
  // One JSON parameter per statement, as the consumer writes events (D1's bound-parameter limit).
  await d1
    .prepare(
      `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) SELECT ${cols.map(value).join(', ')} FROM json_each(?)`,
    )
    .bind(JSON.stringify(rows))
    .run()
}

async function countOf(d1: D1Database, table: string, tenant: string): Promise<number> {
  const row = await d1
    .prepare(`SELECT count(*) AS n FROM ${q(table)} WHERE tenant = ?`)
    .bind(tenant)
    .first<{ n: number }>()
  return row?.n ?? 0
}

/** Deletes the tenant's rows, table by table from `from`; answers the next table to do. */
async function deleteTenantRows(d1: D1Database, tenant: string, budget: { pages: number }, from: number) {
  for (let i = from; i < TENANT_TABLES.length; i++) {
    const { table, key } = TENANT_TABLES[i]!
    // By primary key, 500 rows a statement (D1 bounds a statement's time).
    const cols = ['tenant', ...key].map(q).join(', ')
    for (;;) {
      if (budget.pages-- <= 0) return i
      const res = await d1
        .prepare(
          `DELETE FROM ${q(table)} WHERE (${cols}) IN (SELECT ${cols} FROM ${q(table)} WHERE tenant = ? LIMIT 500)`,
        )
        .bind(tenant)
        .run()
      if ((res.meta.changes ?? 0) < 500) break
    }
  }
  return TENANT_TABLES.length
}

const statusOf = (
  tenant: string,
  from: string,
  to: string,
  state: MoveStatus['state'],
  c: Cursor | null,
  wait = 0,
): MoveStatus => ({
  tenant,
  from,
  to,
  state,
  copied: c?.copied ?? {},
  wait_ms: Math.max(0, wait),
})

/**
 * Advances the move of `tenant` to shard `to` by at most `pages` pages of work and answers where
 * it stands; call again (after wait_ms) until state is "done". Starting a move of a tenant that is
 * moving elsewhere is a 409; asking for the shard it is on already answers "done".
 */
export async function advanceMove(env: Env, tenant: string, to: string, pages = 50): Promise<MoveStatus> {
  const target = shardByName(env, to)
  let p = await placementOf(env, tenant, true)
  if (!p)
    throw new DomainError('not_found', `tenant ${tenant} has stored no events: there is nothing to move`)
  const budget = { pages }
  const ttl = shardCacheMs(env)
  const since = () => Date.now() - Date.parse(p!.updatedAt)

  if (p.moveState === 'switched') {
    if (p.shard !== to)
      throw conflict(`tenant ${tenant} is finishing a move to ${p.shard}; let it finish first`)
    const old = shardByName(env, p.oldShard!)
    const c = JSON.parse(p.moveCursor ?? 'null') as Cursor | null
    // The source's copy goes once every isolate reads the target.
    if (c?.dropped === undefined && since() < ttl + settleMs(ttl))
      return statusOf(tenant, old.name, to, 'switched', c, ttl + settleMs(ttl) - since())
    const dropped = await deleteTenantRows(old.d1, tenant, budget, c?.dropped ?? 0)
    if (dropped < TENANT_TABLES.length) {
      await setMove(env, tenant, p, { moveCursor: JSON.stringify({ ...c, dropped }) })
      return statusOf(tenant, old.name, to, 'switched', c)
    }
    await setMove(env, tenant, p, { moveState: null, oldShard: null, moveCursor: null, movingTo: null })
    return statusOf(tenant, old.name, to, 'done', null)
  }
  if (p.movingTo === null) {
    if (p.shard === to) return statusOf(tenant, to, to, 'done', null)
    await setMove(env, tenant, p, { movingTo: to, moveState: 'frozen', moveCursor: null })
    return statusOf(tenant, p.shard, to, 'frozen', null, ttl + settleMs(ttl))
  }
  if (p.movingTo !== to)
    throw conflict(`tenant ${tenant} is being moved to ${p.movingTo}; finish or resume that move first`)
  const source = shardByName(env, p.shard)
  if (p.moveState === 'frozen') {
    if (since() < ttl + settleMs(ttl))
      return statusOf(tenant, source.name, to, 'frozen', null, ttl + settleMs(ttl) - since())
    const cursor: Cursor = { table: 0, after: null, cleared: 0, copied: {} }
    await setMove(env, tenant, p, { moveState: 'copying', moveCursor: JSON.stringify(cursor) })
    p = (await placementOf(env, tenant, true))!
  }
  const cursor = JSON.parse(p.moveCursor ?? 'null') as Cursor
  const done = await copy(source, target, tenant, cursor, budget)
  if (!done) {
    await setMove(env, tenant, p, { moveCursor: JSON.stringify(cursor) })
    return statusOf(tenant, source.name, to, 'copying', cursor)
  }
  await verifyCopy(source, target, tenant)
  await setMove(env, tenant, p, {
    shard: to,
    oldShard: source.name,
    movingTo: null,
    moveState: 'switched',
    moveCursor: JSON.stringify(cursor),
  })
  return statusOf(tenant, source.name, to, 'switched', cursor, ttl + settleMs(ttl))
}

async function copy(source: Shard, target: Shard, tenant: string, c: Cursor, budget: { pages: number }) {
  if (c.cleared < TENANT_TABLES.length) {
    c.cleared = await deleteTenantRows(target.d1, tenant, budget, c.cleared)
    if (c.cleared < TENANT_TABLES.length) return false
  }
  while (c.table < TENANT_TABLES.length) {
    const { table, key } = TENANT_TABLES[c.table]!
    if (budget.pages-- <= 0) return false
    const rows = await page(source.d1, table, key, tenant, c.after)
    if (rows.length > 0) {
      await insertRows(target.d1, table, rows)
      const back = await rowsBetween(target.d1, table, key, tenant, rows[0]!, rows.at(-1)!)
      if (JSON.stringify(back) !== JSON.stringify(rows))
        throw new Error(`copy of ${table} for ${tenant} does not read back as written; the move stops`)
      c.copied[table] = (c.copied[table] ?? 0) + rows.length
    }
    if (rows.length < PAGE || key.length === 0) {
      c.table++
      c.after = null
    } else c.after = key.map((k) => rows.at(-1)![k])
  }
  return true
}

/** The target holds what the source holds: every table's count, and the same chain head. */
async function verifyCopy(source: Shard, target: Shard, tenant: string) {
  for (const { table } of TENANT_TABLES) {
    const [a, b] = await Promise.all([countOf(source.d1, table, tenant), countOf(target.d1, table, tenant)])
    if (a !== b) {
      throw new Error(
        `after copying, ${table} of ${tenant} has ${a} rows on ${source.name} and ${b} on ${target.name}`,
      )
    }
  }
  const head = 'SELECT seq, hash, frontier FROM chain_heads WHERE tenant = ?'
  const [a, b] = await Promise.all([
    source.d1.prepare(head).bind(tenant).first(),
    target.d1.prepare(head).bind(tenant).first(),
  ])
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`chain head of ${tenant} differs after copying`)
}

/** What each shard holds: tenants assigned to it, and moves under way. */
export async function shardsReport(env: Env, all: Shard[]) {
  const rows = await directoryDb(env).select().from(tenantShards).all()
  return all.map((s, i) => ({
    name: s.name,
    directory: i === 0,
    tenants: rows.filter((r) => r.shard === s.name).length,
    moving: rows
      .filter((r) => r.movingTo !== null && (r.shard === s.name || r.movingTo === s.name))
      .map((r) => ({ tenant: r.tenant, from: r.shard, to: r.movingTo!, state: r.moveState! })),
  }))
}

/**
 * Gives up a move that has not switched (a copy that failed its check, an operator's change of
 * mind): the tenant takes writes on its source again. Rows already copied to the target stay
 * until the next move there clears them; they are not read (the map points at the source).
 */
export async function abortMove(env: Env, tenant: string): Promise<MoveStatus> {
  const p = await placementOf(env, tenant, true)
  if (!p || p.movingTo === null) {
    if (p?.moveState === 'switched')
      throw conflict(`the move of ${tenant} has switched already; finish it with another call`)
    throw new DomainError('not_found', `tenant ${tenant} is not being moved`)
  }
  const to = p.movingTo
  await setMove(env, tenant, p, { movingTo: null, moveState: null, moveCursor: null })
  return statusOf(tenant, p.shard, to, 'aborted', null)
}

// Tenant shards: the hot store is N D1 databases (D1_SHARDS names their bindings, in order), and
// each tenant's chain and rows live in exactly one of them. The first is also the directory: API
// keys, console sessions and the shard map (tenant_shards) are read there only.
//
// Assignment is stable: a tenant's shard is chosen once, by rendezvous hashing over the shards
// open for new tenants (D1_SHARDS minus D1_SHARDS_CLOSED), when its first event is stored, and
// pinned in the map. Adding a shard, or closing one, moves nobody; only an operator's move does
// (core/db/shard-move.ts). A tenant that has stored nothing has no row: its reads go to the shard
// it would be assigned, which holds nothing of it either way.
//
// The map is cached per isolate for D1_SHARD_MAP_CACHE_SECONDS (default 10). A move therefore waits
// that long after each change of state before relying on it (every isolate has seen it by then).
import { eq } from 'drizzle-orm'
import type { Env } from '../env'
import { DomainError } from '../errors'
import { type Db, database } from './client'
import { tenantShards } from './schema'

const DEFAULT_CACHE_SECONDS = 10

/** How long an isolate may act on a cached row of the shard map. */
export function shardCacheMs(env: Env): number {
  const s = Number(env.D1_SHARD_MAP_CACHE_SECONDS || DEFAULT_CACHE_SECONDS)
  if (!Number.isFinite(s) || s < 0 || s > 300) throw new Error('D1_SHARD_MAP_CACHE_SECONDS must be 0 to 300')
  return s * 1000
}
const BINDING = /^DB(_[0-9A-Z_]+)?$/

export type Shard = { name: string; d1: D1Database; db: Db }
export type Placement = typeof tenantShards.$inferSelect

type ShardSet = { all: Shard[]; open: Shard[]; byName: Map<string, Shard> }
const sets = new WeakMap<object, ShardSet>()

function names(list: string | undefined): string[] {
  return (list ?? '').split(/[\s,]+/).filter(Boolean)
}

/** The shards of this deployment, in D1_SHARDS order (default: the one binding DB). */
export function shardSet(env: Env): ShardSet {
  let set = sets.get(env)
  if (set) return set
  const listed = names(env.D1_SHARDS)
  const order = listed.length > 0 ? listed : ['DB']
  const bindings = env as unknown as Record<string, D1Database | undefined>
  const all: Shard[] = order.map((name) => {
    const d1 = bindings[name]
    if (!BINDING.test(name) || !d1 || typeof d1.prepare !== 'function')
      throw new Error(`D1_SHARDS names ${name}, which is not a D1 binding of this Worker`)
    return { name, d1, db: database(d1) }
  })
  if (new Set(order).size !== order.length) throw new Error('D1_SHARDS names a binding twice')
  if (order[0] !== 'DB') throw new Error('D1_SHARDS must start with DB, the directory')
  const closed = new Set(names(env.D1_SHARDS_CLOSED))
  for (const c of closed)
    if (!order.includes(c)) throw new Error(`D1_SHARDS_CLOSED names ${c}, not in D1_SHARDS`)
  const open = all.filter((s) => !closed.has(s.name))
  if (open.length === 0) throw new Error('every shard is closed to new tenants (D1_SHARDS_CLOSED)')
  set = { all, open, byName: new Map(all.map((s) => [s.name, s])) }
  sets.set(env, set)
  return set
}

export const shards = (env: Env): Shard[] => shardSet(env).all
/** The directory: API keys, console sessions, the shard map. */
export const directoryDb = (env: Env): Db => shardSet(env).all[0]!.db

export function shardByName(env: Env, name: string): Shard {
  const s = shardSet(env).byName.get(name)
  if (!s)
    throw new DomainError(
      'not_found',
      `no shard ${name}; the shards are ${shards(env)
        .map((x) => x.name)
        .join(', ')}`,
    )
  return s
}

async function score(tenant: string, shard: string): Promise<bigint> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tenant}\n${shard}`))
  return new DataView(d).getBigUint64(0)
}

/** Rendezvous hashing: the open shard with the highest score for the tenant. */
export async function rendezvousShard(tenant: string, open: readonly string[]): Promise<string> {
  let best = open[0]!
  let bestScore = -1n
  for (const name of open) {
    const s = await score(tenant, name)
    if (s > bestScore || (s === bestScore && name < best)) {
      best = name
      bestScore = s
    }
  }
  return best
}

type Cached = { placement: Placement | null; at: number }
const cache = new Map<string, Cached>()
const MAX_CACHED = 10_000

export function forgetPlacement(tenant?: string) {
  if (tenant === undefined) cache.clear()
  else cache.delete(tenant)
}

/** The tenant's row of the shard map, or null when it has stored nothing yet (cached). */
export async function placementOf(env: Env, tenant: string, fresh = false): Promise<Placement | null> {
  const hit = cache.get(tenant)
  if (!fresh && hit && Date.now() - hit.at < shardCacheMs(env)) return hit.placement
  const placement =
    (await directoryDb(env).select().from(tenantShards).where(eq(tenantShards.tenant, tenant)).get()) ?? null
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(tenant, { placement, at: Date.now() })
  return placement
}

/** A tenant moving between shards does not take writes until the move has switched. */
export function isFrozen(p: Placement | null): boolean {
  return p !== null && p.movingTo !== null && p.moveState !== 'switched'
}

export const tenantMoving = (tenant: string) =>
  new DomainError(
    'unavailable',
    `tenant ${tenant} is being moved to another shard; retry in a minute`,
    undefined,
    {
      retry_after: 30,
    },
  )

/** The shard that holds the tenant (reads). */
export async function tenantShard(env: Env, tenant: string): Promise<Shard> {
  const set = shardSet(env)
  const p = await placementOf(env, tenant)
  if (p) return shardByName(env, p.shard)
  return set.byName.get(
    await rendezvousShard(
      tenant,
      set.open.map((s) => s.name),
    ),
  )!
}

export async function tenantDb(env: Env, tenant: string): Promise<Db> {
  return (await tenantShard(env, tenant)).db
}

/**
 * The shard that takes the tenant's writes, pinning a new tenant to its rendezvous shard. Throws
 * `unavailable` while the tenant is being moved (the consumer retries the message later).
 */
export async function tenantWriteShard(env: Env, tenant: string): Promise<Shard> {
  let p = await placementOf(env, tenant)
  if (!p) {
    const set = shardSet(env)
    const shard = await rendezvousShard(
      tenant,
      set.open.map((s) => s.name),
    )
    const now = new Date().toISOString()
    await directoryDb(env)
      .insert(tenantShards)
      .values({ tenant, shard, assignedAt: now, updatedAt: now })
      .onConflictDoNothing()
      .run()
    p = await placementOf(env, tenant, true)
    if (!p) throw new Error(`shard map has no row for ${tenant} after inserting it`)
  }
  if (isFrozen(p)) throw tenantMoving(tenant)
  return shardByName(env, p.shard)
}

export async function tenantWriteDb(env: Env, tenant: string): Promise<Db> {
  return (await tenantWriteShard(env, tenant)).db
}

/** The whole shard map (the cron's jobs read it once per tick). */
export async function shardMap(env: Env): Promise<Map<string, Placement>> {
  const rows = await directoryDb(env).select().from(tenantShards).all()
  return new Map(rows.map((r) => [r.tenant, r]))
}

/**
 * Runs a job once per shard with the test of which tenants that shard owns: a tenant whose copy
 * is on a shard it is not assigned to (the source or target of a move) is someone else's, and a
 * frozen tenant is left alone by every job until its move has switched.
 */
export async function forEachShard<T>(
  env: Env,
  job: (shard: Shard, owns: (tenant: string) => boolean) => Promise<T>,
): Promise<{ shard: string; result: T }[]> {
  const map = await shardMap(env)
  const set = shardSet(env)
  const out: { shard: string; result: T }[] = []
  for (const shard of set.all) {
    const owns = (tenant: string) => {
      const p = map.get(tenant)
      if (!p) return shard === set.all[0] // stored before the map: the first shard's
      return p.shard === shard.name && !isFrozen(p)
    }
    out.push({ shard: shard.name, result: await job(shard, owns) })
  }
  return out
}

/** The request header (and response header) that carries a D1 session bookmark. */
export const BOOKMARK_HEADER = 'x-d1-bookmark'
const BOOKMARK = /^[A-Za-z0-9_.:-]{1,256}$/

export type ReadSession = { db: Db; shard: string; bookmark: () => string | null }

/**
 * A read of the tenant's shard through D1's Sessions API (read replication): with a bookmark the
 * read sees at least the writes that bookmark saw (read-your-writes); without one it may go to the
 * nearest replica (D1_READ_REPLICAS = "first-unconstrained") or to the primary
 * ("first-primary"). "off" reads the database as it is (the primary, or D1's own routing).
 */
export async function tenantReadSession(env: Env, tenant: string, bookmark?: string): Promise<ReadSession> {
  const shard = await tenantShard(env, tenant)
  const mode = env.D1_READ_REPLICAS || 'first-unconstrained'
  if (bookmark !== undefined && !BOOKMARK.test(bookmark))
    throw new DomainError('validation_failed', `${BOOKMARK_HEADER} is not a D1 bookmark`)
  if (mode === 'off' || typeof shard.d1.withSession !== 'function')
    return { db: shard.db, shard: shard.name, bookmark: () => null }
  if (mode !== 'first-unconstrained' && mode !== 'first-primary')
    throw new Error(`D1_READ_REPLICAS is ${mode}; expected first-unconstrained, first-primary or off`)
  const session = shard.d1.withSession(bookmark ?? mode)
  return {
    db: database(session as unknown as D1Database),
    shard: shard.name,
    bookmark: () => session.getBookmark(),
  }
}

/** A tenant's database for a job that walks the archive by tenant; null: leave the tenant alone. */
export type TenantDbs = (tenant: string) => Promise<Db | null>

/**
 * The shard of each tenant as the shard map says now (read once), for jobs that find tenants in
 * R2 rather than in a shard: a tenant being moved is left alone (null) until its move switched.
 */
export async function tenantDbs(env: Env): Promise<TenantDbs> {
  const map = await shardMap(env)
  const set = shardSet(env)
  return async (tenant) => {
    const p = map.get(tenant)
    if (!p) return set.all[0]!.db // nothing stored through a shard yet: the directory's (pre-shard) data
    if (isFrozen(p)) return null
    return shardByName(env, p.shard).db
  }
}

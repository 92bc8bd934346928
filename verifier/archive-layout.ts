// The archive as the bucket lays it out (core/archive/layout.ts: events/, checkpoints/ and
// manifests/), read from an ArchiveSource.
// Invariant: every object under events/ and checkpoints/ must fit this layout. An unknown object is
// a break, not something to skip: a verifier that skipped files could be shown a clean subset.
// A break inside one tenant's directory is that tenant's (the others are still read); an object in
// no tenant's directory belongs to none and is reported on its own. Only a listing the source
// refuses stops the whole run.
// Read rule for compaction: in a partition whose manifest names parts that all exist, the files it
// lists as superseded are ignored. A manifest is not signed and needs no trust: ignoring a file can
// only remove events, which the chain's continuity and the checkpoints reveal.
// Only names (and manifests) are read here; event files are read later, one at a time.
import type { z } from 'zod'
import { hiddenByManifest } from '../core/archive/compaction'
import {
  ARCHIVE_PREFIX,
  CHECKPOINT_PREFIX,
  MANIFEST_PREFIX,
  manifestKey,
  manifestReadRuleSchema,
  parseCheckpointName,
  parseDtDir,
  parseObjectName,
  parseTombstoneName,
} from '../core/archive/layout'
import type { ArchiveSource } from './archive-source'
import { type Break, ChainBreak } from './breaks'

/** An events file, or (`tombstones`) the tombstones of an expired one (core/retention/tombstone.ts). */
export type EventFile = { rel: string; dt: string; first: number; last: number; tombstones?: boolean }
export type CheckpointFile = { rel: string; seq: number; compactTime: string }
export type TenantLayout = { dir: string; tenant: string; events: EventFile[]; checkpoints: CheckpointFile[] }
/** A tenant whose directory does not fit the layout: its first break, found before any event is read. */
export type BrokenTenantLayout = { dir: string; tenant: string; break: Break }
export type ArchiveLayout = {
  /** In tenant directory order. */
  tenants: (TenantLayout | BrokenTenantLayout)[]
  /** The first object in no tenant's directory (or in one whose name is not a tenant's). */
  outside?: Break
}

function unexpected(tenant: string, rel: string, why: string): ChainBreak {
  return new ChainBreak({ kind: 'unexpected_file', tenant, file: rel, message: `${rel}: ${why}` })
}

/** The files a partition's manifest hides (core/archive/compaction.ts, hiddenByManifest). */
async function supersededFiles(
  source: ArchiveSource,
  rel: string,
  tenant: string,
  eventKeys: Set<string>,
): Promise<Set<string>> {
  let m: z.infer<typeof manifestReadRuleSchema>
  try {
    m = manifestReadRuleSchema.parse(JSON.parse((await source.read(rel)).toString('utf8')))
  } catch {
    throw new ChainBreak({
      kind: 'manifest_invalid',
      tenant,
      file: rel,
      message: `${rel}: not a compaction manifest`,
    })
  }
  return hiddenByManifest(m, eventKeys)
}

/**
 * Splits `<top>/tenant=<dir>/<rest>` keys by tenant directory; a key of any other shape is kept
 * as the first break outside every tenant (`outside`) and left out.
 */
function byTenant(top: string, keys: string[]): { tenants: Map<string, string[]>; outside?: Break } {
  const tenants = new Map<string, string[]>()
  let outside: Break | undefined
  for (const key of keys) {
    const parts = key.split('/')
    const seg = parts[1] ?? ''
    let why: string | undefined
    if (parts.length < 3 || !seg.startsWith('tenant=') || seg === 'tenant=')
      why = 'expected a tenant=<tenant> directory'
    else {
      try {
        decodeURIComponent(seg.slice('tenant='.length))
      } catch {
        why = 'the tenant name is not URI-encoded text'
      }
    }
    if (why) {
      outside ??= unexpected('', parts.length < 3 ? key : `${top}/${seg}`, why).detail
      continue
    }
    const dir = seg.slice('tenant='.length)
    const list = tenants.get(dir) ?? []
    list.push(parts.slice(2).join('/'))
    tenants.set(dir, list)
  }
  return { tenants, outside }
}

/** One tenant's event files (chain order: first seq, then day) and checkpoints (seq, then time). */
async function tenantLayout(
  source: ArchiveSource,
  dir: string,
  eventRests: string[],
  checkpointRests: string[],
  eventKeys: Set<string>,
  manifestKeys: Set<string>,
): Promise<TenantLayout> {
  const tenant = decodeURIComponent(dir)
  const relBase = `events/tenant=${dir}`
  const files: EventFile[] = []
  const superseded = new Map<string, Set<string>>()
  for (const rest of eventRests) {
    const [dtDir, name, ...more] = rest.split('/')
    const dt = parseDtDir(dtDir!)
    if (!dt || name === undefined)
      throw unexpected(tenant, `${relBase}/${dtDir}`, 'expected a dt=YYYY-MM-DD directory')
    const rel = `${relBase}/${rest}`
    if (!superseded.has(dt)) {
      const m = manifestKey(tenant, dt)
      superseded.set(
        dt,
        manifestKeys.has(m) ? await supersededFiles(source, m, tenant, eventKeys) : new Set(),
      )
    }
    if (superseded.get(dt)!.has(rel)) continue
    const range = more.length === 0 ? parseObjectName(name) : null
    const tombs = more.length === 0 && !range ? parseTombstoneName(name) : null
    if (!range && !tombs)
      throw unexpected(
        tenant,
        rel,
        'expected <first seq>-<last seq>[.<class>].ndjson.gz or tombstones-<the same>',
      )
    const { first, last } = (range ?? tombs)!
    if (first < 1 || last < first) throw unexpected(tenant, rel, 'the seq range in the name is empty')
    files.push(tombs ? { rel, dt, first, last, tombstones: true } : { rel, dt, first, last })
  }
  files.sort((a, b) => a.first - b.first || a.last - b.last || a.dt.localeCompare(b.dt))
  const cps: CheckpointFile[] = []
  for (const rest of checkpointRests) {
    const rel = `checkpoints/tenant=${dir}/${rest}`
    const name = parseCheckpointName(rest)
    if (!name) throw unexpected(tenant, rel, 'expected <seq>-<time>.json')
    cps.push({ rel, ...name })
  }
  cps.sort((a, b) => (a.rel < b.rel ? -1 : 1))
  return { dir, tenant, events: files, checkpoints: cps }
}

/**
 * Every tenant's layout, or the first break in its directory; throws only when the source
 * refuses a listing (nothing of the archive can be read then).
 */
export async function readLayout(source: ArchiveSource): Promise<ArchiveLayout> {
  const [events, checkpoints, manifests] = await Promise.all(
    [ARCHIVE_PREFIX, CHECKPOINT_PREFIX, MANIFEST_PREFIX].map((p) => source.list(p)),
  )
  const eventKeys = new Set(events)
  const manifestKeys = new Set(manifests)
  const ev = byTenant('events', events!)
  const cp = byTenant('checkpoints', checkpoints!)
  const dirs = [...new Set([...ev.tenants.keys(), ...cp.tenants.keys()])].sort()
  const tenants: ArchiveLayout['tenants'] = []
  for (const dir of dirs) {
    try {
      tenants.push(
        await tenantLayout(
          source,
          dir,
          ev.tenants.get(dir) ?? [],
          cp.tenants.get(dir) ?? [],
          eventKeys,
          manifestKeys,
        ),
      )
    } catch (err) {
      if (!(err instanceof ChainBreak)) throw err
      tenants.push({ dir, tenant: decodeURIComponent(dir), break: err.detail })
    }
  }
  const outside = ev.outside ?? cp.outside
  return outside ? { tenants, outside } : { tenants }
}

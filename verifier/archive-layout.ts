// The archive as the bucket lays it out (core/archive/layout.ts: events/, checkpoints/ and
// manifests/), read from an ArchiveSource.
// Invariant: every object under events/ and checkpoints/ must fit this layout. An unknown object is
// a break, not something to skip: a verifier that skipped files could be shown a clean subset.
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
} from '../core/archive/layout'
import type { ArchiveSource } from './archive-source'
import { ChainBreak } from './breaks'

export type EventFile = { rel: string; dt: string; first: number; last: number }
export type CheckpointFile = { rel: string; seq: number; compactTime: string }
export type TenantLayout = { dir: string; tenant: string; events: EventFile[]; checkpoints: CheckpointFile[] }

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

/** Splits `<top>/tenant=<dir>/<rest>` keys by tenant directory, refusing any other shape. */
function byTenant(top: string, keys: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const key of keys) {
    const parts = key.split('/')
    const seg = parts[1] ?? ''
    if (parts.length < 3 || !seg.startsWith('tenant=') || seg === 'tenant=')
      throw unexpected('', parts.length < 3 ? key : `${top}/${seg}`, 'expected a tenant=<tenant> directory')
    const dir = seg.slice('tenant='.length)
    try {
      decodeURIComponent(dir)
    } catch {
      throw unexpected('', `${top}/${seg}`, 'the tenant name is not URI-encoded text')
    }
    const list = out.get(dir) ?? []
    list.push(parts.slice(2).join('/'))
    out.set(dir, list)
  }
  return out
}

/** Every tenant's event files (chain order: first seq, then day) and checkpoints (seq, then time). */
export async function readLayout(source: ArchiveSource): Promise<TenantLayout[]> {
  const [events, checkpoints, manifests] = await Promise.all(
    [ARCHIVE_PREFIX, CHECKPOINT_PREFIX, MANIFEST_PREFIX].map((p) => source.list(p)),
  )
  const eventKeys = new Set(events)
  const manifestKeys = new Set(manifests)
  const evByTenant = byTenant('events', events!)
  const cpByTenant = byTenant('checkpoints', checkpoints!)
  const dirs = [...new Set([...evByTenant.keys(), ...cpByTenant.keys()])].sort()
  const out: TenantLayout[] = []
  for (const dir of dirs) {
    const tenant = decodeURIComponent(dir)
    const relBase = `events/tenant=${dir}`
    const files: EventFile[] = []
    const superseded = new Map<string, Set<string>>()
    for (const rest of evByTenant.get(dir) ?? []) {
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
      if (!range) throw unexpected(tenant, rel, 'expected <first seq>-<last seq>.ndjson.gz')
      const { first, last } = range
      if (first < 1 || last < first) throw unexpected(tenant, rel, 'the seq range in the name is empty')
      files.push({ rel, dt, first, last })
    }
    files.sort((a, b) => a.first - b.first || a.last - b.last || a.dt.localeCompare(b.dt))
    const cps: CheckpointFile[] = []
    for (const rest of cpByTenant.get(dir) ?? []) {
      const rel = `checkpoints/tenant=${dir}/${rest}`
      const name = parseCheckpointName(rest)
      if (!name) throw unexpected(tenant, rel, 'expected <seq>-<time>.json')
      cps.push({ rel, ...name })
    }
    cps.sort((a, b) => (a.rel < b.rel ? -1 : 1))
    out.push({ dir, tenant, events: files, checkpoints: cps })
  }
  return out
}

// The archive copy on disk, laid out as the bucket (core/partition.ts):
//   events/tenant=<t>/dt=<YYYY-MM-DD>/<first seq, 12 digits>-<last seq, 12 digits>.ndjson.gz
//   checkpoints/tenant=<t>/<seq, 12 digits>-<time, digits only>.json
//   manifests/tenant=<t>/dt=<YYYY-MM-DD>.json   (compaction, core/archive/compaction.ts)
// Invariant: every entry under events/ and checkpoints/ must fit this layout. An unknown file is
// a break, not something to skip: a verifier that skipped files could be shown a clean subset.
// Read rule for compaction: in a partition whose manifest names parts that all exist, the files it
// lists as superseded are ignored. A manifest is not signed and needs no trust: ignoring a file can
// only remove events, which the chain's continuity and the checkpoints reveal.
// Only names (and manifests) are read here; event files are read later, one at a time.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { ChainBreak } from './breaks'

export type EventFile = { path: string; rel: string; dt: string; first: number; last: number }
export type CheckpointFile = { path: string; rel: string; seq: number; compactTime: string }

const EVENT_FILE_RE = /^(\d{12})-(\d{12})\.ndjson\.gz$/
const CHECKPOINT_FILE_RE = /^(\d{12})-(\d{8}T\d{9}Z)\.json$/
const DT_RE = /^dt=(\d{4}-\d{2}-\d{2})$/

function unexpected(tenant: string, rel: string, why: string): ChainBreak {
  return new ChainBreak({ kind: 'unexpected_file', tenant, file: rel, message: `${rel}: ${why}` })
}

function entries(dir: string) {
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []
}

const manifestSchema = z.object({
  files: z.array(z.object({ key: z.string().min(1) })),
  superseded: z.array(z.string()),
})

function supersededFiles(root: string, tenantDir: string, tenant: string, dt: string): Set<string> {
  const rel = `manifests/tenant=${tenantDir}/dt=${dt}.json`
  if (!existsSync(join(root, rel))) return new Set()
  let m: z.infer<typeof manifestSchema>
  try {
    m = manifestSchema.parse(JSON.parse(readFileSync(join(root, rel), 'utf8')))
  } catch {
    throw new ChainBreak({
      kind: 'manifest_invalid',
      tenant,
      file: rel,
      message: `${rel}: not a compaction manifest`,
    })
  }
  // Mid-compaction (parts not all written yet) the old files are still the partition.
  if (!m.files.every((f) => existsSync(join(root, f.key)))) return new Set()
  return new Set(m.superseded)
}

/** Tenant directory names (still URI-encoded) under events/ and checkpoints/. */
export function tenantDirs(root: string): string[] {
  const out = new Set<string>()
  for (const top of ['events', 'checkpoints']) {
    for (const d of entries(join(root, top))) {
      if (!d.isDirectory() || !d.name.startsWith('tenant=') || d.name === 'tenant=')
        throw unexpected('', `${top}/${d.name}`, 'expected a tenant=<tenant> directory')
      const dir = d.name.slice('tenant='.length)
      try {
        decodeURIComponent(dir)
      } catch {
        throw unexpected('', `${top}/${d.name}`, 'the tenant name is not URI-encoded text')
      }
      out.add(dir)
    }
  }
  return [...out].sort()
}

/** A tenant's event files in chain order: by first seq, then by day. */
export function eventFiles(root: string, tenantDir: string, tenant: string): EventFile[] {
  const relBase = `events/tenant=${tenantDir}`
  const out: EventFile[] = []
  for (const d of entries(join(root, relBase))) {
    const dt = DT_RE.exec(d.name)?.[1]
    if (!d.isDirectory() || !dt)
      throw unexpected(tenant, `${relBase}/${d.name}`, 'expected a dt=YYYY-MM-DD directory')
    const superseded = supersededFiles(root, tenantDir, tenant, dt)
    for (const f of entries(join(root, relBase, d.name))) {
      const rel = `${relBase}/${d.name}/${f.name}`
      if (superseded.has(rel)) continue
      const m = EVENT_FILE_RE.exec(f.name)
      if (!f.isFile() || !m) throw unexpected(tenant, rel, 'expected <first seq>-<last seq>.ndjson.gz')
      const first = Number(m[1])
      const last = Number(m[2])
      if (first < 1 || last < first) throw unexpected(tenant, rel, 'the seq range in the name is empty')
      out.push({ path: join(root, rel), rel, dt, first, last })
    }
  }
  return out.sort((a, b) => a.first - b.first || a.last - b.last || a.dt.localeCompare(b.dt))
}

/** A tenant's checkpoint files, by seq then time (their names sort that way). */
export function checkpointFiles(root: string, tenantDir: string, tenant: string): CheckpointFile[] {
  const relBase = `checkpoints/tenant=${tenantDir}`
  const out: CheckpointFile[] = []
  for (const f of entries(join(root, relBase))) {
    const rel = `${relBase}/${f.name}`
    const m = CHECKPOINT_FILE_RE.exec(f.name)
    if (!f.isFile() || !m) throw unexpected(tenant, rel, 'expected <seq>-<time>.json')
    out.push({ path: join(root, rel), rel, seq: Number(m[1]), compactTime: m[2]! })
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1))
}

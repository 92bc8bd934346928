// Compaction of one closed partition (tenant, dt). Invariants:
// - Files in a partition are named <first seq>-<last seq>[.<class>]; compaction merges runs of
//   consecutive small files (in seq order) of one retention class into parts named the same way,
//   lines in seq order, each seq once: a part holds one class, as its inputs did.
//   Files already at least half the target size are left alone, and a part's input is bounded
//   (`targetBytes` compressed), so memory stays within a Worker's limit however busy the day.
// - Steps, each idempotent: (0) finish an interrupted run (its manifest's parts all exist: delete
//   the superseded files still listed); (1) write the manifest: every authoritative file of the
//   partition (line counts, bytes, SHA-256, seq ranges) and the files this run supersedes;
//   (2) write the parts; (3) delete the superseded files.
// - Read rule (R2 reader, verifier): in a partition whose manifest names files that all exist,
//   the files it lists as superseded are ignored. A manifest whose parts are not all written yet
//   is ignored, so until step (2) completes the old files are the partition. SQL readers (Athena,
//   DuckDB) cannot follow manifests: they keep one row per (tenant, dt, seq) (athena/query.ts,
//   the events_v view), so the moment both sets are listed shows no event twice.
import { createHash } from 'node:crypto'
import {
  archiveObjectKey,
  type Manifest,
  type ManifestFile,
  manifestKey,
  parseObjectName,
  partitionPrefix,
  zoneMapKey,
} from './layout'
import { gunzipLines, gzipLines, listAll, readJson } from './r2'
import { computeZoneMap, type ZoneMap } from './zone-map'

/** Zone maps up to this size (base64 filter) are kept in the manifest; larger ones beside the file. */
const INLINE_ZONE_CHARS = 8192

/** The manifest entry with its zone map inline when small; else the zone map to write beside it. */
function withZone(file: ManifestFile, zone: ZoneMap | null): { file: ManifestFile; sidecar?: ZoneMap } {
  if (!zone) return { file }
  return zone.filter.bits.length <= INLINE_ZONE_CHARS ? { file: { ...file, zone } } : { file, sidecar: zone }
}

export const DEFAULT_TARGET_BYTES = 4 * 1024 * 1024
const MAX_FILES_PER_PART = 1000

export type CompactOptions = {
  /** Compressed input per part; a file at least half this size is left as it is. */
  targetBytes?: number
  /** Parts written per call (bounds one call's reads); the rest wait for the next sweep. */
  maxGroups?: number
}

/**
 * The read rule: the files a partition's manifest hides, given the keys the partition holds.
 * None while the manifest's parts are not all there (until then the old files are the partition).
 */
export function hiddenByManifest(
  manifest: { files: { key: string }[]; superseded: string[] } | null,
  present: ReadonlySet<string>,
): Set<string> {
  if (!manifest?.files.every((f) => present.has(f.key))) return new Set()
  return new Set(manifest.superseded)
}

export type Listed = { key: string; size: number }

/** The partition's archive objects (named <first>-<last>.ndjson.gz), in key order. */
async function listPartition(bucket: R2Bucket, prefix: string): Promise<Listed[]> {
  return (await listAll(bucket, prefix))
    .filter((o) => parseObjectName(o.key.slice(prefix.length)))
    .map((o) => ({ key: o.key, size: o.size }))
}

/**
 * The merge groups of a partition: runs of consecutive small files of one retention class (named
 * in the object name, core/archive/layout.ts), so that a part still holds one class and class
 * expiry can delete it whole.
 */
export function classMergeGroups(files: Listed[], targetBytes: number): Listed[][] {
  const byClass = new Map<string, Listed[]>()
  for (const f of files) {
    const name = parseObjectName(f.key.slice(f.key.lastIndexOf('/') + 1))
    if (!name) continue // tombstones, or not an archive object
    const cls = name.retention ?? ''
    const list = byClass.get(cls)
    if (list) list.push(f)
    else byClass.set(cls, [f])
  }
  return [...byClass.values()].flatMap((list) => mergeGroups(list, targetBytes))
}

/** Runs of consecutive small files worth merging (two or more), each within the input bound. */
export function mergeGroups(files: Listed[], targetBytes: number): Listed[][] {
  const groups: Listed[][] = []
  let cur: Listed[] = []
  let bytes = 0
  const close = () => {
    if (cur.length > 1) groups.push(cur)
    cur = []
    bytes = 0
  }
  for (const f of files) {
    if (f.size >= targetBytes / 2) {
      close()
      continue
    }
    if (cur.length > 0 && (bytes + f.size > targetBytes || cur.length >= MAX_FILES_PER_PART)) close()
    cur.push(f)
    bytes += f.size
  }
  close()
  return groups
}

export function readManifest(bucket: R2Bucket, tenant: string, dt: string): Promise<Manifest | null> {
  return readJson<Manifest>(bucket, manifestKey(tenant, dt))
}

async function describe(bucket: R2Bucket, key: string): Promise<{ file: ManifestFile; sidecar?: ZoneMap }> {
  const obj = await bucket.get(key)
  if (!obj) throw new Error(`${key} disappeared while compacting; the next run starts over`)
  const body = await obj.arrayBuffer()
  const range = parseObjectName(key.slice(key.lastIndexOf('/') + 1))!
  const lines = await gunzipLines(body)
  const file = {
    key,
    lines: lines.length,
    bytes: body.byteLength,
    sha256: createHash('sha256').update(new Uint8Array(body)).digest('hex'),
    first_seq: range.first,
    last_seq: range.last,
  }
  return withZone(file, computeZoneMap(lines, body.byteLength))
}

function putZoneMap(bucket: R2Bucket, key: string, zone: ZoneMap) {
  return bucket.put(zoneMapKey(key), JSON.stringify(zone), {
    httpMetadata: { contentType: 'application/json' },
  })
}

/** Compacts one partition; returns the manifest written, or null when there was nothing to do. */
export async function compactPartition(
  bucket: R2Bucket,
  tenant: string,
  dt: string,
  o: CompactOptions = {},
): Promise<Manifest | null> {
  const prefix = partitionPrefix(tenant, dt)
  let listed = await listPartition(bucket, prefix)
  const previous = await readManifest(bucket, tenant, dt)
  const present = new Set(listed.map((f) => f.key))
  // Finish an interrupted run: its parts are all written, so what it superseded can go.
  const leftover = [...hiddenByManifest(previous, present)].filter((k) => present.has(k))
  for (const k of leftover) await bucket.delete(k)
  listed = listed.filter((f) => !leftover.includes(f.key))
  const groups = classMergeGroups(listed, o.targetBytes ?? DEFAULT_TARGET_BYTES).slice(0, o.maxGroups ?? 4)
  if (groups.length === 0) return null
  const parts: { file: ManifestFile; body: Uint8Array; sidecar?: ZoneMap }[] = []
  const superseded: string[] = []
  for (const group of groups) {
    const lines: { seq: number; line: string }[] = []
    for (const f of group) {
      const obj = await bucket.get(f.key)
      if (!obj) throw new Error(`${f.key} disappeared while compacting; the next run starts over`)
      for (const line of await gunzipLines(await obj.arrayBuffer()))
        lines.push({ seq: (JSON.parse(line) as { seq: number }).seq, line })
    }
    lines.sort((a, b) => a.seq - b.seq)
    const unique = lines.filter((l, i) => i === 0 || l.seq !== lines[i - 1]!.seq)
    const first = unique[0]!.seq
    const last = unique[unique.length - 1]!.seq
    const retention = parseObjectName(group[0]!.key.slice(prefix.length))?.retention
    const key = archiveObjectKey(tenant, dt, first, last, retention)
    if (present.has(key) && !group.some((f) => f.key === key))
      throw new Error(`${key} exists outside the files merged into it`)
    const partLines = unique.map((u) => u.line)
    const body = await gzipLines(partLines)
    const sha256 = createHash('sha256').update(body).digest('hex')
    const file = {
      key,
      lines: unique.length,
      bytes: body.byteLength,
      sha256,
      first_seq: first,
      last_seq: last,
    }
    parts.push({ ...withZone(file, computeZoneMap(partLines, body.byteLength)), body })
    superseded.push(...group.map((f) => f.key).filter((k) => k !== key))
  }
  // The manifest describes every file of the partition: parts of earlier runs as recorded, and
  // files this run leaves alone (a lone late file, say) read and described now.
  const partKeys = new Set(parts.map((p) => p.file.key))
  const recorded = new Map((previous?.files ?? []).map((f) => [f.key, f]))
  const others: ManifestFile[] = []
  const sidecars: [string, ZoneMap][] = []
  for (const f of listed) {
    if (partKeys.has(f.key) || superseded.includes(f.key)) continue
    const known = recorded.get(f.key)
    if (known) {
      others.push(known)
      continue
    }
    const d = await describe(bucket, f.key)
    others.push(d.file)
    if (d.sidecar) sidecars.push([f.key, d.sidecar])
  }
  const manifest: Manifest = {
    tenant,
    dt,
    compacted_at: new Date().toISOString(),
    files: [...others, ...parts.map((p) => p.file)].sort((a, b) => a.first_seq - b.first_seq),
    superseded,
  }
  await bucket.put(manifestKey(tenant, dt), JSON.stringify(manifest), {
    httpMetadata: { contentType: 'application/json' },
  })
  for (const p of parts) {
    await bucket.put(p.file.key, p.body, {
      httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
      customMetadata: { lines: String(p.file.lines), compacted: 'true' },
    })
    if (p.sidecar) sidecars.push([p.file.key, p.sidecar])
  }
  for (const [k, zone] of sidecars) await putZoneMap(bucket, k, zone)
  for (const k of superseded) await bucket.delete(k)
  // Zone maps of superseded files describe nothing a reader takes any more.
  for (const k of superseded) await bucket.delete(zoneMapKey(k))
  return manifest
}

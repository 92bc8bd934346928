// Compaction of closed days. Invariants:
// - A partition (tenant, dt) is compacted once its day is closed (older than `graceDays`); late
//   events that arrive afterwards add small files, and the next run compacts again.
// - Steps, each idempotent: (1) write the manifest naming the merged parts and the files they
//   supersede; (2) write the merged parts (named <first seq>-<last seq> like every archive object,
//   lines in seq order); (3) delete the superseded files.
// - Read rule (verifier, README): in a partition with a manifest whose parts all exist, the files
//   it lists as superseded are ignored. SQL readers (Athena, DuckDB) read the `events_v` view,
//   which keeps one row per (tenant, dt, seq). So no reader ever sees an event missing or twice.
import { createHash } from 'node:crypto'
import { ARCHIVE_PREFIX, archiveObjectKey, partitionPrefix } from '../partition'

export const MANIFEST_PREFIX = 'manifests/'
const PART_LINES = 100_000
const FILE_RE = /^(\d{12})-(\d{12})\.ndjson\.gz$/

export type ManifestFile = {
  key: string
  lines: number
  bytes: number
  sha256: string
  first_seq: number
  last_seq: number
}
export type Manifest = {
  tenant: string
  dt: string
  compacted_at: string
  files: ManifestFile[]
  superseded: string[]
}

export function manifestKey(tenant: string, dt: string): string {
  return `${MANIFEST_PREFIX}tenant=${encodeURIComponent(tenant)}/dt=${dt}.json`
}

async function gunzipText(bytes: ArrayBuffer): Promise<string> {
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
}

async function gzip(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer(),
  )
}

async function listAll(bucket: R2Bucket, prefix: string, delimiter?: string) {
  const keys: string[] = []
  const prefixes: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, cursor, delimiter, limit: 1000 })
    keys.push(...page.objects.map((o) => o.key))
    prefixes.push(...(page.delimitedPrefixes ?? []))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return { keys, prefixes }
}

/** Compacts one partition; returns the manifest written, or null when there was nothing to do. */
export async function compactPartition(
  bucket: R2Bucket,
  tenant: string,
  dt: string,
): Promise<Manifest | null> {
  const prefix = partitionPrefix(tenant, dt)
  const { keys } = await listAll(bucket, prefix)
  const objects = keys.filter((k) => FILE_RE.test(k.slice(prefix.length)))
  if (objects.length <= 1) return null
  const lines: { seq: number; line: string }[] = []
  for (const key of objects) {
    const obj = await bucket.get(key)
    if (!obj) continue
    for (const line of (await gunzipText(await obj.arrayBuffer())).split('\n')) {
      if (line) lines.push({ seq: (JSON.parse(line) as { seq: number }).seq, line })
    }
  }
  // A file superseded by an earlier, interrupted run may still be listed: keep each seq once.
  lines.sort((a, b) => a.seq - b.seq)
  const unique = lines.filter((l, i) => i === 0 || l.seq !== lines[i - 1]!.seq)
  const parts: { key: string; text: string; first: number; last: number; count: number }[] = []
  for (let i = 0; i < unique.length; i += PART_LINES) {
    const chunk = unique.slice(i, i + PART_LINES)
    const first = chunk[0]!.seq
    const last = chunk[chunk.length - 1]!.seq
    parts.push({
      key: archiveObjectKey(tenant, dt, first, last),
      text: `${chunk.map((c) => c.line).join('\n')}\n`,
      first,
      last,
      count: chunk.length,
    })
  }
  const partKeys = new Set(parts.map((p) => p.key))
  const superseded = objects.filter((k) => !partKeys.has(k))
  const files: ManifestFile[] = []
  const bodies: Uint8Array[] = []
  for (const p of parts) {
    const body = await gzip(p.text)
    bodies.push(body)
    files.push({
      key: p.key,
      lines: p.count,
      bytes: body.byteLength,
      sha256: createHash('sha256').update(body).digest('hex'),
      first_seq: p.first,
      last_seq: p.last,
    })
  }
  const manifest: Manifest = { tenant, dt, compacted_at: new Date().toISOString(), files, superseded }
  await bucket.put(manifestKey(tenant, dt), JSON.stringify(manifest), {
    httpMetadata: { contentType: 'application/json' },
  })
  for (const [i, p] of parts.entries()) {
    await bucket.put(p.key, bodies[i]!, {
      httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
      customMetadata: { lines: String(p.count), compacted: 'true' },
    })
  }
  for (const k of superseded) await bucket.delete(k)
  return manifest
}

/**
 * Compacts every closed partition with more than one file, at most `maxPartitions` per run. A
 * partition that fails (an unreadable object, say) is reported and skipped, so it cannot hold
 * back every partition listed after it.
 */
export async function compactClosedDays(
  bucket: R2Bucket,
  opts: { graceDays?: number; maxPartitions?: number; now?: Date } = {},
) {
  const today = (opts.now ?? new Date()).getTime()
  const closedBefore = new Date(today - (opts.graceDays ?? 1) * 86_400_000).toISOString().slice(0, 10)
  const max = opts.maxPartitions ?? 50
  const manifests: Manifest[] = []
  const failed: { tenant: string; dt: string; error: string }[] = []
  const tenants = (await listAll(bucket, ARCHIVE_PREFIX, '/')).prefixes
  for (const t of tenants) {
    const tenant = decodeURIComponent(t.slice(`${ARCHIVE_PREFIX}tenant=`.length, -1))
    for (const d of (await listAll(bucket, t, '/')).prefixes) {
      const dt = d.slice(t.length + 'dt='.length, -1)
      if (dt >= closedBefore) continue
      try {
        const m = await compactPartition(bucket, tenant, dt)
        if (m) manifests.push(m)
      } catch (err) {
        failed.push({ tenant, dt, error: err instanceof Error ? err.message : String(err) })
      }
      if (manifests.length + failed.length >= max) return { manifests, failed }
    }
  }
  return { manifests, failed }
}

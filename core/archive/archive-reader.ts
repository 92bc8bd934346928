// Reads the archive straight from R2, applying the compaction read rule (a manifest whose parts
// all exist hides the files it supersedes): a whole partition, keeping each seq once, or the one
// line of a stored event (its partition is the UTC day of its occurred_at, its object the one whose
// name's seq range holds its seq).

import type { StoredEvent } from '../ingest/stored-event'
import { verifiedEvent } from '../integrity/verified-read'
import { hiddenByManifest, readManifest } from './compaction'
import {
  type Manifest,
  parseObjectName,
  partitionPrefix,
  utcDate,
  zoneMapKey,
  zoneMapPartitionPrefix,
} from './layout'
import { gunzipLines, listAll, readJson } from './r2'
import { canExclude, mayMatch, parseZoneMap, type ZoneMap, type ZoneQuery } from './zone-map'

export type VisibleObject = { key: string; first: number; last: number; size: number }

async function partitionView(
  bucket: R2Bucket,
  tenant: string,
  dt: string,
): Promise<{ objects: VisibleObject[]; manifest: Manifest | null }> {
  const prefix = partitionPrefix(tenant, dt)
  const listed = await listAll(bucket, prefix)
  if (listed.length === 0) return { objects: [], manifest: null }
  const manifest = await readManifest(bucket, tenant, dt)
  const hidden = hiddenByManifest(manifest, new Set(listed.map((o) => o.key)))
  const objects: VisibleObject[] = []
  for (const { key, size } of listed) {
    const range = hidden.has(key) ? null : parseObjectName(key.slice(prefix.length))
    if (range) objects.push({ key, first: range.first, last: range.last, size })
  }
  return { objects, manifest }
}

/** The partition's archive objects a reader takes, in key order, with the seq range each names. */
export async function visibleObjects(bucket: R2Bucket, tenant: string, dt: string): Promise<VisibleObject[]> {
  return (await partitionView(bucket, tenant, dt)).objects
}

/**
 * The zone maps of the partition's objects that have one describing the object as listed (its
 * byte count is the listed size): from the manifest, else from the object's zone map beside it.
 * Zone map objects are looked up (one listing) only when the query can exclude an object by them.
 */
async function zoneMaps(
  bucket: R2Bucket,
  tenant: string,
  dt: string,
  objects: VisibleObject[],
  manifest: Manifest | null,
  q: ZoneQuery,
): Promise<Map<string, ZoneMap>> {
  const out = new Map<string, ZoneMap>()
  const size = new Map(objects.map((o) => [o.key, o.size]))
  for (const f of manifest?.files ?? []) {
    const z = f.zone ? parseZoneMap(f.zone) : null
    if (z && size.get(f.key) === z.bytes) out.set(f.key, z)
  }
  const missing = objects.filter((o) => !out.has(o.key))
  if (missing.length === 0 || !canExclude(q, dt)) return out
  const present = new Set((await listAll(bucket, zoneMapPartitionPrefix(tenant, dt))).map((o) => o.key))
  const wanted = missing.filter((o) => present.has(zoneMapKey(o.key)))
  for (let i = 0; i < wanted.length; i += 16) {
    await Promise.all(
      wanted.slice(i, i + 16).map(async (o) => {
        let z: ZoneMap | null = null
        try {
          z = parseZoneMap(await readJson(bucket, zoneMapKey(o.key)))
        } catch {
          z = null // unreadable: the object is read instead
        }
        if (z && z.bytes === o.size) out.set(o.key, z)
      }),
    )
  }
  return out
}

/**
 * Every event of the partition, each seq once. With a query, objects whose zone map shows they
 * hold no event it can match are not read (objects without a zone map always are): the events
 * returned then include every event of the partition the query matches.
 */
export async function readPartition(
  bucket: R2Bucket,
  tenant: string,
  dt: string,
  q?: ZoneQuery,
): Promise<StoredEvent[]> {
  const bySeq = new Map<number, StoredEvent>()
  const view = await partitionView(bucket, tenant, dt)
  let objects = view.objects
  if (q && objects.length > 0) {
    const zones = await zoneMaps(bucket, tenant, dt, objects, view.manifest, q)
    objects = objects.filter((o) => {
      const z = zones.get(o.key)
      return !z || mayMatch(z, q)
    })
  }
  for (const { key } of objects) {
    const obj = await bucket.get(key)
    if (!obj) continue
    for (const line of await gunzipLines(await obj.arrayBuffer())) {
      const e = verifiedEvent(line)
      bySeq.set(e.seq, e)
    }
  }
  return [...bySeq.values()]
}

/**
 * The archived line of the stored event `at` (exactly as written), or null when the archive holds
 * no line with its seq and id. The line is not checked here: the caller re-hashes it before use.
 * An object deleted between listing and reading (compaction finishing) makes it list once more.
 */
export async function findArchivedLine(
  bucket: R2Bucket,
  tenant: string,
  at: { id: string; seq: number; occurredAt: string },
): Promise<string | null> {
  const dt = utcDate(at.occurredAt)
  for (let listing = 0; listing < 2; listing++) {
    let vanished = false
    for (const o of await visibleObjects(bucket, tenant, dt)) {
      if (at.seq < o.first || at.seq > o.last) continue
      const obj = await bucket.get(o.key)
      if (!obj) {
        vanished = true
        continue
      }
      const line = await lineOf(obj.body, at)
      if (line !== null) return line
    }
    if (!vanished) return null
  }
  return null
}

/** Streams a gzip NDJSON object and stops at the line of `at` (never holding the whole object). */
async function lineOf(body: ReadableStream, at: { id: string; seq: number }): Promise<string | null> {
  // Cheap first test; JSON decides (the same text could sit in a nested member).
  const needle = `"seq":${at.seq}`
  const reader = body
    .pipeThrough(new DecompressionStream('gzip'))
    .pipeThrough(new TextDecoderStream())
    .getReader()
  let rest = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      const lines = (done ? rest : rest + value).split('\n')
      rest = done ? '' : lines.pop()!
      for (const line of lines) if (line.includes(needle) && isLineOf(line, at)) return line
      if (done) return null
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

function isLineOf(line: string, at: { id: string; seq: number }): boolean {
  try {
    const e = JSON.parse(line) as { id?: unknown; seq?: unknown }
    return e.seq === at.seq && e.id === at.id
  } catch {
    return false
  }
}

// Reads the archive straight from R2, applying the compaction read rule (a manifest whose parts
// all exist hides the files it supersedes): a whole partition, keeping each seq once, or the one
// line of a stored event (its partition is the UTC day of its occurred_at, its object the one whose
// name's seq range holds its seq).

import type { StoredEvent } from '../ingest/stored-event'
import { verifiedEvent } from '../integrity/verified-read'
import { hiddenByManifest, readManifest } from './compaction'
import { parseObjectName, partitionPrefix, utcDate } from './layout'
import { gunzipLines, listAll } from './r2'

export type VisibleObject = { key: string; first: number; last: number }

/** The partition's archive objects a reader takes, in key order, with the seq range each names. */
export async function visibleObjects(bucket: R2Bucket, tenant: string, dt: string): Promise<VisibleObject[]> {
  const prefix = partitionPrefix(tenant, dt)
  const keys = (await listAll(bucket, prefix)).map((o) => o.key)
  if (keys.length === 0) return []
  const hidden = hiddenByManifest(await readManifest(bucket, tenant, dt), new Set(keys))
  const out: VisibleObject[] = []
  for (const key of keys) {
    const range = hidden.has(key) ? null : parseObjectName(key.slice(prefix.length))
    if (range) out.push({ key, ...range })
  }
  return out
}

export async function readPartition(bucket: R2Bucket, tenant: string, dt: string): Promise<StoredEvent[]> {
  const bySeq = new Map<number, StoredEvent>()
  for (const { key } of await visibleObjects(bucket, tenant, dt)) {
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

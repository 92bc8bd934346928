// Reads one archive partition straight from R2, applying the compaction read rule (a manifest
// whose parts all exist hides the files it supersedes) and keeping each seq once.
import { partitionPrefix } from '../partition'
import type { StoredEvent } from '../stored-event'
import { type Manifest, manifestKey } from './compaction'

async function gunzipText(bytes: ArrayBuffer): Promise<string> {
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
}

export async function readPartition(bucket: R2Bucket, tenant: string, dt: string): Promise<StoredEvent[]> {
  const prefix = partitionPrefix(tenant, dt)
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 })
    keys.push(...page.objects.map((o) => o.key))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  if (keys.length === 0) return []
  const manifestObj = await bucket.get(manifestKey(tenant, dt))
  let skip = new Set<string>()
  if (manifestObj) {
    const m = (await manifestObj.json()) as Manifest
    if (m.files.every((f) => keys.includes(f.key))) skip = new Set(m.superseded)
  }
  const bySeq = new Map<number, StoredEvent>()
  for (const key of keys) {
    if (skip.has(key) || !key.endsWith('.ndjson.gz')) continue
    const obj = await bucket.get(key)
    if (!obj) continue
    for (const line of (await gunzipText(await obj.arrayBuffer())).split('\n')) {
      if (!line) continue
      const e = JSON.parse(line) as StoredEvent
      bySeq.set(e.seq, e)
    }
  }
  return [...bySeq.values()]
}

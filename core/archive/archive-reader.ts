// Reads one archive partition straight from R2, applying the compaction read rule (a manifest
// whose parts all exist hides the files it supersedes) and keeping each seq once.

import type { StoredEvent } from '../ingest/stored-event'
import { hiddenByManifest, readManifest } from './compaction'
import { parseObjectName, partitionPrefix } from './layout'
import { gunzipLines, listAll } from './r2'

export async function readPartition(bucket: R2Bucket, tenant: string, dt: string): Promise<StoredEvent[]> {
  const prefix = partitionPrefix(tenant, dt)
  const keys = (await listAll(bucket, prefix)).map((o) => o.key)
  if (keys.length === 0) return []
  const hidden = hiddenByManifest(await readManifest(bucket, tenant, dt), new Set(keys))
  const bySeq = new Map<number, StoredEvent>()
  for (const key of keys) {
    if (hidden.has(key) || !parseObjectName(key.slice(prefix.length))) continue
    const obj = await bucket.get(key)
    if (!obj) continue
    for (const line of await gunzipLines(await obj.arrayBuffer())) {
      const e = JSON.parse(line) as StoredEvent
      bySeq.set(e.seq, e)
    }
  }
  return [...bySeq.values()]
}

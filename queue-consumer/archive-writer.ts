// Writes archive objects: gzip NDJSON, one stored event per line, in chain order. Object keys
// are deterministic (core/archive/layout.ts), so a retried write replaces the object with the same
// bytes and never adds a second copy.
import { gzipLines } from '../core/archive/r2'
import type { Db } from '../core/db/client'
import { groupRun, markSegmentWritten, pendingSegments, segmentBodies } from '../core/db/outbox'
import type { Chained } from '../core/integrity/chain'

async function putSegment(bucket: R2Bucket, key: string, lines: string[]) {
  const body = await gzipLines(lines)
  await bucket.put(key, body, {
    httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
    customMetadata: { lines: String(lines.length) },
  })
}

/**
 * Writes every pending segment of the tenant to R2 and marks it written. Segments of the run
 * just committed are written from memory; older ones (a previous attempt that failed after its
 * D1 commit) are rebuilt from D1. Throws if any write fails, so the caller retries.
 */
export async function flushPendingSegments(
  db: Db,
  bucket: R2Bucket,
  tenant: string,
  justCommitted: Pick<Chained, 'stored' | 'lines'> = { stored: [], lines: [] },
): Promise<{ objects: number; rowsWritten: number }> {
  const inMemory = new Map<string, string[]>()
  const { stored, lines: canonical } = justCommitted
  for (const g of groupRun(tenant, stored))
    inMemory.set(
      g.key,
      g.indexes.map((i) => canonical[i]!),
    )
  let objects = 0
  let rowsWritten = 0
  for (;;) {
    const pending = await pendingSegments(db, tenant)
    if (pending.length === 0) return { objects, rowsWritten }
    for (const s of pending) {
      const lines = inMemory.get(s.objectKey) ?? (await segmentBodies(db, s))
      if (lines.length !== s.eventCount) {
        throw new Error(`segment ${s.objectKey} expects ${s.eventCount} events, D1 holds ${lines.length}`)
      }
      await putSegment(bucket, s.objectKey, lines)
      rowsWritten += await markSegmentWritten(db, s)
      objects++
    }
  }
}

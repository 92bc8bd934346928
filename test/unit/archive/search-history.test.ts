// Archive-backed history, paged the way an export pages it: the same events whether or not a
// read day is kept between pages, and with it each archive object is read once.
import { describe, expect, it } from 'vitest'
import { archiveObjectKey } from '../../../core/archive/layout'
import { gzipLines } from '../../../core/archive/r2'
import type { Db } from '../../../core/db/client'
import type { PageKey } from '../../../core/db/search'
import { type StoredEvent, toPendingEvent } from '../../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../../core/integrity/chain'
import { filtersOf, searchQuerySchema } from '../../../core/search/filters'
import { type HistoryOptions, searchHistory } from '../../../core/search/history'
import { memoryBucket } from '../../support/memory-bucket'

async function archive() {
  const { bucket } = memoryBucket()
  const pending = Array.from({ length: 30 }, (_, i) =>
    toPendingEvent(
      {
        id: `h-${String(i).padStart(2, '0')}`,
        occurred_at: new Date(Date.UTC(2026, 0, 10 + (i % 3), 8, i)).toISOString(),
        action: 'doc.updated',
        actor: { type: 'user', id: 'u1' },
        target: { type: 'doc', id: 'd1' },
      } as never,
      'acme',
      '2026-01-13T00:00:00.000Z',
      { key_id: 'k', request_id: 'r' },
    ),
  )
  const { stored, lines } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  // One object per day and consumer run of ten events.
  for (let run = 0; run < 3; run++) {
    const part = stored.slice(run * 10, run * 10 + 10)
    const byDay = new Map<string, string[]>()
    for (const [i, e] of part.entries())
      byDay.set(e.occurred_at.slice(0, 10), [
        ...(byDay.get(e.occurred_at.slice(0, 10)) ?? []),
        lines[run * 10 + i]!,
      ])
    for (const [dt, l] of byDay)
      await bucket.put(archiveObjectKey('acme', dt, part[0]!.seq, part.at(-1)!.seq), await gzipLines(l))
  }
  let gets = 0
  const get = bucket.get.bind(bucket)
  bucket.get = ((key: string) => {
    gets++
    return get(key)
  }) as typeof bucket.get
  return { bucket, gets: () => gets }
}

async function pageThrough(bucket: R2Bucket, o: HistoryOptions) {
  const filters = filtersOf(searchQuerySchema.parse({ until: '2026-01-31T00:00:00Z' }))
  const ids: string[] = []
  let after: PageKey | undefined
  for (;;) {
    // Every day asked for is older than the cutoff: D1 is never asked.
    const page = await searchHistory({} as Db, bucket, 'acme', filters, 4, after, o)
    ids.push(...page.events.map((e: StoredEvent) => e.id))
    if (!page.next) return ids
    after = page.next
  }
}

describe('archive-backed history', () => {
  it('pages through the archive reading each day once when the caller keeps the last day', async () => {
    const cutoff = '2026-02-01T00:00:00.000Z'
    const plain = await archive()
    const kept = await archive()
    const without = await pageThrough(plain.bucket, { cutoff })
    const withDay = await pageThrough(kept.bucket, { cutoff, keptDays: new Map() })
    expect(withDay).toEqual(without)
    expect(new Set(withDay).size).toBe(30)
    // 3 days x (3 objects + the manifest lookup) once each, against once per page without.
    expect(kept.gets()).toBe(12)
    expect(plain.gets()).toBeGreaterThan(kept.gets())
  })
})

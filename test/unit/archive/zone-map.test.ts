// Zone maps: the filter never misses a value it holds and stays near its stated false-positive
// rate; an archive search that skips objects by them returns exactly what a full scan returns.
import { describe, expect, it } from 'vitest'
import { compactPartition, readManifest } from '../../../core/archive/compaction'
import { archiveObjectKey, manifestKey, zoneMapKey } from '../../../core/archive/layout'
import { gzipLines } from '../../../core/archive/r2'
import { bloomFilter, bloomHas, computeZoneMap } from '../../../core/archive/zone-map'
import type { Db } from '../../../core/db/client'
import type { PageKey } from '../../../core/db/search'
import { type StoredEvent, toPendingEvent } from '../../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../../core/integrity/chain'
import { filtersOf, searchQuerySchema } from '../../../core/search/filters'
import { searchHistory } from '../../../core/search/history'
import { memoryBucket } from '../../support/memory-bucket'

const rand = (i: number) => `${i.toString(36)}-${Math.random().toString(36).slice(2)}`

describe('bloom filter', () => {
  it('holds every inserted value and keeps false positives near the stated rate', () => {
    for (const n of [1, 50, 3000]) {
      const keys = new Set(Array.from({ length: n }, (_, i) => rand(i)))
      const f = bloomFilter(keys)
      for (const k of keys) expect(bloomHas(f, k)).toBe(true)
      let fp = 0
      const probes = 20_000
      for (let i = 0; i < probes; i++) if (bloomHas(f, `other-${rand(i)}`)) fp++
      expect(f.fpp).toBeLessThanOrEqual(0.011)
      expect(fp / probes).toBeLessThan(0.03)
    }
  })
})

const ACTORS = 40
async function archive(sidecars: boolean) {
  const { bucket, objects } = memoryBucket()
  const pending = Array.from({ length: 400 }, (_, i) =>
    toPendingEvent(
      {
        id: `z-${String(i).padStart(3, '0')}`,
        occurred_at: new Date(Date.UTC(2026, 0, 10, 0, i)).toISOString(),
        action: ['user.login', 'doc.updated', 'user.role.updated'][i % 3],
        actor: { type: 'user', id: `u${(i * 7) % ACTORS}` },
        target: { type: 'doc', id: `d${i % 13}` },
        ...(i % 5 === 0 ? { parent: { type: 'folder', id: `f${i % 4}` } } : {}),
        context: { correlation_id: `c${Math.floor(i / 3)}` },
      } as never,
      'acme',
      '2026-01-11T00:00:00.000Z',
      { key_id: 'k', request_id: 'r' },
    ),
  )
  const { stored, lines } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  for (let run = 0; run < 40; run++) {
    const l = lines.slice(run * 10, run * 10 + 10)
    const key = archiveObjectKey('acme', '2026-01-10', stored[run * 10]!.seq, stored[run * 10 + 9]!.seq)
    const body = await gzipLines(l)
    await bucket.put(key, body)
    if (sidecars) await bucket.put(zoneMapKey(key), JSON.stringify(computeZoneMap(l, body.byteLength)!))
  }
  const read: string[] = []
  const get = bucket.get.bind(bucket)
  bucket.get = ((key: string) => {
    if (key.startsWith('events/')) read.push(key)
    return get(key)
  }) as typeof bucket.get
  return { bucket, objects, read }
}

async function all(bucket: R2Bucket, q: Record<string, string>) {
  // Every day asked for is older than the cutoff: D1 is never asked.
  const filters = filtersOf(searchQuerySchema.parse({ until: '2026-01-31T00:00:00.000Z', ...q }))
  const ids: string[] = []
  let after: PageKey | undefined
  for (;;) {
    const page = await searchHistory({} as Db, bucket, 'acme', filters, 60, after, {
      cutoff: '2026-02-01T00:00:00.000Z',
    })
    ids.push(...page.events.map((e: StoredEvent) => e.id))
    if (!page.next) return ids
    after = page.next
  }
}

const QUERIES: Record<string, string>[] = [
  { actor_id: 'u3' },
  { correlation_id: 'c17' },
  { action: 'user.role.updated' },
  { action: 'user.*' },
  { action: 'user.ro*' },
  { target_type: 'folder', target_id: 'f1', include_children: 'true' },
  { target_type: 'doc', target_id: 'd5' },
  { since: '2026-01-10T05:00:00.000Z', until: '2026-01-10T05:30:00.000Z' },
  { actor_id: 'nobody' },
  {},
]

describe('archive search with zone maps', () => {
  it('returns exactly what a full scan returns, reading fewer objects for selective filters', async () => {
    for (const q of QUERIES) {
      const plain = await archive(false)
      const zoned = await archive(true)
      const expected = await all(plain.bucket, q)
      expect(await all(zoned.bucket, q), JSON.stringify(q)).toEqual(expected)
      expect(zoned.read.length).toBeLessThanOrEqual(plain.read.length)
    }
    const plain = await archive(false)
    const zoned = await archive(true)
    expect(await all(zoned.bucket, { correlation_id: 'c17' })).toEqual(
      await all(plain.bucket, { correlation_id: 'c17' }),
    )
    expect(new Set(plain.read).size).toBe(40)
    expect(new Set(zoned.read).size).toBeLessThanOrEqual(3)
  }, 60_000)

  it('compaction records zone maps in the manifest; manifests without them still read', async () => {
    const { bucket, objects, read } = await archive(false)
    await compactPartition(bucket, 'acme', '2026-01-10', { targetBytes: 8 * 1024 })
    const manifest = (await readManifest(bucket, 'acme', '2026-01-10'))!
    expect(manifest.files.length).toBeGreaterThan(1)
    expect(manifest.files.every((f) => f.zone && f.zone.bytes === f.bytes)).toBe(true)
    const reference = await all((await archive(false)).bucket, { actor_id: 'u3' })
    read.length = 0
    expect(await all(bucket, { actor_id: 'u3' })).toEqual(reference)
    const withZones = read.length
    expect(withZones).toBeLessThan(manifest.files.length)
    // The same manifest as an older release wrote it: no zone maps, every file is read.
    const old = { ...manifest, files: manifest.files.map(({ zone: _z, ...f }) => f) }
    await bucket.put(manifestKey('acme', '2026-01-10'), JSON.stringify(old))
    expect([...objects.keys()].some((k) => k.startsWith('zone-maps/'))).toBe(false)
    read.length = 0
    expect(await all(bucket, { actor_id: 'u3' })).toEqual(reference)
    expect(read.length).toBeGreaterThan(withZones)
  })
})

import { gzipSync } from 'node:zlib'
import { AwsClient } from 'aws4fetch'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { compactPartition } from '../../../core/archive/compaction'
import { archiveObjectKey, partitionPrefix } from '../../../core/archive/layout'
import { isPrefixMirrored, mirrorObject, mirrorStatus, reconcileMirror } from '../../../core/archive/mirror'
import { listS3, mirrorOf } from '../../../core/archive/s3-mirror'
import type { Env } from '../../../core/env'
import { handleArchiveNotifications } from '../../../queue-consumer/archive-notifications'
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from '../../support/local-s3'
import { memoryBucket } from '../../support/memory-bucket'

let s3: Awaited<ReturnType<typeof startLocalS3>>
let n = 0
const s3Url = (env: { S3_PREFIX: string }, key: string) =>
  `${s3.endpoint}/${s3.bucket}/${(env.S3_PREFIX + key).split('/').map(encodeURIComponent).join('/')}`
const aws = new AwsClient({ ...LOCAL_S3_CREDENTIALS, service: 's3', region: 'us-east-1' })

beforeAll(async () => {
  s3 = await startLocalS3()
})
afterAll(async () => {
  await s3?.stop()
})

/** A fresh R2 stand-in mirrored into its own prefix of the local S3 bucket. */
function setup() {
  const { bucket, objects } = memoryBucket()
  const env = {
    ARCHIVE: bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    S3_PREFIX: `run-${++n}/`,
  }
  return { env, bucket, objects, m: mirrorOf(env)! }
}

const segment = (from: number, to: number) =>
  gzipSync(
    Array.from(
      { length: to - from + 1 },
      (_, i) => `${JSON.stringify({ seq: from + i, pad: 'x'.repeat(40) })}\n`,
    ).join(''),
  )

async function putSegments(bucket: R2Bucket, tenant: string, dt: string, ranges: [number, number][]) {
  for (const [a, b] of ranges) await bucket.put(archiveObjectKey(tenant, dt, a, b), segment(a, b))
}

async function s3Bytes(env: ReturnType<typeof setup>['env'], key: string) {
  const res = await aws.fetch(s3Url(env, key))
  return res.ok ? new Uint8Array(await res.arrayBuffer()) : null
}

/** R2 and S3 hold the same keys with the same bytes. */
async function expectMirrored(t: ReturnType<typeof setup>) {
  const inS3 = new Map<string, unknown>()
  for (const p of ['events/', 'checkpoints/', 'manifests/'])
    for (const k of (await listS3(t.m, p)).keys()) inS3.set(k, 1)
  const inR2 = [...t.objects.keys()].filter((k) => !k.startsWith('mirror-state/')).sort()
  expect([...inS3.keys()].sort()).toEqual(inR2)
  for (const k of inR2) expect(await s3Bytes(t.env, k), k).toEqual(t.objects.get(k)!.bytes)
}

async function seed(t: ReturnType<typeof setup>) {
  await putSegments(t.bucket, 'acme', '2026-01-01', [
    [1, 10],
    [11, 20],
    [21, 30],
  ])
  await putSegments(t.bucket, 'acme', '2026-01-02', [[31, 40]])
  await putSegments(t.bucket, 'a b/ü', '2026-01-01', [[1, 5]])
  await t.bucket.put('checkpoints/tenant=acme/000000000040-20260102T000000000Z.json', '{"seq":40}')
}

describe('R2 -> S3 mirror reconciler (local S3 server)', () => {
  let t: ReturnType<typeof setup>
  beforeEach(async () => {
    t = setup()
    await seed(t)
  })

  it('is off, and says so, when the S3 settings are missing', async () => {
    const env = { ARCHIVE: t.bucket }
    expect(await mirrorStatus(env)).toMatchObject({
      enabled: false,
      reason: expect.stringContaining('S3_ENDPOINT'),
    })
    expect(await reconcileMirror(env)).toMatchObject({ enabled: false, copied: 0 })
    expect(await mirrorObject(env, 'events/x')).toBe(0)
  })

  it('copies everything byte for byte, and a second run copies nothing', async () => {
    expect(await mirrorStatus(t.env)).toMatchObject({ missing_objects: 6, s3_objects: 0 })
    const first = await reconcileMirror(t.env)
    expect(first).toMatchObject({ copied: 6, sweep_finished: true })
    await expectMirrored(t)
    const second = await reconcileMirror(t.env)
    expect(second).toMatchObject({ copied: 0, compared: 6, sweep_finished: true })
    expect(await mirrorStatus(t.env)).toMatchObject({ missing_objects: 0, missing_bytes: 0, sweeps: 2 })
  })

  it('does bounded work per run and carries on from its cursor, copying each object once', async () => {
    const runs = []
    for (let i = 0; i < 10; i++) {
      const r = await reconcileMirror(t.env, { maxCopies: 2, maxPages: 1, pageSize: 2 })
      runs.push(r)
      expect(r.pages).toBe(1)
      expect(r.copied).toBeLessThanOrEqual(2)
      if (r.sweep_finished) break
    }
    expect(runs.reduce((s, r) => s + r.copied, 0)).toBe(6)
    expect(runs.length).toBeGreaterThan(3)
    await expectMirrored(t)
  })

  it('reports the backlog in objects and bytes while a sweep is under way', async () => {
    await reconcileMirror(t.env, { maxCopies: 2 })
    const status = await mirrorStatus(t.env)
    // The sweep goes prefix by prefix (events/ first), in key order within each.
    const events = [...t.objects.keys()].filter((k) => k.startsWith('events/')).sort()
    const left = [...t.objects.entries()].filter(
      ([k]) => !k.startsWith('mirror-state/') && !events.slice(0, 2).includes(k),
    )
    expect(status).toMatchObject({
      missing_objects: 4,
      missing_bytes: left.reduce((s, [, o]) => s + o.bytes.byteLength, 0),
    })
  })

  it('replaces an S3 copy whose bytes differ', async () => {
    await reconcileMirror(t.env)
    const key = archiveObjectKey('acme', '2026-01-01', 11, 20)
    const forged = segment(11, 20)
    forged[forged.length - 1]! ^= 1
    await aws.fetch(s3Url(t.env, key), { method: 'PUT', body: forged })
    expect(await mirrorStatus(t.env)).toMatchObject({ missing_objects: 1, oldest_missing: [key] })
    expect(await reconcileMirror(t.env)).toMatchObject({ copied: 1 })
    await expectMirrored(t)
  })

  it('deletes from S3 only what a compaction superseded, once its parts are in S3', async () => {
    await reconcileMirror(t.env)
    const stray = archiveObjectKey('acme', '2026-01-02', 900, 901)
    await aws.fetch(s3Url(t.env, stray), {
      method: 'PUT',
      body: segment(900, 901),
    })
    const manifest = await compactPartition(t.bucket, 'acme', '2026-01-01')
    const part = manifest!.files[0]!.key
    expect(manifest!.superseded).toHaveLength(3)

    // The part cannot be read this time round (as if R2 lost it between list and get): the
    // small files it replaces must stay in S3.
    const flaky = {
      ...t.env,
      ARCHIVE: {
        ...t.bucket,
        list: t.bucket.list,
        put: t.bucket.put,
        get: (k: string) => (k === part ? null : t.bucket.get(k)),
      } as unknown as R2Bucket,
    }
    const held = await reconcileMirror(flaky)
    expect(held.deleted).toBe(0)
    for (const k of manifest!.superseded) expect(await s3Bytes(t.env, k), k).not.toBeNull()

    const done = await reconcileMirror(t.env)
    expect(done).toMatchObject({ deleted: 3, s3_only_kept: [stray] })
    for (const k of manifest!.superseded) expect(await s3Bytes(t.env, k)).toBeNull()
    expect(await s3Bytes(t.env, part)).toEqual(t.objects.get(part)!.bytes)
    expect(await mirrorStatus(t.env)).toMatchObject({ missing_objects: 0, s3_only_objects: 1 })
  })

  it('copies objects named by R2 event notifications, acks the rest, retries a failed copy', async () => {
    const key = archiveObjectKey('acme', '2026-01-02', 31, 40)
    const acked: string[] = []
    const retried: string[] = []
    const msg = (id: string, body: unknown) => ({
      id,
      body,
      ack: () => acked.push(id),
      retry: () => retried.push(id),
    })
    const batch = (env: unknown) =>
      handleArchiveNotifications(
        {
          messages: [
            msg('put', { action: 'PutObject', object: { key } }),
            msg('del', { action: 'DeleteObject', object: { key: 'events/gone' } }),
          ],
        } as unknown as MessageBatch<unknown>,
        env as Env,
      )
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    await batch({ ...t.env, S3_ENDPOINT: 'http://127.0.0.1:9' })
    log.mockRestore()
    expect([acked, retried]).toEqual([['del'], ['put']])
    await batch(t.env)
    expect(await s3Bytes(t.env, key)).toEqual(t.objects.get(key)!.bytes)
    expect(acked).toEqual(['del', 'put', 'del'])
  })

  it('calls a day mirrored (so D1 may release it) only when S3 holds every R2 object of it', async () => {
    const day = partitionPrefix('acme', '2026-01-01')
    expect(await isPrefixMirrored(t.env, day)).toBe(false)
    await reconcileMirror(t.env)
    expect(await isPrefixMirrored(t.env, day)).toBe(true)
    const stray = archiveObjectKey('acme', '2026-01-01', 900, 901)
    await aws.fetch(s3Url(t.env, stray), { method: 'PUT', body: segment(900, 901) })
    expect(await isPrefixMirrored(t.env, day)).toBe(true)
    await t.bucket.put(archiveObjectKey('acme', '2026-01-01', 41, 41), segment(41, 41))
    expect(await isPrefixMirrored(t.env, day)).toBe(false)
    expect(await isPrefixMirrored({ ARCHIVE: t.bucket }, day)).toBe(false)
  })

  it('copies a single object named by an R2 event notification', async () => {
    const key = archiveObjectKey('acme', '2026-01-02', 31, 40)
    expect(await mirrorObject(t.env, key)).toBe(t.objects.get(key)!.bytes.byteLength)
    expect(await s3Bytes(t.env, key)).toEqual(t.objects.get(key)!.bytes)
    expect(await mirrorObject(t.env, 'dead-letter/x.json')).toBe(0)
  })
})

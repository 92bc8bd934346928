// R2 -> S3 mirror (Athena reads only S3). Invariants:
// - S3 holds the same keys as R2 (under an optional prefix), byte for byte: every upload carries
//   Content-MD5, so S3 refuses a corrupted body, and the returned ETag is checked against it.
// - Idempotent and resumable: each run compares listings and copies only what is missing or
//   differs, at most `maxCopies` objects, so an interrupted or partial run is finished by the next.
// Production triggers it from R2 event notifications as well; the cron reconciler below is
// what guarantees convergence and is the path that runs locally.
import { createHash } from 'node:crypto'
import { AwsClient } from 'aws4fetch'
import type { Env } from '../env'

export const MIRRORED_PREFIXES = ['events/', 'checkpoints/', 'manifests/']

export type MirrorEnv = Pick<
  Env,
  | 'ARCHIVE'
  | 'S3_ENDPOINT'
  | 'S3_BUCKET'
  | 'S3_REGION'
  | 'S3_ACCESS_KEY_ID'
  | 'S3_SECRET_ACCESS_KEY'
  | 'S3_PREFIX'
>

type Listed = { size: number; etag: string }
type Mirror = { client: AwsClient; base: string; prefix: string }

export function mirrorOf(env: MirrorEnv): Mirror | null {
  if (!env.S3_ENDPOINT || !env.S3_BUCKET || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) return null
  const client = new AwsClient({
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    region: env.S3_REGION ?? 'us-east-1',
    service: 's3',
  })
  return {
    client,
    base: `${env.S3_ENDPOINT.replace(/\/$/, '')}/${env.S3_BUCKET}`,
    prefix: env.S3_PREFIX ?? '',
  }
}

const unquote = (s: string) => s.replace(/^"|"$/g, '').replace(/&quot;/g, '')
const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/')

async function listR2(bucket: R2Bucket, prefix: string): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>()
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 })
    for (const o of page.objects) out.set(o.key, { size: o.size, etag: o.etag })
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return out
}

async function listS3(m: Mirror, prefix: string): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>()
  let token: string | undefined
  do {
    const url = new URL(m.base)
    url.searchParams.set('list-type', '2')
    url.searchParams.set('prefix', m.prefix + prefix)
    if (token) url.searchParams.set('continuation-token', token)
    const res = await m.client.fetch(url.toString())
    if (!res.ok) throw new Error(`S3 list failed: ${res.status} ${await res.text()}`)
    const xml = await res.text()
    for (const c of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const body = c[1]!
      const key = unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1] ?? '')
      out.set(key.slice(m.prefix.length), {
        size: Number(/<Size>(\d+)<\/Size>/.exec(body)?.[1] ?? -1),
        etag: unquote(/<ETag>([\s\S]*?)<\/ETag>/.exec(body)?.[1] ?? ''),
      })
    }
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
      ? unescapeXml(/<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '')
      : undefined
  } while (token)
  return out
}

/**
 * Objects in R2 that S3 lacks or holds different bytes of, and archive objects S3 still has
 * that R2 no longer does (superseded by compaction).
 */
async function backlog(env: MirrorEnv, m: Mirror) {
  const missing: { key: string; size: number }[] = []
  const stale: string[] = []
  let r2Objects = 0
  let s3Objects = 0
  for (const prefix of MIRRORED_PREFIXES) {
    const [r2, s3] = await Promise.all([listR2(env.ARCHIVE, prefix), listS3(m, prefix)])
    r2Objects += r2.size
    s3Objects += s3.size
    for (const [key, o] of r2) {
      const there = s3.get(key)
      const multipart = o.etag.includes('-') || there?.etag.includes('-')
      if (!there || there.size !== o.size || (!multipart && there.etag !== o.etag))
        missing.push({ key, size: o.size })
    }
    if (prefix === 'events/') for (const key of s3.keys()) if (!r2.has(key)) stale.push(key)
  }
  return { missing, stale, r2Objects, s3Objects }
}

export async function mirrorStatus(env: MirrorEnv) {
  const m = mirrorOf(env)
  if (!m)
    return { enabled: false as const, reason: 'S3_ENDPOINT, S3_BUCKET and S3 credentials are not configured' }
  const b = await backlog(env, m)
  return {
    enabled: true as const,
    r2_objects: b.r2Objects,
    s3_objects: b.s3Objects,
    missing_objects: b.missing.length,
    missing_bytes: b.missing.reduce((n, o) => n + o.size, 0),
    superseded_objects: b.stale.length,
    oldest_missing: b.missing.slice(0, 20).map((o) => o.key),
  }
}

async function copy(env: MirrorEnv, m: Mirror, key: string): Promise<number> {
  const obj = await env.ARCHIVE.get(key)
  if (!obj) return 0 // deleted since listing (compaction): the next run sees the new state
  const body = new Uint8Array(await obj.arrayBuffer())
  const md5 = createHash('md5').update(body).digest()
  const res = await m.client.fetch(`${m.base}/${encodeKey(m.prefix + key)}`, {
    method: 'PUT',
    body,
    headers: {
      'content-md5': md5.toString('base64'),
      'content-type': obj.httpMetadata?.contentType ?? 'application/octet-stream',
    },
  })
  if (!res.ok) throw new Error(`S3 put ${key} failed: ${res.status} ${await res.text()}`)
  const etag = unquote(res.headers.get('etag') ?? '')
  if (etag && etag !== md5.toString('hex'))
    throw new Error(`S3 stored ${key} with ETag ${etag}, expected ${md5.toString('hex')}`)
  return body.byteLength
}

/** Copies up to `maxCopies` missing objects; returns what it did and what is left. */
export async function reconcileMirror(env: MirrorEnv, maxCopies = 500) {
  const m = mirrorOf(env)
  if (!m) return { enabled: false as const, copied: 0, bytes: 0, remaining: 0 }
  const { missing, stale } = await backlog(env, m)
  let copied = 0
  let bytes = 0
  for (const o of missing.slice(0, maxCopies)) {
    bytes += await copy(env, m, o.key)
    copied++
  }
  // Superseded objects go only once everything that replaces them is there, so the mirror
  // passes through the same states as R2 (compacted parts first, then deletions).
  let deleted = 0
  if (copied === missing.length) {
    for (const key of stale) {
      await deleteFromMirror(env, key)
      deleted++
    }
  }
  return { enabled: true as const, copied, bytes, deleted, remaining: missing.length - copied }
}

/** Deletes a key from the mirror (compaction removes superseded objects from both stores). */
export async function deleteFromMirror(env: MirrorEnv, key: string): Promise<void> {
  const m = mirrorOf(env)
  if (!m) return
  const res = await m.client.fetch(`${m.base}/${encodeKey(m.prefix + key)}`, { method: 'DELETE' })
  if (!res.ok && res.status !== 404) throw new Error(`S3 delete ${key} failed: ${res.status}`)
}

/** True when S3 holds exactly the objects R2 holds under `prefix` (same keys and bytes). */
export async function isPrefixMirrored(env: MirrorEnv, prefix: string): Promise<boolean> {
  const m = mirrorOf(env)
  if (!m) return false
  const [r2, s3] = await Promise.all([listR2(env.ARCHIVE, prefix), listS3(m, prefix)])
  if (r2.size !== s3.size) return false
  for (const [key, o] of r2) {
    const there = s3.get(key)
    if (!there || there.size !== o.size || (!o.etag.includes('-') && there.etag !== o.etag)) return false
  }
  return true
}

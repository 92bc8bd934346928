// The S3 side of the mirror, over fetch with SigV4 from aws4fetch (the Worker has no AWS SDK).
// Every upload carries Content-MD5, so S3 refuses a body damaged in transit, and the ETag it
// returns is checked against the same digest.
import { createHash } from 'node:crypto'
import { AwsClient } from 'aws4fetch'
import { XMLParser } from 'fast-xml-parser'
import { z } from 'zod'
import type { Env } from '../env'

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

/** What both stores report of an object; `etag` is the MD5 hex for single-part uploads. */
export type Listed = { size: number; etag: string }
export type S3Mirror = { client: AwsClient; base: string; prefix: string }

export const MIRROR_DISABLED_REASON = 'S3_ENDPOINT, S3_BUCKET and S3 credentials are not configured'

export function mirrorOf(env: MirrorEnv): S3Mirror | null {
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

/** Same bytes as far as the listings can tell (multipart ETags are not MD5s: size only). */
export function sameObject(a: Listed, b: Listed | undefined): boolean {
  if (!b || a.size !== b.size) return false
  return a.etag.includes('-') || b.etag.includes('-') || a.etag === b.etag
}

const unquote = (s: string) => s.replace(/^"|"$/g, '').replace(/&quot;/g, '')

// ListObjectsV2 answers, parsed as XML (entities decoded, CDATA kept as text); keys and tokens
// stay strings even when they look like numbers.
const listParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'Contents',
})
const listResultSchema = z.object({
  ListBucketResult: z.object({
    IsTruncated: z.enum(['true', 'false']).optional(),
    NextContinuationToken: z.string().optional(),
    Contents: z
      .array(z.object({ Key: z.string(), Size: z.string().regex(/^\d+$/), ETag: z.string().optional() }))
      .optional(),
  }),
})

/** One page of a ListObjectsV2 answer; an answer of another shape is an error, never an empty page. */
export function parseListPage(xml: string): {
  objects: { key: string; size: number; etag: string }[]
  next: string | undefined
} {
  let doc: unknown
  try {
    doc = listParser.parse(xml, true)
  } catch (err) {
    throw new Error(`S3 list answer is not XML: ${(err as Error).message}`)
  }
  const parsed = listResultSchema.safeParse(doc)
  if (!parsed.success) throw new Error(`S3 list answer is not a ListBucketResult: ${parsed.error.message}`)
  const r = parsed.data.ListBucketResult
  if (r.IsTruncated === 'true' && !r.NextContinuationToken)
    throw new Error('S3 list answer is truncated without a NextContinuationToken')
  return {
    objects: (r.Contents ?? []).map((c) => ({
      key: c.Key,
      size: Number(c.Size),
      etag: unquote(c.ETag ?? ''),
    })),
    next: r.IsTruncated === 'true' ? r.NextContinuationToken : undefined,
  }
}
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/')
const objectUrl = (m: S3Mirror, key: string) => `${m.base}/${encodeKey(m.prefix + key)}`

/**
 * S3 objects under `prefix` (keys without the mirror's own prefix), in key order, after
 * `startAfter` and up to `until` inclusive when given.
 */
export async function listS3(
  m: S3Mirror,
  prefix: string,
  range: { startAfter?: string; until?: string } = {},
): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>()
  let token: string | undefined
  do {
    const url = new URL(m.base)
    url.searchParams.set('list-type', '2')
    url.searchParams.set('prefix', m.prefix + prefix)
    if (token) url.searchParams.set('continuation-token', token)
    else if (range.startAfter) url.searchParams.set('start-after', m.prefix + range.startAfter)
    const res = await m.client.fetch(url.toString())
    if (!res.ok) throw new Error(`S3 list failed: ${res.status} ${await res.text()}`)
    const page = parseListPage(await res.text())
    for (const o of page.objects) {
      const key = o.key.slice(m.prefix.length)
      if (range.until !== undefined && key > range.until) return out
      out.set(key, { size: o.size, etag: o.etag })
    }
    token = page.next
  } while (token)
  return out
}

/** GETs an object; null when it does not exist. */
export async function getS3(
  m: S3Mirror,
  key: string,
  headers?: Record<string, string>,
): Promise<Response | null> {
  const res = await m.client.fetch(objectUrl(m, key), headers ? { headers } : undefined)
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`S3 get ${key} failed: ${res.status} ${await res.text()}`)
  return res
}

export async function headS3(m: S3Mirror, key: string): Promise<Listed | null> {
  const res = await m.client.fetch(objectUrl(m, key), { method: 'HEAD' })
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`S3 head ${key} failed: ${res.status}`)
  return {
    size: Number(res.headers.get('content-length') ?? -1),
    etag: unquote(res.headers.get('etag') ?? ''),
  }
}

/**
 * Uploads `body` under `key`; throws unless S3 confirms it holds exactly these bytes. `headers`
 * adds request headers (an events object's Object Lock retain-until and class tag, mirror.ts).
 */
export async function putS3(
  m: S3Mirror,
  key: string,
  body: Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const md5 = createHash('md5').update(body).digest()
  const res = await m.client.fetch(objectUrl(m, key), {
    method: 'PUT',
    body,
    headers: { ...headers, 'content-md5': md5.toString('base64'), 'content-type': contentType },
  })
  if (!res.ok) throw new Error(`S3 put ${key} failed: ${res.status} ${await res.text()}`)
  const etag = unquote(res.headers.get('etag') ?? '')
  if (etag && etag !== md5.toString('hex'))
    throw new Error(`S3 stored ${key} with ETag ${etag}, expected ${md5.toString('hex')}`)
}

export async function deleteS3(m: S3Mirror, key: string): Promise<void> {
  const res = await m.client.fetch(objectUrl(m, key), { method: 'DELETE' })
  if (!res.ok && res.status !== 404) throw new Error(`S3 delete ${key} failed: ${res.status}`)
}

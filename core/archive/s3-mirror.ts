// The S3 side of the mirror, over fetch with SigV4 from aws4fetch (the Worker has no AWS SDK).
// Every upload carries Content-MD5, so S3 refuses a body damaged in transit, and the ETag it
// returns is checked against the same digest.
import { createHash } from 'node:crypto'
import { AwsClient } from 'aws4fetch'
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
const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
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
    const xml = await res.text()
    for (const c of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const body = c[1]!
      const key = unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1] ?? '').slice(m.prefix.length)
      if (range.until !== undefined && key > range.until) return out
      out.set(key, {
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

/** Uploads `body` under `key`; throws unless S3 confirms it holds exactly these bytes. */
export async function putS3(m: S3Mirror, key: string, body: Uint8Array, contentType: string): Promise<void> {
  const md5 = createHash('md5').update(body).digest()
  const res = await m.client.fetch(objectUrl(m, key), {
    method: 'PUT',
    body,
    headers: { 'content-md5': md5.toString('base64'), 'content-type': contentType },
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

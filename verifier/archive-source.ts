// Where the verifier reads an archive from: a directory holding a copy of the bucket, or the
// bucket itself over the S3 API (AWS S3, the S3 mirror, or R2's S3-compatible endpoint). Keys are
// relative to the archive root and use `/`, as in the bucket (core/archive/layout.ts).
import { createReadStream, existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { AwsClient } from 'aws4fetch'
import { getS3, listS3, type S3Mirror } from '../core/archive/s3-mirror'

export type OpenedObject = {
  stream: Readable
  /** True when the transport already removed the gzip encoding (Content-Encoding: gzip over HTTP). */
  decoded: boolean
}

export interface ArchiveSource {
  /** For messages: the directory or the URL. */
  readonly location: string
  /** Every key under `prefix`, sorted. Only names: nothing is read. */
  list(prefix: string): Promise<string[]>
  read(key: string): Promise<Buffer>
  open(key: string): Promise<OpenedObject>
}

function walkKeys(root: string, rel: string): string[] {
  const dir = join(root, rel)
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const key = `${rel}${d.name}`
    return d.isDirectory() ? walkKeys(root, `${key}/`) : [key]
  })
}

export function directorySource(root: string): ArchiveSource {
  return {
    location: root,
    list: async (prefix) => walkKeys(root, prefix).sort(),
    read: (key) => readFile(join(root, key)),
    open: async (key) => ({
      stream: createReadStream(join(root, key), { highWaterMark: 256 * 1024 }),
      decoded: false,
    }),
  }
}

export type S3SourceOptions = {
  endpoint: string
  bucket: string
  prefix?: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export function s3Source(o: S3SourceOptions): ArchiveSource {
  const m: S3Mirror = {
    client: new AwsClient({
      accessKeyId: o.accessKeyId,
      secretAccessKey: o.secretAccessKey,
      sessionToken: o.sessionToken,
      region: o.region,
      service: 's3',
    }),
    base: `${o.endpoint.replace(/\/$/, '')}/${o.bucket}`,
    prefix: o.prefix ?? '',
  }
  const get = async (key: string, headers?: Record<string, string>) => {
    const res = await getS3(m, key, headers)
    if (!res?.body) throw new Error(`no object ${key}`)
    return res
  }
  return {
    location: `${o.endpoint}/${o.bucket}/${m.prefix}`,
    // Keys ending in "/" are folder markers some tools create, not objects of the archive.
    list: async (prefix) => [...(await listS3(m, prefix)).keys()].filter((k) => !k.endsWith('/')).sort(),
    read: async (key) => Buffer.from(await (await get(key)).arrayBuffer()),
    open: async (key) => {
      const res = await get(key)
      // fetch decodes a Content-Encoding it knows, as a browser would.
      const decoded = /\bgzip\b/i.test(res.headers.get('content-encoding') ?? '')
      const etag = res.headers.get('etag')
      // Byte offsets of a decoded body are not the object's, so only a raw body can resume.
      const stream = bodyStream(
        res,
        decoded || !etag ? undefined : (from) => get(key, { range: `bytes=${from}-`, 'if-match': etag }),
      )
      return { stream, decoded }
    },
  }
}

/** How many times one object's body is fetched again after its connection dropped. */
export const RESUMES = 3

/**
 * An object's body as a Node stream that survives dropped connections: with `rest`, the rest is
 * fetched again from the byte it stopped at, pinned to the object's ETag (a changed object fails
 * the request instead of splicing two versions), up to RESUMES times, so a large archive read in
 * place is not lost to one reset. Each body is read through its own reader, cancelled when left.
 */
function bodyStream(first: Response, rest?: (from: number) => Promise<Response>): Readable {
  async function* bytes(): AsyncGenerator<Uint8Array> {
    let res = first
    let offset = 0
    for (let resumes = 0; ; resumes++) {
      const reader = (res.body as unknown as WebReadableStream<Uint8Array>).getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          offset += value.byteLength
          yield value
        }
      } catch (err) {
        if (!rest || resumes >= RESUMES) throw err
      } finally {
        reader.cancel().catch(() => {})
      }
      res = await rest(offset)
      if (res.status !== 206)
        throw new Error(`resuming at byte ${offset}: expected 206 Partial Content, got ${res.status}`)
    }
  }
  return Readable.from(bytes(), { objectMode: false })
}

/**
 * The source for a command-line location: `s3://bucket/prefix`, `r2://bucket/prefix`, or a
 * directory. S3: AWS_REGION (us-east-1), AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (else AWS's own),
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. R2: R2_ENDPOINT or R2_ACCOUNT_ID,
 * R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (R2 API token credentials). Throws a message naming
 * what is missing.
 */
export function sourceFor(location: string, env: NodeJS.ProcessEnv = process.env): ArchiveSource {
  const m = /^(s3|r2):\/\/([^/]+)\/?(.*)$/.exec(location)
  if (!m) return directorySource(location)
  const [, scheme, bucket, rawPrefix] = m
  const prefix = rawPrefix && !rawPrefix.endsWith('/') ? `${rawPrefix}/` : (rawPrefix ?? '')
  const need = (names: string[]) => {
    for (const n of names) if (env[n]) return env[n]!
    throw new Error(`${location}: set ${names.join(' or ')}`)
  }
  if (scheme === 'r2') {
    const endpoint = env.R2_ENDPOINT ?? `https://${need(['R2_ACCOUNT_ID'])}.r2.cloudflarestorage.com`
    return s3Source({
      endpoint,
      bucket: bucket!,
      prefix,
      region: 'auto',
      accessKeyId: need(['R2_ACCESS_KEY_ID']),
      secretAccessKey: need(['R2_SECRET_ACCESS_KEY']),
    })
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1'
  return s3Source({
    endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? `https://s3.${region}.amazonaws.com`,
    bucket: bucket!,
    prefix,
    region,
    accessKeyId: need(['AWS_ACCESS_KEY_ID']),
    secretAccessKey: need(['AWS_SECRET_ACCESS_KEY']),
    sessionToken: env.AWS_SESSION_TOKEN,
  })
}

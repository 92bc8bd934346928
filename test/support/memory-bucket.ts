// An in-memory stand-in for an R2 bucket with the parts of R2's API the archive jobs use
// (list with prefix, startAfter, cursor, limit and delimiter; get; put; delete), reporting
// MD5 ETags as R2 does for single-part uploads. Node tests run the mirror against it.
import { createHash } from 'node:crypto'
import { type ListOptions, listPage } from './bucket-listing'

type Stored = { bytes: Uint8Array; contentType?: string }

export function memoryBucket() {
  const objects = new Map<string, Stored>()
  const etag = (b: Uint8Array) => createHash('md5').update(b).digest('hex')
  const bucket = {
    objects,
    async list(o: ListOptions) {
      return listPage(objects.keys(), o, (key) => ({
        key,
        size: objects.get(key)!.bytes.byteLength,
        etag: etag(objects.get(key)!.bytes),
      }))
    },
    async get(key: string) {
      const o = objects.get(key)
      if (!o) return null
      const text = () => new TextDecoder().decode(o.bytes)
      return {
        key,
        size: o.bytes.byteLength,
        etag: etag(o.bytes),
        httpMetadata: { contentType: o.contentType },
        arrayBuffer: async () => o.bytes.slice().buffer,
        text: async () => text(),
        json: async () => JSON.parse(text()) as unknown,
      }
    },
    async put(
      key: string,
      body: string | Uint8Array | ArrayBuffer,
      opts?: { httpMetadata?: { contentType?: string } },
    ) {
      const bytes =
        typeof body === 'string'
          ? new TextEncoder().encode(body)
          : new Uint8Array(body instanceof ArrayBuffer ? body : body.slice())
      objects.set(key, { bytes, contentType: opts?.httpMetadata?.contentType })
    },
    async delete(key: string) {
      objects.delete(key)
    },
  }
  return { bucket: bucket as unknown as R2Bucket, objects }
}

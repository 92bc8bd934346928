// R2 plumbing shared by the archive's writers and readers: whole listings (R2 pages at 1,000
// keys) and the gzip NDJSON objects the archive is made of.

/** Every object under `prefix`, in key order, across as many listing pages as it takes. */
export async function listAll(bucket: R2Bucket, prefix: string): Promise<R2Object[]> {
  const out: R2Object[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 })
    out.push(...page.objects)
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return out
}

/** The delimited "directories" right under `prefix` (without it and the trailing slash). */
export async function listDirs(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const out: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, cursor, delimiter: '/', limit: 1000 })
    for (const p of page.delimitedPrefixes ?? []) out.push(p.slice(prefix.length, -1))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return out
}

/** Lines as the archive stores them: one per line, a newline after the last, gzip. */
export async function gzipLines(lines: string[]): Promise<Uint8Array> {
  const stream = new Blob([`${lines.join('\n')}\n`]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** The non-empty lines of a gzip object's bytes. */
export async function gunzipLines(bytes: ArrayBuffer): Promise<string[]> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))
  return (await new Response(stream).text()).split('\n').filter(Boolean)
}

/** A JSON object of the bucket, or null when there is none. */
export async function readJson<T>(bucket: R2Bucket, key: string): Promise<T | null> {
  const obj = await bucket.get(key)
  return obj ? (JSON.parse(new TextDecoder().decode(await obj.arrayBuffer())) as T) : null
}

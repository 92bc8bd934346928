// The part of the R2 bucket API the archive jobs use, over a directory laid out like the
// bucket, so Node tests can run them against archive copies the verifier and DuckDB read.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

function walk(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)],
  )
}

export function fsBucket(root: string, hooks: { beforeDelete?: (key: string) => void } = {}) {
  const keys = () =>
    walk(root)
      .map((p) => relative(root, p).split('\\').join('/'))
      .sort()
  return {
    async list(o: {
      prefix?: string
      delimiter?: string
      startAfter?: string
      cursor?: string
      limit?: number
    }) {
      const after = o.cursor ?? o.startAfter ?? ''
      const all = keys().filter((k) => k.startsWith(o.prefix ?? '') && k > after)
      const prefixes = new Set<string>()
      const found: string[] = []
      for (const k of all) {
        const rest = k.slice((o.prefix ?? '').length)
        const i = o.delimiter ? rest.indexOf(o.delimiter) : -1
        if (i >= 0) prefixes.add((o.prefix ?? '') + rest.slice(0, i + 1))
        else found.push(k)
      }
      const shown = found.slice(0, o.limit ?? 1000)
      const truncated = found.length > shown.length
      return {
        objects: shown.map((key) => ({ key, size: statSync(join(root, key)).size })),
        truncated,
        ...(truncated ? { cursor: shown.at(-1) } : {}),
        delimitedPrefixes: [...prefixes],
      }
    },
    async get(key: string) {
      const p = join(root, key)
      if (!existsSync(p)) return null
      const bytes = readFileSync(p)
      return {
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      }
    },
    async put(key: string, body: string | Uint8Array) {
      mkdirSync(dirname(join(root, key)), { recursive: true })
      writeFileSync(join(root, key), body)
    },
    async delete(key: string) {
      hooks.beforeDelete?.(key)
      rmSync(join(root, key), { force: true })
    },
  } as unknown as R2Bucket
}

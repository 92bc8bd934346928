// The part of the R2 bucket API the archive jobs use, over a directory laid out like the
// bucket, so Node tests can run them against archive copies the verifier and DuckDB read.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { type ListOptions, listPage } from './bucket-listing'
import { walk } from './walk'

export function fsBucket(root: string, hooks: { beforeDelete?: (key: string) => void } = {}) {
  const keys = () =>
    (existsSync(root) ? walk(root) : []).map((p) => relative(root, p).split('\\').join('/')).sort()
  return {
    async list(o: ListOptions) {
      return listPage(keys(), o, (key) => ({ key, size: statSync(join(root, key)).size }))
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

import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Every file below `dir`. */
export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)],
  )
}

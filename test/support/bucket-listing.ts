// R2's list semantics over a set of keys, for the test stand-ins of a bucket (fs-bucket,
// memory-bucket): prefix, startAfter or cursor, limit, and a delimiter that folds keys into
// delimitedPrefixes.
export type ListOptions = {
  prefix?: string
  delimiter?: string
  startAfter?: string
  cursor?: string
  limit?: number
}

export function listPage<O>(keys: Iterable<string>, o: ListOptions, describe: (key: string) => O) {
  const prefix = o.prefix ?? ''
  const after = o.cursor ?? o.startAfter ?? ''
  const prefixes = new Set<string>()
  const found: string[] = []
  for (const k of [...keys].filter((k) => k.startsWith(prefix) && k > after).sort()) {
    const rest = k.slice(prefix.length)
    const i = o.delimiter ? rest.indexOf(o.delimiter) : -1
    if (i >= 0) prefixes.add(prefix + rest.slice(0, i + 1))
    else found.push(k)
  }
  const shown = found.slice(0, o.limit ?? 1000)
  const truncated = found.length > shown.length
  return {
    objects: shown.map(describe),
    truncated,
    ...(truncated ? { cursor: shown.at(-1) } : {}),
    delimitedPrefixes: [...prefixes],
  }
}

// Small object helpers shared by the record builders and the input-format mappers.

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * `o` without its undefined members, so a record holds only what is present (one canonical
 * form). A fresh object rather than deletes: objects that lose keys are slow to serialize.
 */
export function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {}
  for (const k in o) if (o[k] !== undefined) out[k] = o[k]
  return out as T
}

// Helpers shared by the input-format mappers. A mapper turns one foreign shape into raw event
// v1 objects (validated afterwards like native events); what has no v1 field goes to metadata.

import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import type { z } from 'zod'
import { DomainError, fieldErrors } from '../../errors'
import { compact } from '../../objects'
import { eventIdSchema } from '../event-schema'

export { isObject } from '../../objects'

/** Joins a source path prefix (`''`, `[2]`, `[0].data`) and a field path. */
export function at(prefix: string, path: string): string {
  if (!prefix) return path
  if (!path) return prefix
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`
}

/** Parses with a format's schema, naming the failing fields in the source's own terms. */
export function parseSource<T extends z.ZodType>(
  schema: T,
  body: unknown,
  format: string,
  prefix = '',
): z.output<T> {
  const r = schema.safeParse(body)
  if (!r.success) {
    throw new DomainError(
      'validation_failed',
      `The body is not a valid ${format} event; see errors.`,
      fieldErrors(r.error.issues, prefix),
    )
  }
  return r.data
}

/** A v1 id derived deterministically from foreign id parts: kept when valid, else hashed. */
export function deriveId(...parts: (string | number)[]): string {
  const raw = parts.join(':')
  if (eventIdSchema.safeParse(raw).success) return raw
  return `h:${createHash('sha256').update(raw).digest('hex')}`
}

/** A lower-case dotted action from free-form words: "OrderItem", "UPDATE" -> "order_item.update". */
export function dottedAction(...words: string[]): string {
  return words
    .flatMap((w) => w.split('.'))
    .map((w) =>
      w
        .trim()
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '_')
        .replace(/^[^a-z]+/, '')
        .replace(/_+$/, ''),
    )
    .filter(Boolean)
    .join('.')
}

/** Deep equality independent of key order (RFC 8785 canonical form). */
const same = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b)

export type Change = { field: string; before?: unknown; after?: unknown }

/**
 * before/after maps -> changes: one entry per key of either map, in key order, unless the key
 * is in both with equal values. A key in one map only keeps only that side, so "absent" and
 * "null" stay distinguishable.
 */
export function diffChanges(before?: Record<string, unknown> | null, after?: Record<string, unknown> | null) {
  const b = before ?? {}
  const a = after ?? {}
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()
  const out: Change[] = []
  for (const k of keys) {
    const inB = Object.hasOwn(b, k)
    const inA = Object.hasOwn(a, k)
    if (inB && inA && same(b[k], a[k])) continue
    out.push({ field: k, ...(inB ? { before: b[k] } : {}), ...(inA ? { after: a[k] } : {}) })
  }
  return out
}

/** `o` with its undefined members dropped (mapped events hold only what the source held), or undefined when nothing is left. */
export function nonEmpty<T extends Record<string, unknown>>(o: T): T | undefined {
  const c = compact(o)
  return Object.keys(c).length ? c : undefined
}

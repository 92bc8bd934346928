// Helpers shared by the input-format mappers. A mapper turns one foreign shape into raw event
// v1 objects (validated afterwards like native events); what has no v1 field goes to metadata.
import { createHash } from 'node:crypto'
import type { z } from 'zod'
import { DomainError, fieldErrors } from '../errors'

export type Scalar = string | number | boolean | null
export type Metadata = Record<string, Scalar>

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

/** A metadata value: scalars as they are, anything else as JSON text. */
export function metaValue(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  return JSON.stringify(v) ?? null
}

/** Adds entries whose value is present. */
export function putMeta(m: Metadata, entries: Record<string, unknown>): Metadata {
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) m[k] = metaValue(v)
  return m
}

/** A v1 id (1-128 of [A-Za-z0-9._:-]) derived deterministically from a foreign id. */
export function deriveId(...parts: (string | number)[]): string {
  const raw = parts.join(':')
  if (/^[A-Za-z0-9._:-]{1,128}$/.test(raw)) return raw
  return `h:${createHash('sha256').update(raw).digest('hex')}`
}

/** A lower-case dotted action from free-form words: "Order", "UPDATE" -> "order.update". */
export function dottedAction(...words: string[]): string {
  return words
    .map((w) =>
      w
        .trim()
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, '_')
        .replace(/^[^a-z]+/, ''),
    )
    .filter(Boolean)
    .join('.')
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** before/after maps -> changes: one entry per field whose value differs, in field order. */
export function diffChanges(before?: Record<string, unknown>, after?: Record<string, unknown>) {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort()
  const out: { field: string; before?: unknown; after?: unknown }[] = []
  for (const k of keys) {
    const inB = before !== undefined && k in before
    const inA = after !== undefined && k in after
    if (inB && inA && deepEqual(before![k], after![k])) continue
    out.push({ field: k, ...(inB ? { before: before![k] } : {}), ...(inA ? { after: after![k] } : {}) })
  }
  return out
}

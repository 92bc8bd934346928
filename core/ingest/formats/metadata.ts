// Flat metadata built from a foreign event. Invariants: each key is written once (a second
// write would lose a value, so it is an error naming both source fields); every value is a
// scalar (structured values become JSON text, nested at most LIMITS.maxDepth levels); the
// metadata limits of core/limits.ts hold, and a breach is an error naming the source field that
// caused it.
import { DomainError } from '../../errors'
import { LIMITS } from '../../limits'
import { tooDeepPath } from '../exact-json'
import { at } from './common'

export type Scalar = string | number | boolean | null
export type Metadata = Record<string, Scalar>

/** A metadata value: scalars as they are, anything else as JSON text. */
export function metaValue(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  return JSON.stringify(v) ?? null
}

const fail = (path: string, message: string) =>
  new DomainError('validation_failed', `A field cannot be kept in metadata: ${path} ${message}.`, [
    { path, message },
  ])

export class MetadataBuilder {
  private readonly values: Metadata = {}
  private readonly from = new Map<string, string>()

  /** Adds `key` from the source field `path`; undefined values are skipped. */
  put(key: string, value: unknown, path: string): this {
    if (value === undefined) return this
    const deep = tooDeepPath(value, LIMITS.maxDepth)
    if (deep) {
      const where = deep.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : at(p, k)), path)
      throw fail(where, `nests deeper than ${LIMITS.maxDepth} levels`)
    }
    const v = metaValue(value)
    if (key.length === 0 || key.length > LIMITS.metadataMaxKeyLength)
      throw fail(
        path,
        `becomes the metadata key "${key}", which is not 1-${LIMITS.metadataMaxKeyLength} characters`,
      )
    const earlier = this.from.get(key)
    if (earlier !== undefined)
      throw fail(path, `becomes metadata.${key}, which ${earlier} already fills; rename one of them`)
    if (typeof v === 'string' && v.length > LIMITS.metadataMaxValueLength) {
      const how = typeof value === 'string' ? '' : ' as JSON text'
      throw fail(
        path,
        `is ${v.length} characters${how}; a metadata value holds at most ${LIMITS.metadataMaxValueLength}`,
      )
    }
    if (this.from.size >= LIMITS.metadataMaxKeys)
      throw fail(
        path,
        `would be metadata key ${this.from.size + 1}; an event holds at most ${LIMITS.metadataMaxKeys}`,
      )
    this.values[key] = v
    this.from.set(key, path)
    return this
  }

  /** Adds every member of a source object, keys prefixed with `keyPrefix`. */
  putAll(obj: Record<string, unknown> | undefined, path: string, keyPrefix = ''): this {
    for (const [k, v] of Object.entries(obj ?? {})) this.put(`${keyPrefix}${k}`, v, at(path, k))
    return this
  }

  /** The metadata, or undefined when empty (so the event carries no empty object). */
  build(): Metadata | undefined {
    return this.from.size ? { ...this.values } : undefined
  }
}

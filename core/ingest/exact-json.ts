// JSON a request may carry: every value is kept exactly as sent, or the request is refused with
// the path of the value that cannot be. One iterative walk over the parsed body (never
// recursive, so no nesting can exhaust the stack, and it stops at the depth limit) refuses:
// - nesting deeper than LIMITS.maxBodyDepth;
// - the keys `__proto__`, `constructor` and `prototype`, anywhere: JavaScript objects and
//   schema parsers drop or misread them, so they are refused instead of being lost silently;
// - numbers JSON.parse could not keep: a literal beyond the double range (`1e309`, read as
//   Infinity) and integers beyond ±(2^53-1), which parsing has already rounded;
// - strings, keys included, holding an unpaired UTF-16 surrogate (`"\ud800"`), which UTF-8
//   storage cannot hold.
// It runs once per request on the parsed body, whatever the input format, before any decoder
// reads it, so paths are the client's own (`events[3].metadata.x`, `detail.entities[0].after.x`).
import { DomainError, type FieldError } from '../errors'
import { LIMITS } from '../limits'

export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])
export const isReservedKey = (key: string) => RESERVED_KEYS.has(key)
export const RESERVED_KEY_MESSAGE =
  'is a reserved name: __proto__, constructor and prototype are refused as keys'

const MAX_REPORTED = 100

// String.prototype.isWellFormed (ES2024) exists in workerd and Node 20; the compiler's lib is ES2022.
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()

type Segment = string | number
/** A container being walked: `next` is its next member; `up` links back to the root (the stack). */
type Frame = {
  v: object
  keys: string[] | undefined
  next: number
  depth: number
  up: Frame | undefined
  key: Segment | undefined
}

function pathOf(prefix: string, f: Frame | undefined, last?: Segment): string {
  const segs: Segment[] = last === undefined ? [] : [last]
  for (let x = f; x?.key !== undefined; x = x.up) segs.push(x.key)
  let path = prefix
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!
    path += typeof s === 'number' ? `[${s}]` : path ? `.${s}` : s
  }
  return path || '(root)'
}

/** Why a scalar cannot be kept exactly, or undefined when it can. */
function scalarProblem(v: unknown): string | undefined {
  if (typeof v === 'string') return wellFormed(v) ? undefined : 'holds an unpaired UTF-16 surrogate'
  if (typeof v !== 'number') return undefined
  if (!Number.isFinite(v))
    return 'is a number beyond the range JSON numbers can be read in (it reads as Infinity)'
  if (Number.isInteger(v) && !Number.isSafeInteger(v))
    return `is an integer beyond ±${Number.MAX_SAFE_INTEGER} (2^53-1) and cannot be kept exactly; send it as a string`
  return undefined
}

const frame = (v: object, depth: number, up: Frame | undefined, key: Segment | undefined): Frame => ({
  v,
  keys: Array.isArray(v) ? undefined : Object.keys(v),
  next: 0,
  depth,
  up,
  key,
})

/** Every value of `value` that cannot be kept exactly, in document order, with its path under `prefix`. */
export function exactJsonErrors(value: unknown, prefix = '', maxDepth = LIMITS.maxBodyDepth): FieldError[] {
  const errors: FieldError[] = []
  const report = (f: Frame | undefined, key: Segment | undefined, message: string) =>
    errors.push({ path: pathOf(prefix, f, key), message })
  if (typeof value !== 'object' || value === null) {
    const bad = scalarProblem(value)
    if (bad) report(undefined, undefined, bad)
    return errors
  }
  const tooDeep = `nests deeper than ${maxDepth} levels`
  let f: Frame | undefined = frame(value, 1, undefined, undefined)
  while (f && errors.length < MAX_REPORTED) {
    const size: number = f.keys ? f.keys.length : (f.v as unknown[]).length
    if (f.next >= size) {
      f = f.up
      continue
    }
    const i = f.next++
    let key: Segment = i
    let v: unknown
    if (f.keys) {
      key = f.keys[i]!
      if (RESERVED_KEYS.has(key)) {
        report(f, key, RESERVED_KEY_MESSAGE)
        continue
      }
      if (!wellFormed(key)) {
        report(f, key, 'is a key holding an unpaired UTF-16 surrogate')
        continue
      }
      v = (f.v as Record<string, unknown>)[key]
    } else v = (f.v as unknown[])[i]
    if (typeof v === 'object' && v !== null) {
      if (f.depth >= maxDepth) report(f, key, tooDeep)
      else f = frame(v, f.depth + 1, f, key)
      continue
    }
    const bad = scalarProblem(v)
    if (bad) report(f, key, bad)
  }
  return errors
}

/** Throws a 400 naming every value of `value` that cannot be kept exactly. */
export function assertExactJson(value: unknown, prefix = ''): void {
  const errors = exactJsonErrors(value, prefix)
  if (errors.length === 0) return
  throw new DomainError(
    'validation_failed',
    'The body holds values that cannot be kept exactly as sent; see errors.',
    errors,
  )
}

/**
 * The path below `value` of its first object or array nested deeper than `max` levels (a
 * scalar is 0 levels, `{"a": 1}` is 1), or undefined. Iterative and bounded by `max`.
 */
export function tooDeepPath(value: unknown, max: number): Segment[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  if (max < 1) return []
  type Level = { v: object; depth: number; up: Level | undefined; key: Segment | undefined }
  const stack: Level[] = [{ v: value, depth: 1, up: undefined, key: undefined }]
  while (stack.length > 0) {
    const f = stack.pop()!
    const entries: [Segment, unknown][] = Array.isArray(f.v)
      ? f.v.map((x, i) => [i, x] as [Segment, unknown])
      : Object.entries(f.v)
    const nested = entries.filter(([, v]) => typeof v === 'object' && v !== null)
    if (nested.length === 0) continue
    if (f.depth + 1 > max) {
      const segs: Segment[] = [nested[0]![0]]
      for (let x: Level | undefined = f; x?.key !== undefined; x = x.up) segs.unshift(x.key)
      return segs
    }
    for (let i = nested.length - 1; i >= 0; i--) {
      const [key, v] = nested[i]!
      stack.push({ v: v as object, depth: f.depth + 1, up: f, key })
    }
  }
  return undefined
}

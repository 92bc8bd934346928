// Zone maps: for each archive object, what a search needs to know to skip it without reading it.
// A zone map states the object's seq range, its occurred_at min and max, whether it holds only
// the service's own audit_log.* events, and a Bloom filter over the stored values the search
// filters compare (core/search/match.ts): actor id and type, target (type+id, and type), parent
// (type+id), action and each of its dot prefixes (for `action=foo.*`), correlation id, source,
// and context.ip as stored (a hashed value stays hashed, so a hashed filter finds it; sealed values
// are never searched and are left out).
// Invariants:
// - No false negatives: an object whose zone map says "cannot match" holds no event the same
//   filters match. A map is only used when its byte count equals the listed object's size.
// - Objects without a zone map (written before zone maps, or a map that failed to parse) are read.
// Bloom filter: k bit positions by double hashing (two MurmurHash3 x86 32-bit hashes of the key's
// UTF-8), bits LSB-first in base64; sized for FALSE_POSITIVE_RATE over the object's distinct keys.
import { z } from 'zod'
import type { PageKey } from '../db/search'
import { SEALED_PREFIX } from '../privacy/protected-value'
import type { SearchFilters } from '../search/filters'

/** The false-positive rate filters are sized for (the stated rate of each is in its `fpp`). */
export const FALSE_POSITIVE_RATE = 0.01
const MAX_BITS = 1 << 22

export const zoneMapSchema = z.object({
  v: z.literal(1),
  lines: z.number().int(),
  bytes: z.number().int(),
  first_seq: z.number().int(),
  last_seq: z.number().int(),
  occurred_min: z.string(),
  occurred_max: z.string(),
  audit_only: z.boolean(),
  filter: z.object({
    kind: z.literal('bloom-murmur3x2'),
    m: z.number().int().positive(),
    k: z.number().int().positive(),
    n: z.number().int(),
    fpp: z.number(),
    bits: z.string(),
  }),
})
export type ZoneMap = z.infer<typeof zoneMapSchema>

const enc = new TextEncoder()

function murmur3(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0
  const n = bytes.length
  const tail = n & ~3
  for (let i = 0; i < tail; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  switch (n & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: MurmurHash3 tail
    case 3:
      k ^= bytes[tail + 2]! << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: MurmurHash3 tail
    case 2:
      k ^= bytes[tail + 1]! << 8
    case 1:
      k ^= bytes[tail]!
      k = Math.imul(k, 0xcc9e2d51)
      k = (k << 15) | (k >>> 17)
      k = Math.imul(k, 0x1b873593)
      h ^= k
  }
  h ^= n
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function positions(key: string, m: number, k: number): number[] {
  const b = enc.encode(key)
  const h1 = murmur3(b, 0)
  const h2 = murmur3(b, 0x9747b28c) | 1
  const out: number[] = []
  for (let i = 0; i < k; i++) out.push((((h1 + Math.imul(i, h2)) >>> 0) % m) >>> 0)
  return out
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/** A Bloom filter over `keys`, sized for `fpp` (capped at MAX_BITS; the stated rate says so). */
export function bloomFilter(keys: ReadonlySet<string>, fpp = FALSE_POSITIVE_RATE): ZoneMap['filter'] {
  const n = keys.size
  const wanted = Math.ceil((-Math.max(n, 1) * Math.log(fpp)) / Math.LN2 ** 2)
  const m = Math.min(MAX_BITS, Math.max(64, Math.ceil(wanted / 8) * 8))
  const k = Math.max(1, Math.round((m / Math.max(n, 1)) * Math.LN2))
  const bits = new Uint8Array(m / 8)
  for (const key of keys) for (const p of positions(key, m, k)) bits[p >>> 3]! |= 1 << (p & 7)
  const stated = (1 - Math.exp((-k * n) / m)) ** k
  return { kind: 'bloom-murmur3x2', m, k, n, fpp: Number(stated.toPrecision(3)), bits: toBase64(bits) }
}

const decoded = new WeakMap<ZoneMap['filter'], Uint8Array>()

/** Whether the filter may hold `key` (false means certainly not). */
export function bloomHas(f: ZoneMap['filter'], key: string): boolean {
  let bits = decoded.get(f)
  if (!bits) {
    bits = fromBase64(f.bits)
    decoded.set(f, bits)
  }
  if (bits.length * 8 !== f.m) return true
  return positions(key, f.m, f.k).every((p) => (bits[p >>> 3]! & (1 << (p & 7))) !== 0)
}

const key = (...parts: string[]) => JSON.stringify(parts)

type LineFields = {
  seq: number
  occurred_at: string
  action: string
  source?: string
  actor: { type: string; id: string }
  target: { type: string; id: string }
  parent?: { type: string; id: string } | null
  context?: { correlation_id?: string; ip?: unknown } | null
}

/** The filter keys of one stored event: what `zoneQuery` asks for. */
export function zoneKeys(e: LineFields): string[] {
  const out = [
    key('a', e.actor.id),
    key('at', e.actor.type),
    key('t', e.target.type, e.target.id),
    key('tt', e.target.type),
    key('x', e.action),
  ]
  for (let i = e.action.indexOf('.'); i >= 0; i = e.action.indexOf('.', i + 1))
    out.push(key('xp', e.action.slice(0, i + 1)))
  if (e.parent) out.push(key('p', e.parent.type, e.parent.id))
  if (e.source !== undefined) out.push(key('s', e.source))
  const c = e.context
  if (typeof c?.correlation_id === 'string') out.push(key('c', c.correlation_id))
  if (typeof c?.ip === 'string' && !c.ip.startsWith(SEALED_PREFIX)) out.push(key('i', c.ip))
  return out
}

function isLine(e: unknown): e is LineFields {
  const o = e as LineFields | null
  return (
    typeof o?.seq === 'number' &&
    typeof o.occurred_at === 'string' &&
    typeof o.action === 'string' &&
    typeof o.actor?.id === 'string' &&
    typeof o.target?.id === 'string'
  )
}

/**
 * The zone map of an archive object: its stored lines and the byte size of its gzip body; null
 * when a line is not a stored event (such an object gets no zone map, so it is always read).
 */
export function computeZoneMap(lines: readonly string[], bytes: number): ZoneMap | null {
  const keys = new Set<string>()
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  let min: string | undefined
  let max: string | undefined
  let auditOnly = true
  for (const line of lines) {
    const e: unknown = JSON.parse(line)
    if (!isLine(e)) return null
    first = Math.min(first, e.seq)
    last = Math.max(last, e.seq)
    if (min === undefined || e.occurred_at < min) min = e.occurred_at
    if (max === undefined || e.occurred_at > max) max = e.occurred_at
    if (!e.action.startsWith('audit_log.')) auditOnly = false
    for (const k of zoneKeys(e)) keys.add(k)
  }
  if (min === undefined || max === undefined) return null
  return {
    v: 1,
    lines: lines.length,
    bytes,
    first_seq: first,
    last_seq: last,
    occurred_min: min,
    occurred_max: max,
    audit_only: auditOnly,
    filter: bloomFilter(keys),
  }
}

/** A zone map read from storage, or null when it is not one (the object is then read). */
export function parseZoneMap(v: unknown): ZoneMap | null {
  const r = zoneMapSchema.safeParse(v)
  return r.success ? r.data : null
}

/** Bounds a search puts on occurred_at besides its filters: the archive's cutoff, the page key. */
export type ZoneBounds = { cutoff?: string; after?: PageKey }

/**
 * What a search asks of an object's zone map: each group lists keys of which the object must
 * hold at least one. `keyed` is false when nothing but time can exclude an object.
 */
export type ZoneQuery = { f: SearchFilters; bounds: ZoneBounds; groups: string[][] }

export function zoneQuery(f: SearchFilters, bounds: ZoneBounds = {}): ZoneQuery {
  const groups: string[][] = []
  if (f.actor_id !== undefined) groups.push([key('a', f.actor_id)])
  if (f.actor_type !== undefined) groups.push([key('at', f.actor_type)])
  if (f.action !== undefined) {
    if (!f.action.endsWith('*')) groups.push([key('x', f.action)])
    else if (f.action.endsWith('.*')) groups.push([key('xp', f.action.slice(0, -1))])
  }
  if (f.target_type !== undefined && f.target_id !== undefined) {
    const t = key('t', f.target_type, f.target_id)
    groups.push(f.include_children ? [t, key('p', f.target_type, f.target_id)] : [t])
  } else if (f.target_type !== undefined) groups.push([key('tt', f.target_type)])
  if (f.source !== undefined) groups.push([key('s', f.source)])
  if (f.correlation_id !== undefined) groups.push([key('c', f.correlation_id)])
  if (f.ip !== undefined) groups.push([key('i', f.ip)])
  return { f, bounds, groups }
}

/** Whether anything in the query can exclude an object of day `dt` (else no zone map helps). */
export function canExclude(q: ZoneQuery, dt: string): boolean {
  if (q.groups.length > 0) return true
  const start = `${dt}T00:00:00.000Z`
  const end = `${dt}T23:59:59.999Z`
  const upper = [q.f.until, q.bounds.after?.t, q.bounds.cutoff].some((t) => t !== undefined && t <= end)
  return upper || (q.f.since !== undefined && q.f.since > start)
}

/** False only when no event of the object can match the query (core/search/match.ts). */
export function mayMatch(z: ZoneMap, q: ZoneQuery): boolean {
  const { f, bounds } = q
  if (f.since !== undefined && z.occurred_max < f.since) return false
  if (f.until !== undefined && z.occurred_min > f.until) return false
  if (bounds.cutoff !== undefined && z.occurred_min >= bounds.cutoff) return false
  if (bounds.after && z.occurred_min > bounds.after.t) return false
  const auditAsked = f.include_audit_reads || f.action?.startsWith('audit_log')
  if (!auditAsked && z.audit_only) return false
  return q.groups.every((g) => g.some((k) => bloomHas(z.filter, k)))
}

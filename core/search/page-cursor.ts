// Opaque page cursors. A cursor carries the last (occurred_at, id) of a page and a digest of
// the tenant and filter set it was minted for; presented with another tenant or other filters
// it is rejected, so it can neither leak nor silently change a result set.
import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import type { PageKey } from '../db/search'
import { validationError } from '../errors'
import type { SearchFilters } from './filters'

function scope(tenant: string, filters: SearchFilters): string {
  return createHash('sha256')
    .update(`${tenant}\n${canonicalize(filters) ?? ''}`)
    .digest('base64url')
    .slice(0, 22)
}

export function encodeCursor(key: PageKey, tenant: string, filters: SearchFilters): string {
  return Buffer.from(JSON.stringify({ t: key.t, i: key.id, s: scope(tenant, filters) })).toString('base64url')
}

export function decodeCursor(cursor: string, tenant: string, filters: SearchFilters): PageKey {
  const bad = (why: string) =>
    validationError(`The cursor is not valid here: ${why}.`, [{ path: 'cursor', message: why }])
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw bad('it is not a cursor returned by this API')
  }
  const o = v as { t?: unknown; i?: unknown; s?: unknown }
  if (typeof o?.t !== 'string' || typeof o.i !== 'string' || typeof o.s !== 'string') {
    throw bad('it is not a cursor returned by this API')
  }
  if (o.s !== scope(tenant, filters))
    throw bad('it was issued for another query; repeat the same filters or drop the cursor')
  return { t: o.t, id: o.i }
}

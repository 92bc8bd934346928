// Archive layout (a public contract, see README "Archive" and docs/integrity.md):
//   events/tenant=<tenant>/dt=<YYYY-MM-DD>/<first seq>-<last seq>.ndjson.gz
//   checkpoints/tenant=<tenant>/<seq>-<time, digits only>.json   (signed checkpoints)
// - dt is the UTC date of occurred_at.
// - Object names derive from the chain positions they hold, so a retried write overwrites
//   the same object with the same bytes instead of adding a second copy.
export const ARCHIVE_PREFIX = 'events/'
export const CHECKPOINT_PREFIX = 'checkpoints/'
export const DEAD_LETTER_PREFIX = 'dead-letter/'

const SEQ_WIDTH = 12

/** The UTC calendar date (YYYY-MM-DD) of an ISO timestamp. */
export function utcDate(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10)
}

/** Where a tenant's partitions are: `events/tenant=<tenant>/`. */
export function tenantArchivePrefix(tenant: string): string {
  return `${ARCHIVE_PREFIX}tenant=${encodeURIComponent(tenant)}/`
}

export function partitionPrefix(tenant: string, dt: string): string {
  return `${tenantArchivePrefix(tenant)}dt=${dt}/`
}

export function padSeq(seq: number): string {
  return String(seq).padStart(SEQ_WIDTH, '0')
}

export function archiveObjectKey(tenant: string, dt: string, firstSeq: number, lastSeq: number): string {
  return `${partitionPrefix(tenant, dt)}${padSeq(firstSeq)}-${padSeq(lastSeq)}.ndjson.gz`
}

const OBJECT_NAME_RE = /^(\d{12})-(\d{12})\.ndjson\.gz$/

/** The seq range an archive object's name states (archiveObjectKey), or null for another name. */
export function parseObjectName(name: string): { first: number; last: number } | null {
  const m = OBJECT_NAME_RE.exec(name)
  return m ? { first: Number(m[1]), last: Number(m[2]) } : null
}

const KEY_RE = /^events\/tenant=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/(.+)$/

export function parseArchiveKey(key: string): { tenant: string; dt: string; name: string } | null {
  const m = KEY_RE.exec(key)
  if (!m) return null
  return { tenant: decodeURIComponent(m[1]!), dt: m[2]!, name: m[3]! }
}

/** Sorting these names sorts a tenant's checkpoints by seq, then time. */
export function checkpointObjectKey(cp: { tenant: string; seq: number; time: string }): string {
  return `${CHECKPOINT_PREFIX}tenant=${encodeURIComponent(cp.tenant)}/${padSeq(cp.seq)}-${cp.time.replace(/[-:.]/g, '')}.json`
}

// The archive's layout in R2 (and in the S3 mirror, under the same keys): every key rule, in one
// file that every reader and writer imports (the consumer, compaction, the mirror, dead letters,
// the verifier, Athena). A public contract (README "Archive", docs/archive.md):
//   events/tenant=<tenant>/dt=<YYYY-MM-DD>/<first seq>-<last seq>[.<class>].ndjson.gz   (12-digit seqs)
//   events/tenant=<tenant>/dt=<YYYY-MM-DD>/tombstones-<first seq>-<last seq>[.<class>].ndjson.gz
//   checkpoints/tenant=<tenant>/<seq>-<time, digits only>.json                  (signed checkpoints)
//   manifests/tenant=<tenant>/dt=<YYYY-MM-DD>.json                              (compaction)
//   zone-maps/tenant=<tenant>/dt=<YYYY-MM-DD>/<events object name>.zone.json   (core/archive/zone-map.ts;
//                                                    R2 only: not mirrored, never read by SQL readers)
//   dead-letter/<YYYY-MM-DD>/<message id>.json, dead-letter-replayed/...        (parked messages)
//   alarms/tenant=<tenant>/<raised at>-<alarm id>.json                          (integrity alarms)
//   mirror-state/cursor.json, compaction-state/cursor.json,
//   event-ids-backfill-state/cursor.json, retention-state/cursor.json           (the jobs' cursors)
// - dt is the UTC date of occurred_at; tenant names are URI-encoded in keys.
// - Object names derive from the chain positions they hold, so a retried write overwrites
//   the same object with the same bytes instead of adding a second copy.
// - An events object holds events of one retention class (core/retention/classes.ts), named in
//   it unless it is the default class (objects written before classes existed have no class and
//   hold default-class events), so class expiry deletes whole objects. The tombstones of an
//   expired object take its place in the same partition under the tombstones- name of the same
//   range and class (core/retention/tombstone.ts).
import { z } from 'zod'
import { zoneMapSchema } from './zone-map'

export const ARCHIVE_PREFIX = 'events/'
export const CHECKPOINT_PREFIX = 'checkpoints/'
export const MANIFEST_PREFIX = 'manifests/'
export const DEAD_LETTER_PREFIX = 'dead-letter/'
export const REPLAYED_PREFIX = 'dead-letter-replayed/'
export const ALARM_PREFIX = 'alarms/'
export const MIRROR_STATE_KEY = 'mirror-state/cursor.json'
export const COMPACTION_STATE_KEY = 'compaction-state/cursor.json'
export const EVENT_IDS_BACKFILL_STATE_KEY = 'event-ids-backfill-state/cursor.json'
export const RETENTION_STATE_KEY = 'retention-state/cursor.json'
export const ZONE_MAP_PREFIX = 'zone-maps/'
/** What the S3 mirror copies (and what an archive copy for the verifier or DuckDB holds). */
export const MIRRORED_PREFIXES = [ARCHIVE_PREFIX, CHECKPOINT_PREFIX, MANIFEST_PREFIX]

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

export const CLASS_IN_NAME = '[a-z][a-z0-9_]{0,31}'

/** The name part of an object's class: empty for the default class (and for unclassed objects). */
function classPart(retention: string | undefined): string {
  return retention === undefined ? '' : `.${retention}`
}

/**
 * An events object's key. `retention` is its class, left out for the default class
 * (core/archive/segments.ts decides).
 */
export function archiveObjectKey(
  tenant: string,
  dt: string,
  firstSeq: number,
  lastSeq: number,
  retention?: string,
): string {
  return `${partitionPrefix(tenant, dt)}${padSeq(firstSeq)}-${padSeq(lastSeq)}${classPart(retention)}.ndjson.gz`
}

const OBJECT_NAME_RE = new RegExp(`^(\\d{12})-(\\d{12})(?:\\.(${CLASS_IN_NAME}))?\\.ndjson\\.gz$`)
const TOMBSTONE_NAME_RE = new RegExp(
  `^tombstones-(\\d{12})-(\\d{12})(?:\\.(${CLASS_IN_NAME}))?\\.ndjson\\.gz$`,
)

export type ObjectName = { first: number; last: number; retention?: string }

function parsed(m: RegExpExecArray | null): ObjectName | null {
  if (!m) return null
  return m[3] === undefined
    ? { first: Number(m[1]), last: Number(m[2]) }
    : { first: Number(m[1]), last: Number(m[2]), retention: m[3] }
}

/**
 * The seq range (and class, when not the default) an events object's name states
 * (archiveObjectKey), or null for another name, tombstone objects included.
 */
export function parseObjectName(name: string): ObjectName | null {
  return parsed(OBJECT_NAME_RE.exec(name))
}

/** The tombstones that replace an expired events object: same partition, range and class. */
export function tombstoneObjectKey(eventsKey: string): string {
  const at = eventsKey.lastIndexOf('/') + 1
  return `${eventsKey.slice(0, at)}tombstones-${eventsKey.slice(at)}`
}

/** The seq range and class a tombstone object's name states, or null for another name. */
export function parseTombstoneName(name: string): ObjectName | null {
  return parsed(TOMBSTONE_NAME_RE.exec(name))
}

const DT_DIR_RE = /^dt=(\d{4}-\d{2}-\d{2})$/

/** The day a partition directory (`dt=YYYY-MM-DD`) names, or null for another name. */
export function parseDtDir(dir: string): string | null {
  return DT_DIR_RE.exec(dir)?.[1] ?? null
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

const CHECKPOINT_NAME_RE = /^(\d{12})-(\d{8}T\d{9}Z)\.json$/

/** The seq and compact time a checkpoint's object name states, or null for another name. */
export function parseCheckpointName(name: string): { seq: number; compactTime: string } | null {
  const m = CHECKPOINT_NAME_RE.exec(name)
  return m ? { seq: Number(m[1]), compactTime: m[2]! } : null
}

/** Where the zone maps of a partition's events objects are. */
export function zoneMapPartitionPrefix(tenant: string, dt: string): string {
  return `${ZONE_MAP_PREFIX}tenant=${encodeURIComponent(tenant)}/dt=${dt}/`
}

/** The zone map of an events object: same partition and name under zone-maps/, `.zone.json`. */
export function zoneMapKey(eventsKey: string): string {
  return `${ZONE_MAP_PREFIX}${eventsKey.slice(ARCHIVE_PREFIX.length).replace(/\.ndjson\.gz$/, '')}.zone.json`
}

export function manifestKey(tenant: string, dt: string): string {
  return `${MANIFEST_PREFIX}tenant=${encodeURIComponent(tenant)}/dt=${dt}.json`
}

export const manifestFileSchema = z.object({
  key: z.string().min(1),
  lines: z.number(),
  bytes: z.number(),
  sha256: z.string(),
  first_seq: z.number(),
  last_seq: z.number(),
  /** The file's zone map (core/archive/zone-map.ts); absent in older manifests and for large maps. */
  zone: zoneMapSchema.optional(),
})
/** A compaction manifest (core/archive/compaction.ts states its invariants and read rule). */
export const manifestSchema = z.object({
  tenant: z.string(),
  dt: z.string(),
  compacted_at: z.string(),
  files: z.array(manifestFileSchema),
  superseded: z.array(z.string()),
})
export type ManifestFile = z.infer<typeof manifestFileSchema>
export type Manifest = z.infer<typeof manifestSchema>

/** Where a dead letter is parked, and where it goes once replayed. */
export function deadLetterKey(failedAt: string, messageId: string): string {
  return `${DEAD_LETTER_PREFIX}${failedAt.slice(0, 10)}/${messageId}.json`
}

export function replayedKey(deadLetterKey: string): string {
  return `${REPLAYED_PREFIX}${deadLetterKey.slice(DEAD_LETTER_PREFIX.length)}`
}

/** The part of a manifest the read rule uses: all that the offline verifier reads of one. */
export const manifestReadRuleSchema = z.object({
  files: z.array(z.object({ key: z.string().min(1) })),
  superseded: z.array(z.string()),
})

/** Where an integrity alarm is kept in R2, beside its D1 row. */
export function alarmKey(a: { tenant: string; id: string; raised_at: string }): string {
  return `${ALARM_PREFIX}tenant=${encodeURIComponent(a.tenant)}/${a.raised_at.replace(/[-:.]/g, '')}-${a.id}.json`
}

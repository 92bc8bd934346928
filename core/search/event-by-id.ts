// One stored event by id, at any age: the id lookup (event_ids, never deleted) gives its seq and
// occurred_at; its line is D1's row while its day is hot, else the archive's line (partition = the
// day of occurred_at, object = the one whose seq range holds seq, compaction read rule applied).
// An expired event (its retention class period ended) answers `gone` with its tombstone.
// Invariant: a line is served only after it is re-hashed (core/integrity/verified-read.ts) and
// found to be the line of this id and seq; anything else is an integrity violation, never served
// and never answered as "not found".
import { findArchivedLine } from '../archive/archive-reader'
import type { Db } from '../db/client'
import { locateEventQuery } from '../db/events'
import { type ConflictSummary, conflictSummaryQuery, toConflictSummary } from '../db/id-conflicts'
import { tombstoneOfIdQuery, toTombstone } from '../db/tombstones'
import { gone, integrityViolation, notFound } from '../errors'
import type { StoredEvent } from '../ingest/stored-event'
import { checkStoredLine } from '../integrity/verified-read'

export type EventRead = {
  event: StoredEvent
  /** The stored line exactly as written (D1 body or archived NDJSON line). */
  line: string
  /** Its leaf hash, as re-computed. */
  leaf: string
  from: 'd1' | 'archive'
  /** Later posts of the id with other content (the stored copy won), or null. */
  conflicts: ConflictSummary | null
}

export async function readEventById(
  db: Db,
  bucket: R2Bucket,
  tenant: string,
  id: string,
): Promise<EventRead> {
  const [[at], [summary], [tomb]] = await db.batch([
    locateEventQuery(db, tenant, id),
    conflictSummaryQuery(db, tenant, id),
    tombstoneOfIdQuery(db, tenant, id),
  ])
  // The same answer for another tenant's id as for an unknown one.
  if (!at) throw notFound(`No event "${id}".`)
  if (tomb && at.body === null) {
    const tombstone = toTombstone(tomb)
    throw gone(
      `Event "${id}" expired: its retention class "${tombstone.retention}" ended; only its tombstone is kept.`,
      { event_id: id, tombstone },
    )
  }
  const from = at.body === null ? 'archive' : 'd1'
  const line =
    at.body ?? (await findArchivedLine(bucket, tenant, { id, seq: at.seq, occurredAt: at.occurredAt }))
  if (line === null) {
    throw violation(tenant, id, at.seq, from, {
      reason: `the archive holds no line of seq ${at.seq} with this id`,
    })
  }
  const check = checkStoredLine(line, at.hash ?? undefined)
  if (!check.ok) throw violation(tenant, id, at.seq, from, check)
  const event = JSON.parse(line) as StoredEvent
  if (event.id !== id || event.seq !== at.seq || event.tenant !== tenant) {
    throw violation(tenant, id, at.seq, from, {
      reason: 'the stored record is not the one the id lookup names',
      expected: `${tenant}/${id}@${at.seq}`,
      computed: `${event.tenant}/${event.id}@${event.seq}`,
    })
  }
  return { event, line, leaf: check.leaf, from, conflicts: toConflictSummary(summary) }
}

function violation(
  tenant: string,
  id: string,
  seq: number,
  from: 'd1' | 'archive',
  d: { reason: string; expected?: string; computed?: string },
) {
  console.error(JSON.stringify({ msg: 'integrity violation on read', tenant, id, seq, from, ...d }))
  return integrityViolation(`The stored record of event "${id}" failed its integrity check: ${d.reason}.`, {
    event_id: id,
    seq,
    source: from,
    ...(d.expected ? { expected: d.expected } : {}),
    ...(d.computed ? { computed: d.computed } : {}),
  })
}

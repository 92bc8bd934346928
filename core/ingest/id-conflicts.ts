// Id conflicts made visible. A later post of a stored id whose content differs is never stored
// (the first stored copy wins) and never dropped silently: it is recorded in id_conflicts (what
// GET /v1/events/:id reports as `conflicts`) and as an audit_log.id_conflict event in the tenant's
// own chain. Identical retries are not conflicts.
// Invariants:
// - Recording is idempotent: a conflict's row key and its event (id and content) derive only from
//   the conflicting copy, so a redelivered message records nothing new and a re-sent event is an
//   identical retry of itself, which the consumer stores once.
// - A row is written only after its event is on the queue: a recorded conflict always has its
//   event; one whose event could not be sent stays unrecorded, and the message's retry sends it.
// - audit_log.id_conflict events are never themselves reported as conflicts (no recursion).
import { createHash } from 'node:crypto'
import type { Db } from '../db/client'
import { type IdConflictRow, recordConflicts, unrecordedConflicts } from '../db/id-conflicts'
import { recordServiceEvents, type ServiceEvent } from './service-events'

export const ID_CONFLICT_ACTION = 'audit_log.id_conflict'

export type IdConflict = {
  id: string
  /** The stored copy: its seq and content hash. */
  seq: number
  storedHash: string
  /** The copy that was not stored. */
  postedHash: string
  receivedAt: string
  keyId: string
  requestId: string
}

/** Records conflicts not recorded yet: their events first, then their rows. Returns rows written. */
export async function recordIdConflicts(
  queue: Queue<unknown>,
  db: Db,
  tenant: string,
  conflicts: IdConflict[],
): Promise<number> {
  const byKey = new Map<string, IdConflict>()
  for (const c of conflicts) byKey.set(JSON.stringify([c.id, c.requestId, c.postedHash]), c)
  const rows: (IdConflictRow & { conflict: IdConflict })[] = [...byKey.values()].map((c) => ({
    tenant,
    id: c.id,
    requestId: c.requestId,
    contentHash: c.postedHash,
    at: c.receivedAt,
    conflict: c,
  }))
  const todo = (await unrecordedConflicts(db, tenant, rows)) as typeof rows
  if (todo.length === 0) return 0
  const byCause = new Map<string, { cause: { keyId: string; requestId: string }; events: ServiceEvent[] }>()
  for (const { conflict: c } of todo) {
    const k = JSON.stringify([c.keyId, c.requestId])
    const group = byCause.get(k) ?? { cause: { keyId: c.keyId, requestId: c.requestId }, events: [] }
    group.events.push(conflictEvent(tenant, c))
    byCause.set(k, group)
  }
  for (const { cause, events } of byCause.values()) await recordServiceEvents(queue, tenant, events, cause)
  console.log(JSON.stringify({ msg: 'id conflicts recorded', tenant, conflicts: todo.length }))
  return recordConflicts(
    db,
    todo.map(({ conflict: _c, ...row }) => row),
  )
}

/** The audit_log.id_conflict event of one conflict: the same id and content however often built. */
export function conflictEvent(tenant: string, c: IdConflict): ServiceEvent {
  const key = createHash('sha256')
    .update(JSON.stringify([tenant, c.id, c.requestId, c.postedHash]))
    .digest('hex')
  return {
    id: `idc-${key.slice(0, 32)}`,
    occurred_at: c.receivedAt,
    action: ID_CONFLICT_ACTION,
    actor: { type: 'api_key', id: c.keyId },
    target: { type: 'audit_event', id: c.id },
    outcome: { status: 'failure', code: 'id_conflict', reason: 'the id is stored with other content' },
    description: `A post of event "${c.id}" with other content was not stored; the first stored copy (seq ${c.seq}) stands.`,
    metadata: {
      event_id: c.id,
      seq: c.seq,
      stored_content_hash: c.storedHash,
      posted_content_hash: c.postedHash,
      request_id: c.requestId,
    },
  }
}

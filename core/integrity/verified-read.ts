// Verified reads: every stored line served (from D1 or the archive) is re-hashed before it leaves.
// A line is `{"hash":H,"prev_hash":P,` + the canonical content's members (core/integrity/chain.ts,
// chainedLine), so the leaf's preimage is `{` + the line's tail, as written: no re-serialising.
// Invariant: a line is served as genuine only when SHA-256(0x02 || P || SHA-256(0x00 || content))
// equals H and H equals the hash D1 indexes for it (when the caller has that column). What this
// cannot see (a body rewritten together with its hashes) is the monitor's job: it compares the
// stored leaves with the bodies and with the signed checkpoints' roots (cron/monitor.ts).
import type { StoredEvent } from '../ingest/stored-event'
import { isObject } from '../objects'
import type { Finding } from './alarms'
import { LINE_CONTENT_OFFSET, leafHashSync, leafOfLine, linkHashSync } from './chain'
import { HEX_HASH_RE } from './sha256'

export type LineCheck =
  | { ok: true; hash: string; leaf: string }
  | { ok: false; reason: string; expected?: string; computed?: string }

const HEAD = /^\{"hash":"([0-9a-f]{64})","prev_hash":"([0-9a-f]{64})",/

/** Re-hashes one stored line; `indexedHash` is D1's `hash` column for the row, when read. */
export function checkStoredLine(line: string, indexedHash?: string): LineCheck {
  const m = HEAD.exec(line)
  if (!m || line.length <= LINE_CONTENT_OFFSET) return checkParsedLine(line, indexedHash)
  const leaf = leafOfLine(line)
  return compare(m[1]!, m[2]!, leaf, indexedHash)
}

/** Lines stored before the chained layout (any key order): parsed and canonicalised. */
function checkParsedLine(line: string, indexedHash?: string): LineCheck {
  let e: unknown
  try {
    e = JSON.parse(line)
  } catch {
    return { ok: false, reason: 'the stored record is not JSON' }
  }
  if (!isObject(e)) return { ok: false, reason: 'the stored record is not an object' }
  const { hash, prev_hash, ...content } = e
  if (typeof hash !== 'string' || typeof prev_hash !== 'string' || !HEX_HASH_RE.test(prev_hash))
    return { ok: false, reason: 'the stored record has no chain hashes' }
  return compare(hash, prev_hash, leafHashSync(content), indexedHash)
}

function compare(hash: string, prev: string, leaf: string, indexedHash: string | undefined): LineCheck {
  const computed = linkHashSync(prev, leaf)
  if (computed !== hash)
    return {
      ok: false,
      reason: "the record's content does not hash to its chain hash",
      expected: hash,
      computed,
    }
  if (indexedHash !== undefined && indexedHash !== hash)
    return {
      ok: false,
      reason: "the record's chain hash differs from the one D1 indexes",
      expected: indexedHash,
      computed,
    }
  return { ok: true, hash, leaf }
}

export type IntegrityFailure = { reason: string; expected?: string; computed?: string }
/** A stored event as served: one whose line failed its check carries `integrity_violation`. */
export type ServedEvent = StoredEvent & { integrity_violation?: IntegrityFailure }

/** The stored event of a line, re-hashed first; a line that fails is marked, never passed as fine. */
export function verifiedEvent(line: string, indexedHash?: string): ServedEvent {
  const check = checkStoredLine(line, indexedHash)
  const e = JSON.parse(line) as ServedEvent
  if (!check.ok) {
    e.integrity_violation = {
      reason: check.reason,
      ...(check.expected ? { expected: check.expected } : {}),
      ...(check.computed ? { computed: check.computed } : {}),
    }
  }
  return e
}

/** Alarm findings for the served events that failed their check. */
export function violationsOf(tenant: string, events: readonly ServedEvent[], where: string): Finding[] {
  return events
    .filter((e) => e.integrity_violation)
    .map((e) => ({
      tenant,
      kind: 'body_mismatch' as const,
      seq: typeof e.seq === 'number' ? e.seq : undefined,
      detail: `event ${String(e.id)} failed its check when read from ${where}: ${e.integrity_violation!.reason}`,
      expected: e.integrity_violation!.expected,
      found: e.integrity_violation!.computed,
    }))
}

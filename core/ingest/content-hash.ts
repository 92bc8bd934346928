// The content hash of an event: what its client supplied, without what the service adds (receipt
// time, ingest facts, chain fields). Two posts of one id are the same event exactly when their
// content hashes are equal: an identical retry is silent, anything else is a conflict (the first
// stored copy wins; queue-consumer/event-batch.ts records the conflict).
// Invariant: a pending event and the stored event it became have the same content hash.
import { createHash } from 'node:crypto'
import { canonicalText } from '../integrity/chain'
import type { PendingEvent, StoredEvent } from './stored-event'

/** Hex digits kept: 128 bits, which no accidental or crafted collision reaches. */
export const CONTENT_HASH_HEX_DIGITS = 32

export function contentHash(e: PendingEvent | StoredEvent): string {
  const {
    received_at: _r,
    ingest: _i,
    seq: _s,
    hash: _h,
    prev_hash: _p,
    ...content
  } = e as Partial<StoredEvent> & PendingEvent
  return createHash('sha256').update(canonicalText(content)).digest('hex').slice(0, CONTENT_HASH_HEX_DIGITS)
}

// What a reader sees of protected fields. Runs after the verified read (which checks the stored,
// protected form against the chain) and before core/ingest/stored-event.ts toApiEvent:
//   hashed value       -> shown as stored (hmac:v1:<hex>) to every reader: it can be compared and
//                         searched, never reversed
//   sealed value       -> the plaintext for a pii:read reader, "[sealed]" for any other
//   its subject erased -> "[erased]" for every reader
import type { Db } from '../db/client'
import { DomainError, integrityViolation } from '../errors'
import type { StoredEvent } from '../ingest/stored-event'
import { protectablePaths, withValues } from './fields'
import { type PiiKeyRing, requireRing } from './pii-keys'
import type { PrivacyPath } from './policy'
import { ERASED_MASK, openValue, SEALED_MASK, sealedAd, sealedKeyId } from './protected-value'
import { dataKeyRef, dataKeysFor } from './subject-keys'

export type Reader = { db: () => Promise<Db>; ring: PiiKeyRing | undefined; tenant: string; piiRead: boolean }

/** The events as `reader` may see them (same order; events without sealed values unchanged). */
export async function revealEvents<T extends StoredEvent>(reader: Reader, events: T[]): Promise<T[]> {
  const sealed = events.map((e) =>
    protectablePaths(e).flatMap(([path, v]) => {
      const keyId = sealedKeyId(v)
      return keyId ? [{ path, value: v as string, keyId }] : []
    }),
  )
  if (sealed.every((s) => s.length === 0)) return events
  const refs = events.flatMap((e, i) => sealed[i]!.map((s) => ({ subject: e.actor.id, keyId: s.keyId })))
  const ring = reader.piiRead ? requireRing(reader.ring) : undefined
  const keys = await dataKeysFor(await reader.db(), ring, reader.tenant, refs)
  return Promise.all(
    events.map(async (e, i) => {
      const fields = sealed[i]!
      if (fields.length === 0) return e
      const values = new Map<PrivacyPath, unknown>()
      // A line that failed its check is shown for what it is, never opened.
      const failed = (e as { integrity_violation?: object }).integrity_violation !== undefined
      for (const f of fields) {
        if (failed) {
          values.set(f.path, SEALED_MASK)
          continue
        }
        const key = keys.get(dataKeyRef(reader.tenant, e.actor.id, f.keyId))
        if (key === 'erased' || key === 'unknown' || key === undefined) values.set(f.path, ERASED_MASK)
        else if (key === 'unavailable') {
          if (reader.piiRead)
            throw new DomainError('unavailable', 'The data key of a sealed value is unavailable.')
          values.set(f.path, SEALED_MASK)
        } else {
          try {
            values.set(f.path, await openValue(key, sealedAd(reader.tenant, e.id, f.path), f.value))
          } catch {
            throw integrityViolation(
              `The sealed ${f.path} of event ${e.id} does not open under its subject's key.`,
            )
          }
        }
      }
      return withValues(e, values)
    }),
  )
}

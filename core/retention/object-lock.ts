// S3 Object Lock per archive object. Invariant: an events object holds one retention class
// (core/archive/layout.ts), so the mirror PUTs it with a retain-until date at the end of that class's
// period for its tenant and day (expiryDay): compliance mode then keeps the object's version exactly
// as long as its content must be kept, and the expiry at the end of the period is never refused.
// The date is never in the past (S3 refuses that): an event that arrives already expired is locked
// for one more day, and the mirror's lifecycle rule removes the version once the lock ends
// (docs/retention.md). Tombstones, checkpoints and manifests get the bucket's default retention,
// archive_retention_days, which outlives every class.
import config from '../../retention.config.json'
import { parseArchiveKey, parseObjectName } from '../archive/layout'
import { bundledRetentionClasses, daysOf } from './classes'
import { expiryDay } from './tombstone'

/** The S3 tag key naming an events object's class (the lifecycle rules' backstop filter). */
export const CLASS_TAG = 'retention-class'

const LOCK_MODE = (config as { s3_object_lock_mode?: string }).s3_object_lock_mode ?? 'COMPLIANCE'

/** The retain-until date of an events object, or null for any other key. */
export function retainUntil(key: string, now = new Date()): { retention: string; until: string } | null {
  const k = parseArchiveKey(key)
  const name = k && parseObjectName(k.name)
  if (!k || !name) return null
  const c = bundledRetentionClasses()
  const retention = name.retention ?? c.default_class
  const days = daysOf(c, k.tenant, retention)
  if (days === null) return null
  const end = `${expiryDay(k.dt, days)}T00:00:00.000Z`
  const floor = new Date(now.getTime() + 86_400_000).toISOString()
  return { retention, until: end > floor ? end : floor }
}

/** Request headers for mirroring `key`: lock and class tag for events objects, none otherwise. */
export function objectLockHeaders(key: string, now = new Date()): Record<string, string> {
  const r = retainUntil(key, now)
  if (!r) return {}
  return {
    'x-amz-object-lock-mode': LOCK_MODE,
    'x-amz-object-lock-retain-until-date': r.until,
    'x-amz-tagging': `${CLASS_TAG}=${r.retention}`,
  }
}

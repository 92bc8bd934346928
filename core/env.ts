// The bindings and settings of the one Worker (wrangler.toml), shared by `fetch`, `queue`
// and `scheduled`.
import { z } from 'zod'

export interface Env {
  DB: D1Database
  ARCHIVE: R2Bucket
  EVENTS_QUEUE: Queue<unknown>
  DEAD_LETTER_QUEUE: Queue<unknown>
  ADMIN_TOKEN?: string
  HOT_RETENTION_DAYS?: string
  /** JSON key ring for signing checkpoints (core/integrity/signing-keys.ts). */
  SIGNING_KEYS?: string
  /** The S3 mirror Athena reads (core/archive/mirror.ts); unset disables mirroring. */
  S3_ENDPOINT?: string
  S3_BUCKET?: string
  S3_REGION?: string
  S3_ACCESS_KEY_ID?: string
  S3_SECRET_ACCESS_KEY?: string
  S3_PREFIX?: string
}

const settingsSchema = z.object({
  adminToken: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
  hotRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
})
export type Settings = z.infer<typeof settingsSchema>

const cache = new WeakMap<object, Settings>()

/** Validates the environment's settings once per isolate. */
export function settings(env: Env): Settings {
  let s = cache.get(env)
  if (!s) {
    s = settingsSchema.parse({
      adminToken: env.ADMIN_TOKEN || undefined,
      hotRetentionDays: env.HOT_RETENTION_DAYS,
    })
    cache.set(env, s)
  }
  return s
}

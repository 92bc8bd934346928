// Every retention rule from one file (retention.config.json): the D1 hot window, the R2 bucket
// lock and lifecycle, and the S3 Object Lock and lifecycle of the mirror.
// Why events/ has no R2 bucket lock: a lock forbids deleting or overwriting objects before their
// age, and compaction deletes a closed day's small files (and may rewrite a part under its own
// name) a day or two after they are written. Write-once for events therefore lives in the S3
// mirror, whose versioned Object Lock keeps every version for the full period (a compaction
// delete there only adds a delete marker); in R2 the hash chain and the locked, signed
// checkpoints make any change to events/ detectable by the verifier.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ARCHIVE_PREFIX, CHECKPOINT_PREFIX, MANIFEST_PREFIX } from '../core/archive/layout'

export const retentionConfigSchema = z
  .object({
    hot_days: z.number().int().min(1).max(3650),
    archive_retention_days: z.number().int().min(1).max(36500),
    s3_object_lock_mode: z.enum(['COMPLIANCE', 'GOVERNANCE']),
    dead_letter_days: z.number().int().min(1).max(3650),
    athena_results_days: z.number().int().min(1).max(3650),
  })
  .strict()
  .refine((c) => c.archive_retention_days >= c.hot_days, {
    message: 'the archive must outlive the hot window',
    path: ['archive_retention_days'],
  })
export type RetentionConfig = z.infer<typeof retentionConfigSchema>

export function retentionRules(c: RetentionConfig, bucket = 'audit-log-archive') {
  return {
    /** Prefixes jobs delete or rewrite objects under (compaction), which must stay unlocked in R2. */
    rewritten_prefixes: [ARCHIVE_PREFIX, MANIFEST_PREFIX],
    wrangler_toml_vars: { HOT_RETENTION_DAYS: String(c.hot_days) },
    r2_commands: [
      // Checkpoints are never rewritten, so they can be locked for the whole period.
      `npx wrangler r2 bucket lock add ${bucket} checkpoint-lock --prefix ${CHECKPOINT_PREFIX} --retention-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} archive-expiry ${ARCHIVE_PREFIX} --expire-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} manifest-expiry ${MANIFEST_PREFIX} --expire-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} replayed-dead-letters dead-letter-replayed/ --expire-days ${c.dead_letter_days}`,
    ],
    terraform_tfvars: {
      object_lock_mode: c.s3_object_lock_mode,
      object_lock_days: c.archive_retention_days,
      archive_expiration_days: c.archive_retention_days,
      athena_results_days: c.athena_results_days,
    },
  }
}

export function loadRetentionConfig(path = 'retention.config.json'): RetentionConfig {
  return retentionConfigSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
}

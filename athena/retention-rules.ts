// Every retention rule from one file (retention.config.json): the D1 hot window, the retention
// classes (core/retention/classes.ts), the R2 bucket lock and lifecycle, and the S3 Object Lock and
// lifecycle of the mirror.
// Why events/ has no R2 bucket lock: a lock forbids deleting or overwriting objects before their
// age, and compaction deletes a closed day's small files (and may rewrite a part under its own
// name) a day or two after they are written, and class expiry deletes a class's objects when its
// period ends. Write-once for events therefore lives in the S3 mirror: each events object is
// PUT with its own Object Lock retain-until date, the end of its class's period (objects hold
// one class each), so compliance mode keeps every version for exactly its class's period and
// never forbids the expiry; in R2 the hash chain and the locked, signed checkpoints make any
// change to events/ detectable by the verifier (docs/retention.md).
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ARCHIVE_PREFIX, CHECKPOINT_PREFIX, MANIFEST_PREFIX, ZONE_MAP_PREFIX } from '../core/archive/layout'
import { checkClassNames, longestDays, retentionClassesShape } from '../core/retention/classes'

export const retentionConfigSchema = z
  .object({
    hot_days: z.number().int().min(1).max(3650),
    archive_retention_days: z.number().int().min(1).max(36500),
    s3_object_lock_mode: z.enum(['COMPLIANCE', 'GOVERNANCE']),
    dead_letter_days: z.number().int().min(1).max(3650),
    athena_results_days: z.number().int().min(1).max(3650),
    ...retentionClassesShape,
    /** The personal-data policy (core/privacy/policy.ts validates it). */
    privacy: z.unknown().optional(),
  })
  .strict()
  .superRefine(checkClassNames)
  .refine((c) => c.archive_retention_days >= c.hot_days, {
    message: 'the archive must outlive the hot window',
    path: ['archive_retention_days'],
  })
  .superRefine((c, ctx) => {
    // Checkpoints, manifests and tombstones are kept for archive_retention_days: they must
    // outlive every class, or a proof of a still-kept event would lose its checkpoint.
    for (const name of Object.keys(c.classes)) {
      const days = longestDays(c, name)
      if (days > c.archive_retention_days)
        ctx.addIssue({
          code: 'custom',
          path: ['archive_retention_days'],
          message: `must be at least every class's period: ${name} keeps events ${days} days`,
        })
    }
  })
export type RetentionConfig = z.infer<typeof retentionConfigSchema>

export function retentionRules(c: RetentionConfig, bucket = 'audit-log-archive') {
  return {
    /** Prefixes jobs delete or rewrite objects under (compaction, class expiry), which must stay unlocked in R2. */
    rewritten_prefixes: [ARCHIVE_PREFIX, MANIFEST_PREFIX],
    wrangler_toml_vars: { HOT_RETENTION_DAYS: String(c.hot_days) },
    r2_commands: [
      // Checkpoints are never rewritten, so they can be locked for the whole period.
      `npx wrangler r2 bucket lock add ${bucket} checkpoint-lock --prefix ${CHECKPOINT_PREFIX} --retention-days ${c.archive_retention_days}`,
      // A backstop only: class expiry deletes each class's objects when its period ends.
      `npx wrangler r2 bucket lifecycle add ${bucket} archive-expiry ${ARCHIVE_PREFIX} --expire-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} manifest-expiry ${MANIFEST_PREFIX} --expire-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} zone-map-expiry ${ZONE_MAP_PREFIX} --expire-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lifecycle add ${bucket} replayed-dead-letters dead-letter-replayed/ --expire-days ${c.dead_letter_days}`,
    ],
    terraform_tfvars: {
      object_lock_mode: c.s3_object_lock_mode,
      object_lock_days: c.archive_retention_days,
      archive_expiration_days: c.archive_retention_days,
      athena_results_days: c.athena_results_days,
      /** Each class's longest period over all tenants: the S3 lifecycle's backstop per class tag. */
      retention_class_days: Object.fromEntries(Object.keys(c.classes).map((k) => [k, longestDays(c, k)])),
    },
  }
}

export function loadRetentionConfig(path = 'retention.config.json'): RetentionConfig {
  return retentionConfigSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
}

// Every retention rule from one file (retention.config.json): the D1 hot window, the R2 bucket
// lock and lifecycle, and the S3 Object Lock and lifecycle of the mirror.
import { readFileSync } from 'node:fs'
import { z } from 'zod'

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
    wrangler_toml_vars: { HOT_RETENTION_DAYS: String(c.hot_days) },
    r2_commands: [
      // Objects under events/ and checkpoints/ cannot be deleted or overwritten before this age.
      `npx wrangler r2 bucket lock add ${bucket} archive-lock --prefix events/ --retention-days ${c.archive_retention_days}`,
      `npx wrangler r2 bucket lock add ${bucket} checkpoint-lock --prefix checkpoints/ --retention-days ${c.archive_retention_days}`,
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

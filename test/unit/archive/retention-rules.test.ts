import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadRetentionConfig, retentionConfigSchema, retentionRules } from '../../../athena/retention-rules'

describe('retention rules from one config', () => {
  it('derive the hot window, R2 locks and S3 Object Lock from retention.config.json', () => {
    const c = loadRetentionConfig()
    const r = retentionRules(c)
    expect(r.wrangler_toml_vars.HOT_RETENTION_DAYS).toBe(String(c.hot_days))
    expect(r.terraform_tfvars.object_lock_days).toBe(c.archive_retention_days)
    expect(r.r2_commands.join('\n')).toContain(`--retention-days ${c.archive_retention_days}`)
    expect(r.r2_commands.join('\n')).toContain(`events/ --expire-days ${c.archive_retention_days}`)
    // wrangler.toml must carry the same hot window.
    expect(readFileSync('wrangler.toml', 'utf8')).toContain(`HOT_RETENTION_DAYS = "${c.hot_days}"`)
  })

  it('never lock an R2 prefix that compaction deletes or rewrites objects under', () => {
    const r = retentionRules(loadRetentionConfig())
    const locked = r.r2_commands
      .filter((cmd) => cmd.includes(' lock add '))
      .map((cmd) => /--prefix (\S+)/.exec(cmd)?.[1] ?? '')
    expect(locked).toEqual(['checkpoints/'])
    for (const l of locked)
      for (const w of r.rewritten_prefixes)
        expect(l.startsWith(w) || w.startsWith(l), `${l} vs ${w}`).toBe(false)
  })

  it('refuses an archive that would expire before the hot window', () => {
    const bad = retentionConfigSchema.safeParse({
      hot_days: 30,
      archive_retention_days: 10,
      s3_object_lock_mode: 'COMPLIANCE',
      dead_letter_days: 1,
      athena_results_days: 1,
    })
    expect(bad.success).toBe(false)
  })
})

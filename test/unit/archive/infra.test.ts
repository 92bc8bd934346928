import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ARCHIVE_COLUMNS, athenaDdl } from '../../../athena/ddl'

// Terraform's own placeholders, escaped.
const TEMPLATE = `"storage.location.template"   = "s3://\${var.bucket}/\${local.root}tenant=$\${tenant}/dt=$\${dt}/"`
const tf = readFileSync('infra/terraform/main.tf', 'utf8')

describe('Terraform Glue table', () => {
  it('declares the same columns, in the same order, as the printed DDL', () => {
    const columns = [...tf.matchAll(/columns \{\s*name = "([^"]+)"\s*type = "([^"]+)"/g)].map((m) => [
      m[1],
      m[2],
    ])
    expect(columns).toEqual(ARCHIVE_COLUMNS.map(([n, t]) => [n, t.replace(/`/g, '')]))
  })

  it('declares the same partition projection as the printed DDL', () => {
    const ddl = athenaDdl({ bucket: 'my-mirror' })
    for (const [k, v] of [...ddl.matchAll(/'(projection\.[a-z.]+)' = '([^']+)'/g)].map((m) => [m[1], m[2]])) {
      const line = new RegExp(`"${k!.replace(/\./g, '\\.')}"\\s*=\\s*"([^"]+)"`).exec(tf)
      expect(line?.[1], k).toBe(k === 'projection.dt.range' ? `\${var.projection_start},NOW` : v)
    }
    expect(tf).toContain(TEMPLATE)
  })

  it('keeps Athena results out of the Object Lock bucket', () => {
    expect(tf).toMatch(/output_location = "s3:\/\/\$\{aws_s3_bucket\.results\.bucket\}\/"/)
    expect(/resource "aws_s3_bucket" "results" \{[^}]*object_lock_enabled/.test(tf)).toBe(false)
  })
})

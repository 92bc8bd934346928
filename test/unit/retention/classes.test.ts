import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadRetentionConfig, retentionConfigSchema, retentionRules } from '../../../athena/retention-rules'
import {
  actionMatches,
  bundledRetentionClasses,
  classOf,
  daysOf,
  parseRetentionClasses,
  retentionClassOf,
  shortestDays,
} from '../../../core/retention/classes'

const config = parseRetentionClasses({
  default_class: 'standard',
  classes: {
    standard: { days: 2555, actions: [] },
    auth: { days: 365, actions: ['auth.*'] },
    access: { days: 2555, actions: ['*.role.*', '*.permission.*'] },
    reads: { days: 90, actions: ['audit_log.searched', 'audit_log.read'] },
    short: { days: 1, actions: ['*.debug'] },
  },
  tenants: {
    hospital: { days: { standard: 2190 } },
    'bank-*': { default_class: 'access', actions: { auth: ['session.*'] } },
    'bank-eu-*': { days: { auth: 730 } },
  },
})

describe('retention class matching', () => {
  it.each([
    ['auth.*', 'auth.login', true],
    ['auth.*', 'auth.mfa.enrolled', true],
    ['auth.*', 'auth', false],
    ['auth.*', 'user.auth.login', false],
    ['*.role.*', 'user.role.updated', true],
    ['*.role.*', 'org.member.role.granted', true],
    ['*.role.*', 'role.updated', false],
    ['*.role.*', 'user.role', false],
    ['*.debug', 'cache.debug', true],
    ['*.debug', 'debug', false],
    ['audit_log.read', 'audit_log.read', true],
    ['audit_log.read', 'audit_log.reader', false],
  ])('%s matches %s: %s', (pattern, action, want) => {
    expect(actionMatches(pattern, action)).toBe(want)
  })

  it('takes the first class whose pattern matches, else the default', () => {
    expect(classOf(config, 'acme', 'auth.login')).toBe('auth')
    expect(classOf(config, 'acme', 'user.role.updated')).toBe('access')
    expect(classOf(config, 'acme', 'user.permission.revoked')).toBe('access')
    expect(classOf(config, 'acme', 'audit_log.searched')).toBe('reads')
    expect(classOf(config, 'acme', 'order.item.added')).toBe('standard')
  })

  it('applies tenant overrides: exact names, then the longest matching prefix', () => {
    // Own rules first, then the global ones, then the tenant's default.
    expect(classOf(config, 'bank-us-1', 'session.started')).toBe('auth')
    expect(classOf(config, 'bank-us-1', 'auth.login')).toBe('auth')
    expect(classOf(config, 'bank-us-1', 'order.item.added')).toBe('access')
    expect(classOf(config, 'acme', 'session.started')).toBe('standard')
    // Periods: the tenant's own, else the class's.
    expect(daysOf(config, 'hospital', 'standard')).toBe(2190)
    expect(daysOf(config, 'hospital', 'auth')).toBe(365)
    expect(daysOf(config, 'bank-eu-7', 'auth')).toBe(730)
    // bank-eu-* is the longer prefix and wins whole: it sets no default class of its own.
    expect(classOf(config, 'bank-eu-7', 'order.item.added')).toBe('standard')
    expect(daysOf(config, 'acme', 'nope')).toBeNull()
    expect(shortestDays(config, 'acme')).toBe(1)
  })

  it('refuses a bad config with a message naming what is wrong', () => {
    const bad = (raw: unknown) => () => parseRetentionClasses(raw, 'test config')
    const base = { default_class: 'standard', classes: { standard: { days: 30, actions: [] } } }
    expect(bad({ ...base, default_class: 'gold' })).toThrow(
      /default_class: "gold" is not one of the classes \(standard\)/,
    )
    expect(bad({ ...base, classes: { standard: { days: 0, actions: [] } } })).toThrow(
      /classes\.standard\.days/,
    )
    expect(bad({ ...base, classes: { standard: { days: 30, actions: ['Auth.*'] } } })).toThrow(
      /an action pattern is dotted lower-case segments/,
    )
    expect(bad({ ...base, classes: { 'Bad-Name': { days: 30, actions: [] } } })).toThrow(/a class name is/)
    expect(bad({ ...base, tenants: { acme: { days: { gold: 10 } } } })).toThrow(/tenants\.acme\.days\.gold/)
    expect(bad({ ...base, tenants: { 'ac me': {} } })).toThrow(/must be a tenant name/)
    expect(bad({ ...base, classes: { standard: { days: 30, actions: [], extra: 1 } } })).toThrow(
      /test config is invalid/,
    )
  })
})

describe('the bundled retention.config.json', () => {
  it('validates at load, and maps the issue examples to their classes', () => {
    const c = bundledRetentionClasses()
    expect(c.default_class).toBe('standard')
    expect(retentionClassOf('acme', 'auth.login')).toBe('auth')
    expect(daysOf(c, 'acme', 'auth')).toBe(365)
    for (const a of ['user.role.updated', 'team.permission.granted', 'billing.invoice.paid'])
      expect(daysOf(c, 'acme', retentionClassOf('acme', a))).toBe(2555)
    for (const a of ['audit_log.searched', 'audit_log.read'])
      expect(retentionClassOf('acme', a)).toBe('reads')
    expect(daysOf(c, 'acme', 'reads')).toBe(90)
    expect(retentionClassOf('acme', 'order.created')).toBe('standard')
    // The whole file, with the archive-wide rules, is valid too.
    expect(() => loadRetentionConfig()).not.toThrow()
  })

  it('refuses an archive retention shorter than a class, tenant overrides included', () => {
    const file = JSON.parse(readFileSync('retention.config.json', 'utf8')) as Record<string, unknown>
    const r = retentionConfigSchema.safeParse({ ...file, tenants: { acme: { days: { standard: 4000 } } } })
    expect(r.success).toBe(false)
    expect(JSON.stringify(r.error?.issues)).toMatch(/standard keeps events 4000 days/)
    expect(retentionConfigSchema.safeParse({ ...file, surprise: 1 }).success).toBe(false)
  })
})

describe('S3 lifecycle and Terraform from the classes', () => {
  it('give each class a backstop rule by tag, and the writer the rights to lock and tag', () => {
    const r = retentionRules(loadRetentionConfig())
    expect(r.terraform_tfvars.retention_class_days).toEqual({
      standard: 2555,
      auth: 365,
      access: 2555,
      billing: 2555,
      reads: 90,
      transient: 1,
    })
    const tf = readFileSync('infra/terraform/main.tf', 'utf8')
    expect(tf).toMatch(/for_each = var\.retention_class_days/)
    expect(tf).toMatch(/tags\s+= \{ "retention-class" = rule\.key \}/)
    expect(tf).toMatch(/expiration \{ days = rule\.value \+ 1 \}/)
    expect(tf).toContain('"s3:PutObjectRetention", "s3:PutObjectTagging"')
  })
})

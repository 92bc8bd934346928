import { describe, expect, it } from 'vitest'
import { DomainError } from '../../../core/errors'
import { storedEventSchema } from '../../../core/ingest/stored-event'
import { exportHashKey, loadPiiKeys, parsePiiKeys, tenantKeys } from '../../../core/privacy/pii-keys'
import {
  bundledPrivacyConfig,
  DEFAULT_FIELDS,
  parsePrivacyConfig,
  parseTenantOverrides,
  tenantPolicy,
} from '../../../core/privacy/policy'
import {
  hashValue,
  importDataKey,
  openValue,
  SEALED_RE,
  sealedAd,
  sealValue,
} from '../../../core/privacy/protected-value'

const secret = (n: number) => Buffer.alloc(32, n).toString('base64url')
const ring1 = JSON.stringify([{ id: 'k1', secret: secret(1), not_before: '2020-01-01T00:00:00Z' }])
const ring2 = JSON.stringify([
  { id: 'k2', secret: secret(2), not_before: '2021-01-01T00:00:00Z' },
  { id: 'k1', secret: secret(1), not_before: '2020-01-01T00:00:00Z' },
])

describe('privacy policy', () => {
  it('the bundled retention.config.json section is valid and seals the four default fields', () => {
    const cfg = bundledPrivacyConfig()
    expect(cfg.fields).toEqual(DEFAULT_FIELDS)
    expect([...tenantPolicy(cfg, 'acme')]).toEqual([
      ['actor.email', 'seal'],
      ['actor.name', 'seal'],
      ['context.ip', 'seal'],
      ['context.user_agent', 'seal'],
    ])
  })

  it('defaults apply when the section is absent', () => {
    expect(parsePrivacyConfig(undefined).fields).toEqual(DEFAULT_FIELDS)
  })

  it('refuses unknown modes and paths, naming them', () => {
    expect(() => parsePrivacyConfig({ fields: { 'actor.email': 'encrypt' } })).toThrow(
      /"encrypt" is not a privacy mode: use hash, seal, plain/,
    )
    expect(() => parsePrivacyConfig({ fields: { 'target.id': 'seal' } })).toThrow(
      /"target.id" is not a field the policy can name/,
    )
    expect(() => parsePrivacyConfig({ fields: { 'metadata.': 'seal' } })).toThrow(/not a field/)
    expect(() => parsePrivacyConfig({ fields: { [`metadata.${'k'.repeat(65)}`]: 'seal' } })).toThrow(
      /not a field/,
    )
    expect(() => parsePrivacyConfig({ fields: {}, extra: 1 })).toThrow(/privacy is invalid/)
    expect(() => parsePrivacyConfig({ tenants: { 'bad tenant': {} } })).toThrow(/tenant prefix ending in \*/)
  })

  it('tenant overrides: exact name over the longest prefix over the fields; plain turns a field off', () => {
    const cfg = parsePrivacyConfig({
      fields: { 'actor.email': 'seal', 'context.ip': 'seal' },
      tenants: {
        'eu-*': { 'context.ip': 'hash' },
        'eu-fr-*': { 'context.ip': 'plain', 'metadata.phone': 'seal' },
        'eu-fr-acme': { 'actor.email': 'hash' },
      },
    })
    expect(Object.fromEntries(tenantPolicy(cfg, 'us-1'))).toEqual({
      'actor.email': 'seal',
      'context.ip': 'seal',
    })
    expect(Object.fromEntries(tenantPolicy(cfg, 'eu-de'))).toEqual({
      'actor.email': 'seal',
      'context.ip': 'hash',
    })
    expect(Object.fromEntries(tenantPolicy(cfg, 'eu-fr-x'))).toEqual({
      'actor.email': 'seal',
      'metadata.phone': 'seal',
    })
    expect(Object.fromEntries(tenantPolicy(cfg, 'eu-fr-acme'))).toEqual({
      'actor.email': 'hash',
      'context.ip': 'seal',
    })
    // The PRIVACY_TENANTS var applies over the config's overrides.
    const extra = parseTenantOverrides('{"us-*": {"actor.email": "plain"}}')
    expect(Object.fromEntries(tenantPolicy(cfg, 'us-1', extra))).toEqual({ 'context.ip': 'seal' })
  })

  it('PRIVACY_TENANTS that is not JSON or names a bad mode is a 503 naming the problem', () => {
    expect(parseTenantOverrides('')).toEqual({})
    for (const [text, msg] of [
      ['{', /not JSON/],
      ['{"acme": {"actor.email": "rot13"}}', /"rot13" is not a privacy mode/],
    ] as const) {
      try {
        parseTenantOverrides(text)
        expect.unreachable()
      } catch (e) {
        expect(e).toBeInstanceOf(DomainError)
        expect((e as DomainError).code).toBe('unavailable')
        expect((e as Error).message).toMatch(msg)
      }
    }
  })
})

describe('PII key ring', () => {
  it('refuses a malformed ring without echoing a secret', () => {
    expect(() => parsePiiKeys('nope')).toThrow(/PII_KEYS is not JSON/)
    const short = JSON.stringify([{ id: 'k', secret: 'c2hvcnQ', not_before: '2020-01-01T00:00:00Z' }])
    expect(() => parsePiiKeys(short)).toThrow(/must be 32 random bytes/)
    try {
      parsePiiKeys(short)
    } catch (e) {
      expect((e as Error).message).not.toContain('c2hvcnQ')
    }
    const dup = JSON.stringify([
      { id: 'k', secret: secret(1), not_before: '2020-01-01T00:00:00Z' },
      { id: 'k', secret: secret(2), not_before: '2020-01-01T00:00:00Z' },
    ])
    expect(() => parsePiiKeys(dup)).toThrow(/unique/)
  })

  it('rotation: the newest key wraps, the HMAC key stays the oldest one (hashes never change)', async () => {
    const one = await tenantKeys(loadPiiKeys(ring1)!, 'acme')
    const two = await tenantKeys(loadPiiKeys(ring2)!, 'acme')
    expect(one.activeId).toBe('k1')
    expect(two.activeId).toBe('k2')
    expect([...two.wrapping.keys()].sort()).toEqual(['k1', 'k2'])
    expect(await hashValue(two.hmac, 'ada@example.com')).toBe(await hashValue(one.hmac, 'ada@example.com'))
  })

  it('a key whose not_before is in the future does not wrap yet', async () => {
    const later = JSON.stringify([
      { id: 'k1', secret: secret(1), not_before: '2020-01-01T00:00:00Z' },
      { id: 'k9', secret: secret(9), not_before: '2999-01-01T00:00:00Z' },
    ])
    expect((await tenantKeys(loadPiiKeys(later)!, 'acme')).activeId).toBe('k1')
  })
})

describe('hashed values', () => {
  it('are keyed per tenant, deterministic, typed by JSON text, and match the exported key', async () => {
    const ring = loadPiiKeys(ring1)!
    const a = await tenantKeys(ring, 'acme')
    const b = await tenantKeys(ring, 'globex')
    const h = await hashValue(a.hmac, '203.0.113.7')
    expect(h).toMatch(/^hmac:v1:[0-9a-f]{64}$/)
    expect(await hashValue(a.hmac, '203.0.113.7')).toBe(h)
    expect(await hashValue(b.hmac, '203.0.113.7')).not.toBe(h)
    expect(await hashValue(a.hmac, 1)).not.toBe(await hashValue(a.hmac, '1'))
    // What the Athena client computes from the exported key (athena/query.ts) is the same.
    const raw = Buffer.from(await exportHashKey(secret(1), 'acme'), 'base64url')
    const { createHmac } = await import('node:crypto')
    const hex = createHmac('sha256', raw).update(JSON.stringify('203.0.113.7')).digest('hex')
    expect(`hmac:v1:${hex}`).toBe(h)
  })
})

describe('sealed values', () => {
  const key = () => importDataKey('dk1', new Uint8Array(32).fill(3))

  it('round-trip every scalar type and are deterministic for the same event, field and value', async () => {
    const k = await key()
    const ad = sealedAd('acme', 'evt-1', 'actor.email')
    for (const v of ['ada@example.com', 42, true, 'ünïcødé ✓']) {
      const s = await sealValue(k, 'acme', 'evt-1', 'actor.email', v)
      expect(s).toMatch(SEALED_RE)
      expect(s.startsWith('sealed:v1:dk1:')).toBe(true)
      expect(s).not.toContain(String(v))
      expect(await openValue(k, ad, s)).toEqual(v)
      expect(await sealValue(k, 'acme', 'evt-1', 'actor.email', v)).toBe(s)
    }
    expect(await sealValue(k, 'acme', 'evt-1', 'actor.email', 'a@x.io')).not.toBe(
      await sealValue(k, 'acme', 'evt-1', 'actor.email', 'b@x.io'),
    )
  })

  it("an event's fields: distinct IVs, each opens under its own path, the same whatever their order", async () => {
    const { sealFields } = await import('../../../core/privacy/protected-value')
    const k = await key()
    const fields: [string, unknown][] = [
      ['actor.email', 'same'],
      ['context.ip', 'same'],
      ['metadata.n', 7],
    ]
    const sealed = await sealFields(k, 'acme', 'evt-9', fields)
    const ivs = sealed.map((s) => Buffer.from(s.split(':')[3]!, 'base64url').subarray(0, 12).toString('hex'))
    expect(new Set(ivs).size).toBe(3)
    for (const [i, [path, v]] of fields.entries())
      expect(await openValue(k, sealedAd('acme', 'evt-9', path), sealed[i]!)).toEqual(v)
    const reversed = await sealFields(k, 'acme', 'evt-9', [...fields].reverse())
    expect([...reversed].reverse()).toEqual(sealed)
    // Any other content of the event gives other IVs for every field.
    const other = await sealFields(k, 'acme', 'evt-9', [
      ['actor.email', 'same'],
      ['context.ip', 'same'],
      ['metadata.n', 8],
    ])
    expect(other[0]).not.toBe(sealed[0])
  })

  it('do not open when moved to another event, field or tenant, or under another key', async () => {
    const k = await key()
    const s = await sealValue(k, 'acme', 'evt-1', 'actor.email', 'ada@example.com')
    await expect(openValue(k, sealedAd('acme', 'evt-2', 'actor.email'), s)).rejects.toThrow()
    await expect(openValue(k, sealedAd('acme', 'evt-1', 'actor.name'), s)).rejects.toThrow()
    await expect(openValue(k, sealedAd('globex', 'evt-1', 'actor.email'), s)).rejects.toThrow()
    const other = await importDataKey('dk1', new Uint8Array(32).fill(4))
    await expect(openValue(other, sealedAd('acme', 'evt-1', 'actor.email'), s)).rejects.toThrow()
    // A flipped byte of the ciphertext fails the tag.
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1)
    await expect(openValue(k, sealedAd('acme', 'evt-1', 'actor.email'), flipped)).rejects.toThrow()
  })

  it('the stored record accepts protected forms where the plaintext is validated, and nothing else', async () => {
    const k = await key()
    const email = await sealValue(k, 'acme', 'e', 'actor.email', 'ada@example.com')
    const record = {
      v: 1,
      tenant: 'acme',
      id: 'e',
      occurred_at: '2026-01-01T00:00:00.000Z',
      received_at: '2026-01-01T00:00:00.000Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u', email },
      target: { type: 'session', id: 's' },
      outcome: { status: 'success' },
      context: { ip: `hmac:v1:${'a'.repeat(64)}` },
      ingest: { key_id: 'k', request_id: 'r' },
      seq: 1,
      prev_hash: '0'.repeat(64),
      hash: '1'.repeat(64),
    }
    expect(storedEventSchema.safeParse(record).success).toBe(true)
    expect(storedEventSchema.safeParse({ ...record, context: { ip: 'hmac:v1:zz' } }).success).toBe(false)
    expect(
      storedEventSchema.safeParse({ ...record, actor: { type: 'user', id: 'u', email: 'nope' } }).success,
    ).toBe(false)
  })
})

describe('the Athena client', () => {
  it('hashes an IP filter exactly as the Worker stores it, given the tenant key athena hash-key prints', async () => {
    const { hashQueryValue, buildQuery } = await import('../../../athena/query')
    const stored = await hashValue((await tenantKeys(loadPiiKeys(ring2)!, 'acme')).hmac, '203.0.113.7')
    // Hashes come from the oldest ring key (k1), whatever key wraps.
    const key = await exportHashKey(secret(1), 'acme')
    expect(hashQueryValue(key, '203.0.113.7')).toBe(stored)
    const q = { tenant: 'acme', from: '2026-01-01', to: '2026-01-02', ip: '203.0.113.7' }
    expect(buildQuery(q, { database: 'audit_log', table: 'events', hashKey: key }).parameters).toContain(
      `'${stored}'`,
    )
    expect(buildQuery(q, { database: 'audit_log', table: 'events' }).parameters).toContain(`'203.0.113.7'`)
    expect(() => hashQueryValue('c2hvcnQ', '1')).toThrow(/32-byte/)
  })
})

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789'
/** The integration tests' signing key ring (a development key: its seed is public). */
export const TEST_SIGNING_KEYS = JSON.stringify([
  { id: 'dev-test', seed: Buffer.alloc(32, 5).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
])
/** The integration tests' PII key ring (its secret is public: tests only). */
export const TEST_PII_KEYS = JSON.stringify([
  { id: 'test-1', secret: Buffer.alloc(32, 7).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
])
/**
 * Per-tenant privacy overrides of the integration tests: tenants that search by IP keep it plain
 * (the filters' semantics are tested on plain values), privhash-* tenants hash it.
 */
export const TEST_PRIVACY_TENANTS = JSON.stringify({
  'search-*': { 'context.ip': 'plain' },
  'privhash-*': { 'context.ip': 'hash', 'actor.email': 'hash', 'metadata.phone': 'seal' },
})

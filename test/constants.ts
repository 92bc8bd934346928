export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789'
/** The integration tests' signing key ring (a development key: its seed is public). */
export const TEST_SIGNING_KEYS = JSON.stringify([
  { id: 'dev-test', seed: Buffer.alloc(32, 5).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
])

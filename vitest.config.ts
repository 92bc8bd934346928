import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false'
process.env.WRANGLER_SEND_METRICS = 'false'

import { TEST_ADMIN_TOKEN, TEST_PII_KEYS, TEST_PRIVACY_TENANTS, TEST_SIGNING_KEYS } from './test/constants.ts'

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations')
  return {
    test: {
      projects: [
        {
          test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
        },
        {
          // Whole-system tests: wrangler dev, a local S3 server and DuckDB, all on 127.0.0.1.
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            environment: 'node',
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                  SIGNING_KEYS: TEST_SIGNING_KEYS,
                  PII_KEYS: TEST_PII_KEYS,
                  PRIVACY_TENANTS: TEST_PRIVACY_TENANTS,
                  HOT_RETENTION_DAYS: '3650',
                  PROOF_CHECKPOINT_INTERVAL_SECONDS: '1',
                  D1_SHARD_MAP_CACHE_SECONDS: '1',
                  // Archive objects right after each batch, as most tests expect; flushes by size
                  // and age are tested with their own settings (archive-flush.test.ts).
                  ARCHIVE_FLUSH_SECONDS: '0',
                },
              },
            }),
          ],
          test: {
            name: 'workers',
            include: ['test/integration/**/*.test.ts'],
            setupFiles: ['./test/integration/setup.ts'],
            testTimeout: 30_000,
          },
        },
      ],
    },
  }
})

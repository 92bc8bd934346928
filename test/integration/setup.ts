import { applyD1Migrations, env } from 'cloudflare:test'

// Every shard gets the whole schema, as `npm start` and the deploy command apply it.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)
await applyD1Migrations(env.DB_1, env.TEST_MIGRATIONS)

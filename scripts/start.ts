#!/usr/bin/env -S npx tsx
// Runs the whole system locally: writes .dev.vars with a random admin token and a random signing
// key when it is missing, applies the D1 migrations to the local database, then serves the Worker
// (API, queue consumers, cron) with wrangler on http://localhost:$PORT (8787 by default). State
// lives under .wrangler/state. The scheduled handler runs on wrangler.toml's `[triggers] crons`
// schedule, as deployed: a timer here calls /__scheduled at each due time (scripts/lib/local-cron.ts;
// LOCAL_CRON overrides the schedule, LOCAL_CRON=off turns it off).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { buildConsole } from './build-console'
import { configuredCrons, configuredD1Bindings, localSchedules, startLocalCron } from './lib/local-cron'

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }
const port = process.env.PORT ?? '8787'
const wrangler = ['node_modules/wrangler/bin/wrangler.js']

/** A new PII key ring of one random key (core/privacy/pii-keys.ts). */
function piiKeys(): string {
  const now = new Date().toISOString()
  return JSON.stringify([{ id: 'local-1', secret: randomBytes(32).toString('base64url'), not_before: now }])
}

if (!existsSync('.dev.vars')) {
  const now = new Date().toISOString()
  const signingKeys = [
    { id: `dev-local-${now.slice(0, 10)}`, seed: randomBytes(32).toString('base64url'), not_before: now },
  ]
  writeFileSync(
    '.dev.vars',
    [
      '# Local secrets, written by the first `npm start` (random; never derived from each other).',
      `ADMIN_TOKEN=${randomBytes(32).toString('base64url')}`,
      `SIGNING_KEYS=${JSON.stringify(signingKeys)}`,
      `PII_KEYS=${piiKeys()}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  console.log(
    'Wrote .dev.vars: a random ADMIN_TOKEN and signing key for this machine (see README, Configuration).',
  )
}

// A .dev.vars from before the privacy policy gets its PII key ring (docs/privacy.md).
if (!/^PII_KEYS=/m.test(readFileSync('.dev.vars', 'utf8'))) {
  appendFileSync('.dev.vars', `PII_KEYS=${piiKeys()}\n`)
  console.log(
    'Added PII_KEYS to .dev.vars: a random key ring for sealed and hashed fields (docs/privacy.md).',
  )
}

// The console and /docs assets (wrangler.toml [assets]), fresh from the sources.
await buildConsole()

// Every D1 shard gets the same migrations.
for (const binding of configuredD1Bindings()) {
  const migrate = spawnSync(
    process.execPath,
    [...wrangler, 'd1', 'migrations', 'apply', binding, '--local'],
    {
      stdio: 'inherit',
      env: { ...env, CI: 'true' },
    },
  )
  if (migrate.status !== 0) process.exit(migrate.status ?? 1)
}

const dev = spawn(
  process.execPath,
  [
    ...wrangler,
    'dev',
    '--port',
    port,
    '--test-scheduled',
    '--show-interactive-dev-session=false',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env },
)
const cron = startLocalCron({ url: `http://127.0.0.1:${port}`, schedules: localSchedules(configuredCrons()) })
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    cron.stop()
    dev.kill(sig)
  })
dev.on('exit', (code) => {
  cron.stop()
  process.exit(code ?? 0)
})

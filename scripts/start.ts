#!/usr/bin/env -S npx tsx
// Runs the whole system locally: creates .dev.vars from the example when missing, applies the
// D1 migrations to the local database, then serves the Worker (API, queue consumers, cron) with
// wrangler on http://localhost:$PORT (8787 by default). State lives under .wrangler/state.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync } from 'node:fs'

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }
const port = process.env.PORT ?? '8787'
const wrangler = ['node_modules/wrangler/bin/wrangler.js']

if (!existsSync('.dev.vars')) {
  copyFileSync('.dev.vars.example', '.dev.vars')
  console.log('Created .dev.vars from .dev.vars.example (local secrets, including ADMIN_TOKEN).')
}

const migrate = spawnSync(process.execPath, [...wrangler, 'd1', 'migrations', 'apply', 'DB', '--local'], {
  stdio: 'inherit',
  env: { ...env, CI: 'true' },
})
if (migrate.status !== 0) process.exit(migrate.status ?? 1)

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
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => dev.kill(sig))
dev.on('exit', (code) => process.exit(code ?? 0))

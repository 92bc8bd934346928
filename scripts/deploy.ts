#!/usr/bin/env -S npx tsx
// npm run deploy [-- --dry-run]
// Deploys the Worker to the Cloudflare account wrangler is logged in to (`wrangler login`, or
// CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID), creating what is missing first: the D1
// database(s) (their ids written into wrangler.toml) and their migrations, the R2 bucket(s), the
// queues, the archive bucket's event notification, and the secrets ADMIN_TOKEN, SIGNING_KEYS and PII_KEYS
// (random; uploaded with the deployment). Running it again creates nothing. --dry-run prints the
// plan and the bundle size and changes nothing; without credentials it plans from the config alone.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DeployError, deployConfigFrom, type Runner, runDeploy, withDatabaseId } from './lib/deploy-plan'
import { publicKeyOf } from './lib/ed25519'

const USAGE = `usage: npm run deploy [-- --dry-run]

  (no flag)   create what is missing (D1, migrations, R2, queues, the R2 notification, secrets), then wrangler deploy
  --dry-run   print the plan and the bundle size; change nothing (works offline, without credentials)
  --help      this text

Credentials: wrangler login, or CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID). See docs/deploy.md.`

const CONFIG = 'wrangler.toml'
const SECRETS_EXAMPLE = '.dev.vars.example'
const WRANGLER = resolve('node_modules/wrangler/bin/wrangler.js')

const args = process.argv.slice(2)
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE)
  process.exit(0)
}
const unknown = args.filter((a) => a !== '--dry-run')
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown[0]}\n${USAGE}`)
  process.exit(2)
}
const dryRun = args.includes('--dry-run')

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }

const run: Runner = (wranglerArgs, options = {}) =>
  new Promise((done) => {
    const child = spawn(process.execPath, [WRANGLER, ...wranglerArgs, '--config', CONFIG], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
      if (options.stream) process.stdout.write(d)
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      if (options.stream) process.stderr.write(d)
    })
    // Every call is bounded: an unreachable API must not hang the deploy.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ status: code ?? 1, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })

/** Credentials wrangler would use: an API token or key in the environment, or a `wrangler login`. */
function hasCredentials(): boolean {
  if (process.env.CLOUDFLARE_API_TOKEN || process.env.CLOUDFLARE_API_KEY) return true
  const xdg = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config')
  return [join(xdg, '.wrangler/config/default.toml'), join(homedir(), '.wrangler/config/default.toml')].some(
    (p) => existsSync(p),
  )
}

function secretNames(): string[] {
  return readFileSync(SECRETS_EXAMPLE, 'utf8')
    .split('\n')
    .map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
}

async function generateSecrets(names: string[]) {
  const values: Record<string, string> = {}
  const notes: string[] = []
  const where = `stored as secrets of Worker ${config.worker} on Cloudflare (write-only: wrangler secret list shows names, never values); no copy is kept on this machine`
  if (names.includes('SIGNING_KEYS')) {
    const now = new Date().toISOString()
    const seed = randomBytes(32)
    const entry = { id: `prod-${now.slice(0, 10)}`, seed: seed.toString('base64url'), not_before: now }
    values.SIGNING_KEYS = JSON.stringify([entry])
    notes.push(
      `SIGNING_KEYS: a new Ed25519 key "${entry.id}", ${where}. Its public key (published at /.well-known/audit-log-keys): ${publicKeyOf(seed)}`,
    )
  }
  if (names.includes('PII_KEYS')) {
    const now = new Date().toISOString()
    const entry = {
      id: `prod-${now.slice(0, 10)}`,
      secret: randomBytes(32).toString('base64url'),
      not_before: now,
    }
    values.PII_KEYS = JSON.stringify([entry])
    notes.push(
      `PII_KEYS: a new key ring "${entry.id}" for sealed and hashed fields, ${where}. Losing it makes every sealed value unreadable: keep a copy offline (docs/privacy.md).`,
    )
  }
  if (names.includes('ADMIN_TOKEN')) {
    const token = randomBytes(32).toString('base64url')
    values.ADMIN_TOKEN = token
    notes.push(`ADMIN_TOKEN: ${where}.`)
    if (process.stderr.isTTY)
      notes.push(`\n  The admin token, shown this once (keep it in your password manager):\n\n    ${token}\n`)
    else
      notes.push(
        '  The admin token is not shown: this is not a terminal. To know it, set your own: npx wrangler secret put ADMIN_TOKEN',
      )
  }
  return { values, notes }
}

async function deployWith(secrets: Record<string, string>) {
  if (Object.keys(secrets).length === 0) return run(['deploy'], { stream: true })
  const dir = mkdtempSync(join(tmpdir(), 'audit-log-deploy-'))
  const file = join(dir, 'secrets.json')
  try {
    writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 })
    return await run(['deploy', '--secrets-file', file], { stream: true })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `wrangler deploy --dry-run --outdir <tmp>`: the bundle wrangler would upload, and its size. */
async function bundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'audit-log-bundle-'))
  try {
    const r = await run(['deploy', '--dry-run', '--outdir', dir])
    if (r.status !== 0) throw new DeployError(`wrangler deploy --dry-run failed:\n${r.stderr || r.stdout}`)
    const upload = /Total Upload:\s*([\d.]+ \w+)\s*\/\s*gzip:\s*([\d.]+ \w+)/.exec(r.stdout + r.stderr)
    let raw = 0
    let gzip = 0
    for (const f of readdirSync(dir)) {
      if (!/\.(m?js|wasm)$/.test(f)) continue
      raw += statSync(join(dir, f)).size
      gzip += gzipSync(readFileSync(join(dir, f))).length
    }
    const kib = (n: number) => `${(n / 1024).toFixed(2)} KiB`
    return upload
      ? `bundle ${upload[1]}, gzip ${upload[2]} (wrangler's Total Upload)`
      : `bundle ${kib(raw)}, gzip ${kib(gzip)}`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// Loaded only once the flags are known to be valid: --help and a bad flag never start wrangler.
const { unstable_readConfig } = await import('wrangler')
const config = (() => {
  try {
    return deployConfigFrom(unstable_readConfig({ config: CONFIG }), secretNames())
  } catch (err) {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  }
})()

try {
  const canLookUp = hasCredentials()
  if (dryRun && !canLookUp)
    console.log(
      'No Cloudflare credentials: the plan comes from wrangler.toml alone; what only the API can tell is "would check".',
    )
  await runDeploy({
    config,
    run,
    dryRun,
    canLookUp,
    log: (l) => console.log(l),
    writeDatabaseId: (name, id) =>
      writeFileSync(CONFIG, withDatabaseId(readFileSync(CONFIG, 'utf8'), name, id)),
    generateSecrets,
    deployWith,
    bundle,
  })
  if (dryRun) console.log('Dry run: nothing was changed. Run npm run deploy to apply.')
  else console.log(`Deployed. The S3 mirror and Athena: docs/deploy.md.`)
} catch (err) {
  console.error(err instanceof DeployError ? `deploy stopped: ${err.message}` : err)
  process.exit(1)
}

// The deploy's plan over a fake Cloudflare account: no real wrangler call is made.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { unstable_readConfig } from 'wrangler'
import {
  type DeployConfig,
  DeployError,
  deployConfigFrom,
  isUnsetDatabaseId,
  parseQueueList,
  parseR2BucketList,
  type RunResult,
  runDeploy,
  type Step,
  UNSET_DATABASE_ID,
  withDatabaseId,
} from '../../scripts/lib/deploy-plan'

const SECRET_NAMES = readFileSync('.dev.vars.example', 'utf8')
  .split('\n')
  .map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
  .filter((n): n is string => n !== undefined)

function projectConfig(): DeployConfig {
  return deployConfigFrom(unstable_readConfig({ config: 'wrangler.toml' }), SECRET_NAMES)
}

type Account = {
  d1: { name: string; uuid: string }[]
  buckets: string[]
  queues: string[]
  notifications: { bucket: string; queue: string }[]
  secrets: string[]
  worker: boolean
}

/** The D1 databases of wrangler.toml: the directory and first shard, and the second shard. */
const SHARD_1 = { binding: 'DB_1', name: 'audit-log-shard-1' }
/** The config once the account's databases' ids are written into it. */
const withIds = (account: Account): DeployConfig => ({
  ...projectConfig(),
  d1: [
    { binding: 'DB', name: 'audit-log', id: account.d1.find((d) => d.name === 'audit-log')!.uuid },
    { ...SHARD_1, id: account.d1.find((d) => d.name === SHARD_1.name)!.uuid },
  ],
})

const ok = (stdout = ''): RunResult => ({ status: 0, stdout, stderr: '' })
const MUTATING =
  /^(d1 create|d1 migrations apply|r2 bucket create|queues create|r2 bucket notification create|secret put|deploy)/

/** A Cloudflare account as wrangler's commands print it. */
function fakeWrangler(account: Account) {
  const calls: string[] = []
  let n = 0
  const run = async (args: string[]): Promise<RunResult> => {
    const cmd = args.join(' ')
    calls.push(cmd)
    const [a, b, c, d, e] = args
    if (cmd === 'd1 list --json')
      return ok(JSON.stringify(account.d1.map((x) => ({ ...x, version: 'production', num_tables: 0 }))))
    if (a === 'd1' && b === 'create') {
      account.d1.push({ name: c!, uuid: `1111111${++n}-2222-3333-4444-555555555555` })
      return ok(`✅ Successfully created DB '${c}'`)
    }
    if (a === 'd1' && b === 'migrations' && c === 'apply') return ok('No migrations to apply!')
    if (cmd === 'r2 bucket list')
      return ok(
        `Listing buckets...\n${account.buckets.map((x) => `name:           ${x}\ncreation_date:  2026-01-01T00:00:00.000Z\n`).join('\n')}`,
      )
    if (a === 'r2' && b === 'bucket' && c === 'create') {
      account.buckets.push(d!)
      return ok(`Created bucket '${d}'`)
    }
    if (cmd === 'queues list') {
      const rows = account.queues.map(
        (q, i) => `│ ${String(i).padStart(32, 'a')} │ ${q} │ 2026-01-01 │ 2026-01-01 │ 0 │ 0 │`,
      )
      return ok(
        [
          '┌──┬──┐',
          '│ id │ name │ created_on │ modified_on │ producers │ consumers │',
          '├──┼──┤',
          ...rows,
          '└──┴──┘',
        ].join('\n'),
      )
    }
    if (a === 'queues' && b === 'create') {
      account.queues.push(c!)
      return ok(`Created queue ${c}`)
    }
    if (a === 'r2' && b === 'bucket' && c === 'notification' && d === 'list') {
      const rules = account.notifications.filter((x) => x.bucket === e)
      return ok(
        `Fetching notification rules for bucket ${e}...\n${rules
          .map(
            (r) =>
              `rule_id:     r1\nqueue_name:  ${r.queue}\nprefix:\nsuffix:\nevent_type:  PutObject,CompleteMultipartUpload,CopyObject\n`,
          )
          .join('\n')}`,
      )
    }
    if (a === 'r2' && b === 'bucket' && c === 'notification' && d === 'create') {
      account.notifications.push({ bucket: e!, queue: args[args.indexOf('--queue') + 1]! })
      return ok('Event notification rule created successfully!')
    }
    if (a === 'secret' && b === 'list') {
      if (!account.worker)
        return {
          status: 1,
          stdout: '',
          stderr: '✘ [ERROR] This Worker does not exist on your account. [code: 10007]',
        }
      return ok(JSON.stringify(account.secrets.map((name) => ({ name, type: 'secret_text' }))))
    }
    return { status: 1, stdout: '', stderr: `fake wrangler: unexpected command ${cmd}` }
  }
  return { run, calls }
}

function harness(account: Account, { dryRun = false, canLookUp = true, config = projectConfig() } = {}) {
  const wrangler = fakeWrangler(account)
  const writes: [string, string][] = []
  const deployed: Record<string, string>[] = []
  const generated: string[][] = []
  const lines: string[] = []
  let bundled = 0
  const go = () =>
    runDeploy({
      config,
      run: wrangler.run,
      dryRun,
      canLookUp,
      log: (l) => lines.push(l),
      writeDatabaseId: (name, id) => {
        writes.push([name, id])
      },
      generateSecrets: async (names) => {
        generated.push(names)
        return { values: Object.fromEntries(names.map((n) => [n, `value-of-${n}`])), notes: [] }
      },
      deployWith: async (secrets) => {
        wrangler.calls.push('deploy')
        deployed.push(secrets)
        for (const s of Object.keys(secrets)) account.secrets.push(s)
        account.worker = true
        return ok('Deployed')
      },
      bundle: async () => {
        bundled++
        return 'bundle 1000.00 KiB, gzip 200.00 KiB'
      },
    })
  return { go, calls: wrangler.calls, writes, deployed, generated, lines, bundles: () => bundled }
}

const emptyAccount = (): Account => ({
  d1: [],
  buckets: [],
  queues: [],
  notifications: [],
  secrets: [],
  worker: false,
})
const by = (steps: Step[], kind: string) => steps.filter((s) => s.kind === kind)

describe('deploy config', () => {
  it("reads every resource the Worker binds from wrangler.toml and the secrets' names", () => {
    const c = projectConfig()
    expect(c.worker).toBe('audit-log')
    expect(c.d1).toEqual([
      { binding: 'DB', name: 'audit-log', id: UNSET_DATABASE_ID },
      { ...SHARD_1, id: '00000000-0000-0000-0000-000000000001' },
    ])
    // Each placeholder id is distinct (wrangler refuses two bindings of one id) and reads as unset.
    for (const d of c.d1) expect(isUnsetDatabaseId(d.id!), d.name).toBe(true)
    expect(isUnsetDatabaseId('abcdef01-2345-6789-abcd-ef0123456789')).toBe(false)
    expect(c.buckets).toEqual(['audit-log-archive'])
    expect(c.queues.sort()).toEqual(['audit-archive-notifications', 'audit-events', 'audit-events-dlq'])
    expect(c.notifications).toEqual([{ bucket: 'audit-log-archive', queue: 'audit-archive-notifications' }])
    expect(c.generatedSecrets).toEqual(['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS'])
    expect(c.optionalSecrets).toEqual(expect.arrayContaining(['S3_ENDPOINT', 'S3_SECRET_ACCESS_KEY']))
  })

  it('writes a database id into its own [[d1_databases]] block only, keeping the rest', () => {
    const toml = readFileSync('wrangler.toml', 'utf8')
    const id = 'abcdef01-2345-6789-abcd-ef0123456789'
    const out = withDatabaseId(toml, 'audit-log', id)
    expect(out).toContain(`database_id = "${id}"`)
    expect(out).not.toContain(UNSET_DATABASE_ID)
    expect(out.replace(`database_id = "${id}"`, `database_id = "${UNSET_DATABASE_ID}"`)).toBe(toml)
    expect(unstable_readConfigFromText(out).d1_databases[0]?.database_id).toBe(id)
    expect(() => withDatabaseId(toml, 'no-such-db', id)).toThrow(DeployError)
    // The shard's block only: the directory's placeholder stays.
    const shard = withDatabaseId(toml, SHARD_1.name, id)
    expect(shard).toContain(`database_id = "${id}"`)
    expect(shard).toContain(`database_id = "${UNSET_DATABASE_ID}"`)
    expect(shard).not.toContain('00000000-0000-0000-0000-000000000001')
  })

  it('parses the list outputs', () => {
    expect(
      parseR2BucketList('Listing buckets...\nname:           a-b\ncreation_date:  x\n\nname: c\n'),
    ).toEqual(['a-b', 'c'])
    expect(parseQueueList(`│ id │ name │\n│ ${'f'.repeat(32)} │ audit-events │ x │`)).toEqual([
      'audit-events',
    ])
  })
})

/** The D1 section of a config text, as TOML would read it (enough for the id check). */
function unstable_readConfigFromText(toml: string) {
  const id = /\[\[d1_databases\]\][\s\S]*?^database_id\s*=\s*"([^"]+)"/m.exec(toml)?.[1]
  return { d1_databases: [{ database_id: id }] }
}

describe('deploy on a fresh account', () => {
  it('creates everything, writes the database id, generates the secrets and deploys with them', async () => {
    const account = emptyAccount()
    const h = harness(account)
    const steps = await h.go()
    expect(h.calls).toEqual(
      expect.arrayContaining([
        'd1 create audit-log',
        'd1 migrations apply DB --remote',
        'd1 create audit-log-shard-1',
        'd1 migrations apply DB_1 --remote',
        'r2 bucket create audit-log-archive',
        'queues create audit-events',
        'queues create audit-events-dlq',
        'queues create audit-archive-notifications',
        'r2 bucket notification create audit-log-archive --event-type object-create --queue audit-archive-notifications',
        'deploy',
      ]),
    )
    // Order: resources before the notification, the notification before the deployment.
    const at = (c: string) => h.calls.findIndex((x) => x.startsWith(c))
    expect(at('queues create audit-archive-notifications')).toBeLessThan(at('r2 bucket notification create'))
    expect(at('r2 bucket create')).toBeLessThan(at('r2 bucket notification create'))
    expect(at('d1 create')).toBeLessThan(at('d1 migrations apply'))
    expect(at('r2 bucket notification create')).toBeLessThan(at('deploy'))
    expect(h.writes).toEqual([
      ['audit-log', account.d1[0]!.uuid],
      [SHARD_1.name, account.d1[1]!.uuid],
    ])
    expect(h.generated).toEqual([['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS']])
    expect(Object.keys(h.deployed[0]!)).toEqual(['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS'])
    for (const kind of ['d1 database', 'r2 bucket', 'queue', 'r2 notification'])
      for (const s of by(steps, kind)) expect(s.status, `${kind} ${s.resource}`).toBe('created')
    const secrets = by(steps, 'secret')
    expect(secrets.filter((s) => s.status === 'created').map((s) => s.resource)).toEqual([
      'ADMIN_TOKEN',
      'SIGNING_KEYS',
      'PII_KEYS',
    ])
    expect(secrets.filter((s) => s.status === 'not set').map((s) => s.resource)).toContain('S3_BUCKET')
    // Secret values never reach the log.
    expect(h.lines.join('\n')).not.toContain('value-of-')
  })
})

describe('deploy when everything is there', () => {
  it('creates nothing and deploys without new secrets; a second deploy after a fresh one creates nothing', async () => {
    const account = emptyAccount()
    const first = harness(account)
    await first.go()
    // The config now carries the ids the first run wrote.
    const second = harness(account, { config: withIds(account) })
    const steps = await second.go()
    expect(
      second.calls.filter((c) => MUTATING.test(c) && c !== 'deploy' && !c.startsWith('d1 migrations')),
    ).toEqual([])
    expect(second.writes).toEqual([])
    expect(second.generated).toEqual([])
    expect(second.deployed).toEqual([{}])
    for (const kind of ['d1 database', 'r2 bucket', 'queue', 'r2 notification'])
      for (const s of by(steps, kind)) expect(s.status, `${kind} ${s.resource}`).toBe('present')
    expect(
      by(steps, 'secret')
        .filter((s) => s.status === 'present')
        .map((s) => s.resource),
    ).toEqual(['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS'])
    expect(account.d1).toHaveLength(2)
    expect(account.queues).toHaveLength(3)
    expect(account.notifications).toHaveLength(1)
  })

  it('finds existing databases by name when the config still has the placeholder ids', async () => {
    const account: Account = {
      d1: [
        { name: 'audit-log', uuid: '99999999-9999-9999-9999-999999999999' },
        { name: SHARD_1.name, uuid: '99999999-9999-9999-9999-999999999991' },
      ],
      buckets: ['audit-log-archive'],
      queues: ['audit-events', 'audit-events-dlq', 'audit-archive-notifications'],
      notifications: [{ bucket: 'audit-log-archive', queue: 'audit-archive-notifications' }],
      secrets: ['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS'],
      worker: true,
    }
    const h = harness(account)
    await h.go()
    expect(h.calls.filter((c) => c.startsWith('d1 create'))).toEqual([])
    expect(h.writes).toEqual([
      ['audit-log', '99999999-9999-9999-9999-999999999999'],
      [SHARD_1.name, '99999999-9999-9999-9999-999999999991'],
    ])
  })

  it('stops when the config names another database id than the account has', async () => {
    const account = emptyAccount()
    account.d1.push({ name: 'audit-log', uuid: '99999999-9999-9999-9999-999999999999' })
    const config = {
      ...projectConfig(),
      d1: [{ binding: 'DB', name: 'audit-log', id: '12345678-1234-1234-1234-123456789012' }],
    }
    const h = harness(account, { config })
    await expect(h.go()).rejects.toThrow(/database_id for audit-log is 12345678/)
    expect(h.calls.filter((c) => MUTATING.test(c))).toEqual([])
  })
})

describe('deploy --dry-run', () => {
  it('with credentials: looks everything up, plans what a fresh account lacks, changes nothing', async () => {
    const account = emptyAccount()
    const before = JSON.stringify(account)
    const h = harness(account, { dryRun: true })
    const steps = await h.go()
    expect(h.calls.filter((c) => MUTATING.test(c))).toEqual([])
    expect(JSON.stringify(account)).toBe(before)
    expect(h.writes).toEqual([])
    expect(h.generated).toEqual([])
    expect(h.deployed).toEqual([])
    expect(h.bundles()).toBe(1)
    for (const kind of ['d1 database', 'r2 bucket', 'queue', 'r2 notification'])
      for (const s of by(steps, kind)) expect(s.status, `${kind} ${s.resource}`).toBe('would create')
    expect(steps.at(-1)).toMatchObject({ kind: 'worker', status: 'would run' })
    expect(steps.at(-1)?.detail).toContain('gzip 200.00 KiB')
  })

  it('without credentials: plans from the config alone and never calls wrangler', async () => {
    const h = harness(emptyAccount(), { dryRun: true, canLookUp: false })
    const steps = await h.go()
    expect(h.calls).toEqual([])
    expect(h.bundles()).toBe(1)
    for (const kind of ['d1 database', 'r2 bucket', 'queue', 'r2 notification', 'secret'])
      for (const s of by(steps, kind)) expect(s.status, `${kind} ${s.resource}`).toBe('would check')
    expect(steps.map((s) => s.resource)).toEqual(
      expect.arrayContaining([
        'audit-log-archive',
        'audit-events',
        'audit-events-dlq',
        'audit-archive-notifications',
      ]),
    )
  })

  it('on an account that has everything: all present, nothing planned but the deployment', async () => {
    const account: Account = {
      d1: [
        { name: 'audit-log', uuid: '99999999-9999-9999-9999-999999999999' },
        { name: SHARD_1.name, uuid: '99999999-9999-9999-9999-999999999991' },
      ],
      buckets: ['audit-log-archive'],
      queues: ['audit-events', 'audit-events-dlq', 'audit-archive-notifications'],
      notifications: [{ bucket: 'audit-log-archive', queue: 'audit-archive-notifications' }],
      secrets: ['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS'],
      worker: true,
    }
    const h = harness(account, { dryRun: true, config: withIds(account) })
    const steps = await h.go()
    expect(h.calls.filter((c) => MUTATING.test(c))).toEqual([])
    expect(steps.filter((s) => s.status === 'would create')).toEqual([])
  })
})

describe('npm run deploy flags', () => {
  const deploy = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/deploy.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      timeout: 60_000,
    })

  it('an unknown flag exits 2 and does nothing; --help prints the usage and does nothing', () => {
    const bad = deploy('--dry-runn')
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('unknown argument --dry-runn')
    const help = deploy('--help', '--dry-run')
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('usage: npm run deploy')
    expect(help.stdout).not.toContain('Plan')
  }, 60_000)
})
